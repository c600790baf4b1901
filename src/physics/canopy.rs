//! Noah's simple canopy: Jarvis-type canopy resistance and plant coefficient,
//! root distribution, root-zone transpiration, canopy interception and
//! evaporation of intercepted water.
//!
//! Follows the Noah LSM 3.4.1 routines CANRES, REDPRM (root distribution),
//! TRANSP, EVAPO and the canopy part of SMFLX/SSTEP (Chen et al. 1996,
//! J. Geophys. Res. 101(D3) 7251-7268, eqs. 12-14 and Table 2; Jacquemin &
//! Noilhan 1990, Boundary-Layer Meteorol. 52 93-134; Noilhan & Planton 1989,
//! Mon. Weather Rev. 117 536-549; Ek et al. 2003, J. Geophys. Res. 108(D22)
//! 8851). Water fluxes are kg m-2 s-1, canopy water kg m-2, contents m3 m-3.

use super::hydrology::SoilHydraulics;
use crate::error::{Error, Result};

/// Stefan-Boltzmann constant, W m-2 K-4 (Noah: 5.67e-8).
pub const SIGMA: f64 = 5.67e-8;
/// Gas constant of dry air, J kg-1 K-1 (Noah: 287.04).
pub const R_DRY: f64 = 287.04;
/// Specific heat of air at constant pressure used by Noah CANRES, J kg-1 K-1
/// (WRF module_model_constants: 7/2 * 287).
pub const CP_AIR: f64 = 1004.5;
/// Latent heat of vaporisation, J kg-1 (Noah: 2.501e6).
pub const LV: f64 = 2.501e6;

/// Vegetation parameters of the canopy resistance (one VEGPARM.TBL row plus
/// the global TOPT and RSMAX).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanopyParams {
    /// Minimum stomatal resistance RS (RSMIN), s m-1.
    pub rsmin: f64,
    /// Maximum stomatal resistance RSMAX (5000), s m-1.
    pub rsmax: f64,
    /// Radiation stress parameter RGL, W m-2.
    pub rgl: f64,
    /// Vapour-pressure-deficit parameter HS, dimensionless (per kg kg-1).
    pub hs: f64,
    /// Optimum transpiration air temperature TOPT, K (298).
    pub topt: f64,
    /// Leaf area index, m2 m-2.
    pub lai: f64,
}

/// Atmospheric and surface conditions for [`canopy_resistance`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanopyWeather {
    /// Downward shortwave radiation (SOLDN), W m-2.
    pub solar: f64,
    /// Surface exchange coefficient for heat and moisture times wind speed
    /// (CH), m s-1.
    pub ch: f64,
    /// Air temperature at the forcing level (SFCTMP), K.
    pub t_air: f64,
    /// Specific humidity (mixing ratio) at the forcing level (Q2), kg kg-1.
    pub q2: f64,
    /// Saturation specific humidity at t_air (Q2SAT), kg kg-1.
    pub q2sat: f64,
    /// Slope of the saturation humidity curve at t_air (DQSDT2), kg kg-1 K-1.
    pub dqsdt2: f64,
    /// Surface pressure (SFCPRS), Pa.
    pub pressure: f64,
    /// Surface emissivity, dimensionless.
    pub emissivity: f64,
}

/// Canopy resistance and its stress factors (Noah CANRES outputs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanopyResistance {
    /// Canopy resistance RC, s m-1.
    pub rc: f64,
    /// Plant coefficient PC (actual transpiration = PC * potential), 0-1.
    pub pc: f64,
    /// Solar radiation factor RCS, 0-1.
    pub rcs: f64,
    /// Air temperature factor RCT, 0-1.
    pub rct: f64,
    /// Vapour pressure deficit factor RCQ, 0-1.
    pub rcq: f64,
    /// Soil moisture factor RCSOIL, 0-1.
    pub rcsoil: f64,
}

/// Noah LSM 3.4.1 CANRES: canopy resistance (Jarvis 1976 form, Chen et al.
/// 1996 eqs. 12-14)
/// RC = RSMIN / (LAI * RCS * RCT * RCQ * RCSOIL) with
/// RCS = (f + RSMIN/RSMAX)/(1 + f), f = 0.55 * 2 * solar / (RGL * LAI);
/// RCT = 1 - 0.0016 (TOPT - T)^2; RCQ = 1 / (1 + HS (q_sat - q));
/// RCSOIL = sum over the root layers of (dz_k / root depth) * g_k,
/// g_k = clamp((theta_k - wilting_k)/(reference_k - wilting_k), 0, 1);
/// factors floored at 1e-4 (RCQ at 0.01). The plant coefficient is
/// PC = (RR + DELTA)/(RR (1 + RC CH) + DELTA) with
/// RR = 4 eps SIGMA R_d T^4 / (p CH cp) + 1 and DELTA = (LV/cp) dq_s/dT.
///
/// `dz` are the thicknesses (m) and `liquid` the liquid contents (m3 m-3) of
/// the root layers (the first NROOT layers; Noah passes SH2O), `wilting` and
/// `reference` their WLTSMC and REFSMC (m3 m-3).
pub fn canopy_resistance(
    p: &CanopyParams,
    w: &CanopyWeather,
    dz: &[f64],
    liquid: &[f64],
    wilting: &[f64],
    reference: &[f64],
) -> Result<CanopyResistance> {
    let n = dz.len();
    if n == 0 || liquid.len() != n || wilting.len() != n || reference.len() != n {
        return Err(Error::Parameter {
            name: "canopy_resistance.root_layers".into(),
            message: format!(
                "need equal, non-zero layer counts (dz {n}, liquid {}, wilting {}, reference {})",
                liquid.len(),
                wilting.len(),
                reference.len()
            ),
        });
    }
    if !(p.lai > 0.0 && p.rgl > 0.0 && p.rsmax > 0.0 && w.ch > 0.0 && w.pressure > 0.0) {
        return Err(Error::Parameter {
            name: "canopy_resistance".into(),
            message: format!(
                "lai ({}), rgl ({}), rsmax ({}), ch ({}) and pressure ({}) must be positive",
                p.lai, p.rgl, p.rsmax, w.ch, w.pressure
            ),
        });
    }
    let ff = 0.55 * 2.0 * w.solar / (p.rgl * p.lai);
    let rcs = ((ff + p.rsmin / p.rsmax) / (1.0 + ff)).max(0.0001);
    let rct = (1.0 - 0.0016 * (p.topt - w.t_air).powi(2)).max(0.0001);
    let rcq = (1.0 / (1.0 + p.hs * (w.q2sat - w.q2))).max(0.01);
    let root_depth: f64 = dz.iter().sum();
    let mut rcsoil = 0.0;
    for k in 0..n {
        let gx = ((liquid[k] - wilting[k]) / (reference[k] - wilting[k])).clamp(0.0, 1.0);
        rcsoil += dz[k] / root_depth * gx;
    }
    let rcsoil = rcsoil.max(0.0001);
    let rc = p.rsmin / (p.lai * rcs * rct * rcq * rcsoil);
    let rr =
        (4.0 * w.emissivity * SIGMA * R_DRY / CP_AIR) * w.t_air.powi(4) / (w.pressure * w.ch) + 1.0;
    let delta = (LV / CP_AIR) * w.dqsdt2;
    let pc = (rr + delta) / (rr * (1.0 + rc * w.ch) + delta);
    Ok(CanopyResistance {
        rc,
        pc,
        rcs,
        rct,
        rcq,
        rcsoil,
    })
}

/// Noah REDPRM root distribution: the fraction of roots in each of the first
/// `nroot` layers, proportional to layer thickness (RTDIS = dz_k / root depth),
/// dimensionless, summing to 1. `nroot` is the VEGPARM NROOT (values below 1
/// are raised to 1, as in Noah-Tibet).
pub fn root_distribution(dz: &[f64], nroot: usize) -> Result<Vec<f64>> {
    let nroot = nroot.max(1);
    if nroot > dz.len() {
        return Err(Error::Parameter {
            name: "nroot".into(),
            message: format!("{nroot} root layers but only {} soil layers", dz.len()),
        });
    }
    let depth: f64 = dz[..nroot].iter().sum();
    Ok(dz[..nroot].iter().map(|d| d / depth).collect())
}

/// Inputs of [`transpiration`] other than the soil profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TranspirationInput {
    /// Potential evaporation ETP, kg m-2 s-1 (> 0 upward).
    pub potential: f64,
    /// Green vegetation fraction SHDFAC, 0-1.
    pub green_fraction: f64,
    /// Plant coefficient PC from [`canopy_resistance`], 0-1.
    pub plant_coefficient: f64,
    /// Canopy intercepted water CMC, kg m-2.
    pub canopy_water: f64,
    /// Canopy water capacity CMCMAX, kg m-2 (Noah 0.5e-3 m = 0.5 kg m-2).
    pub canopy_capacity: f64,
    /// Canopy water exponent CFACTR (0.5), dimensionless.
    pub cfactr: f64,
}

/// Noah LSM 3.4.1 TRANSP: transpiration drawn from each root layer,
/// kg m-2 s-1, written to `out` (length = soil layers; zero below the roots).
///
/// E_t = SHDFAC * PC * ETP * (1 - (CMC/CMCMAX)^CFACTR) is split over the root
/// layers with weights g_k * max(RTDIS_k + g_k - mean(g), 0),
/// g_k = clamp((theta_k - wilting_k)/(reference_k - wilting_k), 0, 1).
/// `liquid`, `wilting` (WLTSMC) and `reference` (REFSMC) cover all soil layers
/// (m3 m-3); `root_fraction` (from [`root_distribution`]) covers the root
/// layers. No transpiration when the potential is not positive.
pub fn transpiration_into(
    t: &TranspirationInput,
    liquid: &[f64],
    wilting: &[f64],
    reference: &[f64],
    root_fraction: &[f64],
    out: &mut [f64],
) -> Result<()> {
    if wilting.len() != out.len() || reference.len() != out.len() {
        return Err(Error::Parameter {
            name: "transpiration.layers".into(),
            message: format!(
                "out {}, wilting {}, reference {}",
                out.len(),
                wilting.len(),
                reference.len()
            ),
        });
    }
    transpiration_impl(
        t,
        liquid,
        |k| (wilting[k], reference[k]),
        root_fraction,
        out,
    )
}

/// [`transpiration_into`] taking WLTSMC and REFSMC from each layer's
/// hydraulic parameters.
pub fn transpiration_soil_into(
    t: &TranspirationInput,
    liquid: &[f64],
    soil: &[SoilHydraulics],
    root_fraction: &[f64],
    out: &mut [f64],
) -> Result<()> {
    if soil.len() != out.len() {
        return Err(Error::Parameter {
            name: "transpiration.layers".into(),
            message: format!("out {}, soil {}", out.len(), soil.len()),
        });
    }
    transpiration_impl(
        t,
        liquid,
        |k| (soil[k].wilting, soil[k].reference),
        root_fraction,
        out,
    )
}

fn transpiration_impl(
    t: &TranspirationInput,
    liquid: &[f64],
    limits: impl Fn(usize) -> (f64, f64),
    root_fraction: &[f64],
    out: &mut [f64],
) -> Result<()> {
    let n = out.len();
    let nroot = root_fraction.len();
    if liquid.len() != n || nroot == 0 || nroot > n {
        return Err(Error::Parameter {
            name: "transpiration.layers".into(),
            message: format!("out {n}, liquid {}, root layers {nroot}", liquid.len()),
        });
    }
    out.iter_mut().for_each(|v| *v = 0.0);
    if t.potential <= 0.0 || t.green_fraction <= 0.0 {
        return Ok(());
    }
    let etp1a = if t.canopy_water != 0.0 && t.canopy_capacity > 0.0 {
        t.green_fraction
            * t.plant_coefficient
            * t.potential
            * (1.0 - (t.canopy_water / t.canopy_capacity).powf(t.cfactr))
    } else {
        t.green_fraction * t.plant_coefficient * t.potential
    };
    let gx = |k: usize| {
        let (wl, rf) = limits(k);
        ((liquid[k] - wl) / (rf - wl)).clamp(0.0, 1.0)
    };
    let sgx: f64 = (0..nroot).map(gx).sum::<f64>() / nroot as f64;
    let mut denom = 0.0;
    for k in 0..nroot {
        let g = gx(k);
        let weight = g * (root_fraction[k] + g - sgx).max(0.0);
        out[k] = weight;
        denom += weight;
    }
    if denom <= 0.0 {
        denom = 1.0;
    }
    for v in out[..nroot].iter_mut() {
        *v = etp1a * *v / denom;
    }
    Ok(())
}

/// Allocating form of [`transpiration_into`].
pub fn transpiration(
    t: &TranspirationInput,
    liquid: &[f64],
    wilting: &[f64],
    reference: &[f64],
    root_fraction: &[f64],
) -> Result<Vec<f64>> {
    let mut out = vec![0.0; liquid.len()];
    transpiration_into(t, liquid, wilting, reference, root_fraction, &mut out)?;
    Ok(out)
}

/// Noah LSM 3.4.1 EVAPO: evaporation of intercepted canopy water,
/// kg m-2 s-1: E_c = SHDFAC * (CMC/CMCMAX)^CFACTR * ETP, limited to CMC/dt.
/// `potential` ETP (kg m-2 s-1), `canopy_water` CMC and `capacity` CMCMAX
/// (kg m-2), `dt` (s). Zero when the potential is not positive.
pub fn canopy_evaporation(
    potential: f64,
    green_fraction: f64,
    canopy_water: f64,
    capacity: f64,
    cfactr: f64,
    dt: f64,
) -> f64 {
    if potential <= 0.0 || canopy_water <= 0.0 || capacity <= 0.0 || green_fraction <= 0.0 {
        return 0.0;
    }
    let ec = green_fraction * (canopy_water / capacity).powf(cfactr) * potential;
    ec.min(canopy_water / dt)
}

/// Result of [`canopy_interception`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanopyWaterStep {
    /// Canopy water at the end of the step, kg m-2.
    pub canopy_water: f64,
    /// Water reaching the ground: precipitation falling between the plants
    /// plus drip, kg m-2 s-1 (Noah PCPDRP).
    pub throughfall: f64,
    /// Drip from a full canopy, kg m-2 s-1.
    pub drip: f64,
}

/// Noah LSM 3.4.1 canopy water balance (SMFLX and SSTEP): the canopy gains
/// SHDFAC * P - E_c; water above the capacity CMCMAX drips to the ground; the
/// ground receives (1 - SHDFAC) * P + drip. `precip` liquid water reaching
/// the canopy (kg m-2 s-1, including dew), `canopy_evap` E_c (kg m-2 s-1),
/// `canopy_water` and `capacity` (kg m-2), `dt` (s).
///
/// Water is conserved: canopy_water_new - canopy_water =
/// (precip - canopy_evap - throughfall) * dt.
pub fn canopy_interception(
    canopy_water: f64,
    precip: f64,
    canopy_evap: f64,
    green_fraction: f64,
    capacity: f64,
    dt: f64,
) -> CanopyWaterStep {
    let rhsct = green_fraction * precip - canopy_evap;
    let excess = canopy_water + dt * rhsct;
    let drip_amount = (excess - capacity).max(0.0);
    // A canopy emptied by evaporation ends at zero; the small negative
    // round-off is returned to the ground flux so water is conserved.
    let new = (excess - drip_amount).max(0.0);
    let leftover = (excess - drip_amount).min(0.0);
    let drip = (drip_amount + leftover) / dt;
    CanopyWaterStep {
        canopy_water: new,
        throughfall: (1.0 - green_fraction) * precip + drip,
        drip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOILPARM.TBL (STAS) class 7, LOAM (WLTSMC 0.066, REFSMC 0.329).
    fn loam() -> SoilHydraulics {
        SoilHydraulics {
            porosity: 0.439,
            b: 5.25,
            psi_sat: 0.355,
            k_sat: 3.38e-6,
            dw_sat: 0.143e-4,
            wilting: 0.066,
            reference: 0.329,
            dry: 0.066,
        }
    }

    /// VEGPARM.TBL (USGS) class 9, Mixed Shrubland/Grassland, with the global
    /// RSMAX = 5000 and TOPT = 298, LAI = 2.0.
    fn shrub_grass() -> CanopyParams {
        CanopyParams {
            rsmin: 170.0,
            rsmax: 5000.0,
            rgl: 100.0,
            hs: 39.18,
            topt: 298.0,
            lai: 2.0,
        }
    }

    #[test]
    fn canres_hand_computed_usgs9_loam() {
        let w = CanopyWeather {
            solar: 400.0,
            ch: 0.01,
            t_air: 288.15,
            q2: 0.006,
            q2sat: 0.0107,
            dqsdt2: 0.00069,
            pressure: 55000.0,
            emissivity: 0.95,
        };
        // Two root layers of loam (WLTSMC 0.066, REFSMC 0.329).
        let dz = [0.045, 0.046];
        let liq = [0.2, 0.3];
        let r = canopy_resistance(&shrub_grass(), &w, &dz, &liq, &[0.066; 2], &[0.329; 2]).unwrap();
        // By hand: f = 0.55*2*400/(100*2) = 2.2; RCS = (2.2 + 0.034)/3.2 = 0.698125
        assert!((r.rcs - 0.698125).abs() < 1e-12);
        // RCT = 1 - 0.0016*9.85^2 = 0.844764
        assert!((r.rct - 0.844764).abs() < 1e-12);
        // RCQ = 1/(1 + 39.18*0.0047) = 0.844529...
        assert!((r.rcq - 1.0 / 1.184146).abs() < 1e-12);
        // g1 = 0.134/0.263 = 0.509506, g2 = 0.234/0.263 = 0.889734;
        // RCSOIL = (0.045*g1 + 0.046*g2)/0.091 = 0.701709
        let rcsoil = (0.045 * (0.134 / 0.263) + 0.046 * (0.234 / 0.263)) / 0.091;
        assert!((r.rcsoil - rcsoil).abs() < 1e-12);
        assert!((r.rcsoil - 0.701709).abs() < 1e-6);
        // RC = 170/(2*0.698125*0.844764*0.844529*0.701709) = 243.22 s/m
        assert!((r.rc - 243.22).abs() < 0.01, "rc = {}", r.rc);
        assert!(r.pc > 0.0 && r.pc < 1.0);
        let rr = 4.0 * 0.95 * SIGMA * R_DRY / CP_AIR * 288.15f64.powi(4) / (55000.0 * 0.01) + 1.0;
        let delta = LV / CP_AIR * 0.00069;
        assert!((r.pc - (rr + delta) / (rr * (1.0 + r.rc * 0.01) + delta)).abs() < 1e-14);
    }

    #[test]
    fn roots_and_transpiration_conserve_total() {
        let dz = [0.045, 0.046, 0.075, 0.123];
        let rt = root_distribution(&dz, 3).unwrap();
        assert!((rt.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((rt[0] - 0.045 / 0.166).abs() < 1e-15);
        let t = TranspirationInput {
            potential: 5e-5,
            green_fraction: 0.7,
            plant_coefficient: 0.4,
            canopy_water: 0.1,
            canopy_capacity: 0.5,
            cfactr: 0.5,
        };
        let liq = [0.2, 0.25, 0.1, 0.3];
        let (wl, rf) = ([0.066; 4], [0.329; 4]);
        let et = transpiration(&t, &liq, &wl, &rf, &rt).unwrap();
        // The soil-parameter form gives the same split.
        let mut et2 = [0.0; 4];
        transpiration_soil_into(&t, &liq, &[loam(); 4], &rt, &mut et2).unwrap();
        assert_eq!(et.as_slice(), et2.as_slice());
        let total = 0.7 * 0.4 * 5e-5 * (1.0 - 0.2f64.sqrt());
        assert!((et.iter().sum::<f64>() - total).abs() < 1e-18);
        assert_eq!(et[3], 0.0);
        // Drier layer 3 gives less than the wetter layer 2 per root fraction.
        assert!(et[2] / rt[2] < et[1] / rt[1]);
        // All layers at wilting point: nothing.
        let et = transpiration(&t, &[0.05; 4], &wl, &rf, &rt).unwrap();
        assert!(et.iter().all(|v| *v == 0.0));
        assert!(root_distribution(&dz, 5).is_err());
    }

    #[test]
    fn interception_conserves_water() {
        let dt = 3600.0;
        for &(cmc, p, ec) in &[
            (0.1, 1e-3, 0.0),
            (0.45, 1e-4, 1e-5),
            (0.0, 0.0, 0.0),
            (0.2, 0.0, 0.2 / dt),
        ] {
            let s = canopy_interception(cmc, p, ec, 0.6, 0.5, dt);
            let bal = s.canopy_water - cmc - (p - ec - s.throughfall) * dt;
            assert!(bal.abs() < 1e-15, "balance {bal}");
            assert!(s.canopy_water <= 0.5 + 1e-15 && s.canopy_water >= 0.0);
        }
        let ec = canopy_evaporation(1e-4, 0.6, 0.125, 0.5, 0.5, 3600.0);
        assert!((ec - 0.6 * 0.5 * 1e-4).abs() < 1e-18);
        assert!(canopy_evaporation(1.0, 1.0, 0.1, 0.5, 0.5, 3600.0) <= 0.1 / 3600.0);
    }
}
