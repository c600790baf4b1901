//! Surface exchange: Monin-Obukhov exchange coefficients with Zilitinkevich or
//! Yang et al. (2008) thermal roughness, Noah's Penman potential evaporation,
//! and the skin-temperature energy balance terms.
//!
//! SI throughout: temperatures K, pressures Pa, humidities kg kg-1, fluxes W m-2.

use serde::{Deserialize, Serialize};

/// Von Karman constant (-).
pub const VON_KARMAN: f64 = 0.4;
/// Stefan-Boltzmann constant (W m-2 K-4).
pub const SIGMA_SB: f64 = 5.67e-8;
/// Specific heat of dry air at constant pressure (J kg-1 K-1), Noah CP.
pub const CP_AIR: f64 = 1004.6;
/// Gas constant of dry air (J kg-1 K-1), Noah RD.
pub const R_DRY: f64 = 287.04;
/// Latent heat of vaporisation (J kg-1), Noah LSUBC.
pub const L_VAPOR: f64 = 2.501e6;
/// Latent heat of sublimation (J kg-1), Noah LSUBS.
pub const L_SUBLIM: f64 = 2.83e6;
/// Kinematic viscosity of air (m2 s-1), the value behind Noah's SQVISC = 258.2.
pub const NU_AIR: f64 = 1.5e-5;
/// Gravitational acceleration (m s-2).
pub const GRAV: f64 = 9.81;

/// How the roughness length for heat is obtained from that for momentum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", deny_unknown_fields)]
pub enum ThermalRoughness {
    /// Zilitinkevich (1995) as in Noah SFCDIF: z0h = z0m exp(-k czil
    /// sqrt(u* z0m / nu)); `czil` from GENPARM (Noah-Tibet: 0.1).
    #[serde(rename = "czil")]
    Zilitinkevich { czil: f64 },
    /// Yang et al. (2008, J. Appl. Meteor. Climatol. 47, 276) for sparse
    /// vegetation and bare soil on the Tibetan Plateau: z0h = 70 nu / u*
    /// exp(-beta u*^0.5 |T*|^0.25) with beta = 7.2 m^-1/2 s^1/2 K^-1/4.
    #[serde(rename = "yang08")]
    Yang08 { beta: f64 },
}

impl ThermalRoughness {
    /// Parse an option name; `czil` is the GENPARM coefficient used by the Zilitinkevich scheme.
    pub fn from_name(name: &str, czil: f64) -> Option<Self> {
        match name {
            "czil" => Some(Self::Zilitinkevich { czil }),
            "yang08" => Some(Self::Yang08 { beta: 7.2 }),
            _ => None,
        }
    }
}

/// Saturation vapour pressure over water (Pa) at `t` (K), Bolton (1980).
pub fn saturation_vapor_pressure(t: f64) -> f64 {
    611.2 * (17.67 * (t - 273.15) / (t - 29.65)).exp()
}

/// Saturation specific humidity (kg kg-1) at temperature `t` (K) and pressure `p` (Pa),
/// and its temperature derivative (kg kg-1 K-1).
pub fn saturation_specific_humidity(t: f64, p: f64) -> (f64, f64) {
    let e = saturation_vapor_pressure(t);
    let q = 0.622 * e / (p - 0.378 * e);
    let dedt = e * 17.67 * (273.15 - 29.65) / ((t - 29.65) * (t - 29.65));
    let dqde = 0.622 * p / ((p - 0.378 * e) * (p - 0.378 * e));
    (q, dqde * dedt)
}

/// Integrated stability function for momentum at zeta = z / L: Paulson (1970)
/// when unstable, Webb (1970) / Businger-Dyer -5 zeta when stable (zeta capped at 1).
pub fn psi_m(zeta: f64) -> f64 {
    if zeta < 0.0 {
        let x = (1.0 - 16.0 * zeta).sqrt().sqrt();
        2.0 * ((1.0 + x) / 2.0).ln() + ((1.0 + x * x) / 2.0).ln() - 2.0 * x.atan()
            + std::f64::consts::FRAC_PI_2
    } else {
        -5.0 * zeta.min(1.0)
    }
}

/// Integrated stability function for heat at zeta = z / L (Paulson 1970; -5 zeta when stable).
pub fn psi_h(zeta: f64) -> f64 {
    if zeta < 0.0 {
        let x2 = (1.0 - 16.0 * zeta).sqrt();
        2.0 * ((1.0 + x2) / 2.0).ln()
    } else {
        -5.0 * zeta.min(1.0)
    }
}

/// Surface-layer exchange between the skin and the reference heights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exchange {
    /// Exchange coefficient for momentum (-).
    pub cm: f64,
    /// Exchange coefficient for heat and moisture (-).
    pub ch: f64,
    /// Exchange conductance for heat, ch * wind (m s-1); Noah's CH.
    pub ch_wind: f64,
    /// Friction velocity (m s-1).
    pub ustar: f64,
    /// Roughness length for heat (m).
    pub z0h: f64,
    /// Obukhov length (m); infinite when neutral.
    pub obukhov: f64,
}

/// Monin-Obukhov exchange coefficients for wind at `z_wind` (m) and
/// temperature at `z_temp` (m) above a surface of momentum roughness `z0m`
/// (m), air potential temperature `theta_air` (K) and skin temperature
/// `t_skin` (K): the iterative solution of Chen et al. (1997, Bound.-Layer
/// Meteor. 85, 391) used by Noah's SFCDIF, with the chosen thermal roughness.
/// Wind is floored at 0.5 m s-1; the iteration runs at most 10 times and stops
/// once 1/L and z0h change by less than one part in 1e9.
pub fn exchange_coefficients(
    z_wind: f64,
    z_temp: f64,
    wind: f64,
    theta_air: f64,
    t_skin: f64,
    z0m: f64,
    rough: ThermalRoughness,
) -> Exchange {
    let u = wind.max(0.5);
    let k = VON_KARMAN;
    let dth = theta_air - t_skin;
    let mut inv_l = 0.0f64;
    let ln_zm = (z_wind / z0m).ln();
    let mut ustar = k * u / ln_zm;
    let mut z0h = z0m;
    let mut cm = 0.0;
    let mut ch = 0.0;
    // ln(z_temp / z0h) of the current z0h, carried from one pass to the next.
    let mut ln_zh = (z_temp / z0h).ln();
    for _ in 0..10 {
        let (inv_l_in, z0h_in) = (inv_l, z0h);
        let fm = ln_zm - psi_m(z_wind * inv_l) + psi_m(z0m * inv_l);
        ustar = (k * u / fm.max(0.1)).max(1e-3);
        // Thermal roughness needs T*, which needs z0h: use the previous T*.
        let psi_h_zt = psi_h(z_temp * inv_l);
        let fh0 = ln_zh - psi_h_zt + psi_h(z0h * inv_l);
        let tstar = k * dth / fh0.max(0.1);
        z0h = match rough {
            ThermalRoughness::Zilitinkevich { czil } => {
                z0m * (-k * czil * (ustar * z0m / NU_AIR).sqrt()).exp()
            }
            ThermalRoughness::Yang08 { beta } => {
                70.0 * NU_AIR / ustar * (-beta * ustar.sqrt() * tstar.abs().sqrt().sqrt()).exp()
            }
        }
        .clamp(1e-10, z0m);
        ln_zh = (z_temp / z0h).ln();
        let fh = ln_zh - psi_h_zt + psi_h(z0h * inv_l);
        let fh = fh.max(0.1);
        let fm = fm.max(0.1);
        cm = k * k / (fm * fm);
        ch = k * k / (fm * fh);
        let tstar = k * dth / fh;
        // 1/L = k g T* / (theta u*^2), zeta capped to [-5, 1] at the wind height.
        inv_l = (k * GRAV * tstar / (theta_air * ustar * ustar)).clamp(-5.0 / z_wind, 1.0 / z_wind);
        // Converged: a further pass changes 1/L and z0h by less than one part
        // in 1e9 (the coefficients then change by less than that too).
        let settled = |new: f64, old: f64| (new - old).abs() <= 1e-9 * new.abs().max(1e-12);
        if settled(inv_l, inv_l_in) && settled(z0h, z0h_in) {
            break;
        }
    }
    Exchange {
        cm,
        ch,
        ch_wind: ch * u,
        ustar,
        z0h,
        obukhov: if inv_l == 0.0 {
            f64::INFINITY
        } else {
            1.0 / inv_l
        },
    }
}

/// Inputs of Noah's Penman potential evaporation and skin energy balance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SurfaceForcing {
    /// Air temperature at the reference height (K).
    pub t_air: f64,
    /// Air potential temperature relative to the surface, T + 0.0098 z (K), Noah TH2.
    pub theta_air: f64,
    /// Specific humidity (kg kg-1).
    pub q_air: f64,
    /// Surface pressure (Pa).
    pub p_air: f64,
    /// Downward shortwave (W m-2).
    pub sw_down: f64,
    /// Downward longwave (W m-2).
    pub lw_down: f64,
    /// Surface albedo (-).
    pub albedo: f64,
    /// Surface emissivity (-).
    pub emissivity: f64,
    /// Exchange conductance ch * wind (m s-1).
    pub ch_wind: f64,
}

impl SurfaceForcing {
    /// Moist air density (kg m-3) from the ideal gas law with virtual temperature.
    pub fn air_density(&self) -> f64 {
        let tv = self.t_air * (1.0 + 0.61 * self.q_air);
        self.p_air / (R_DRY * tv)
    }
}

/// Noah's PENMAN potential evaporation (kg m-2 s-1) for a surface with ground
/// heat flux `g` (W m-2, positive into the ground): the Penman (1948)
/// combination equation linearised about the air temperature, as in Noah
/// 3.4.1 (Chen et al. 1996, JGR 101, 7251; Mahrt and Ek 1984). `latent`
/// is the latent heat used (vaporisation, or sublimation over snow).
pub fn potential_evaporation_penman(f: &SurfaceForcing, g: f64, latent: f64) -> f64 {
    let rho = f.air_density();
    let rch = rho * CP_AIR * f.ch_wind;
    let (qsat, dqsdt) = saturation_specific_humidity(f.t_air, f.p_air);
    let elcp = latent / CP_AIR;
    let delta = elcp * dqsdt;
    let t4 = f.t_air.powi(4);
    // RR = 1 + 4 eps sigma T^3 / (rho cp CH): radiative damping of the skin.
    let rr = 1.0 + 4.0 * f.emissivity * SIGMA_SB * t4 / (f.t_air * rch.max(1e-6));
    let fnet = (1.0 - f.albedo) * f.sw_down + f.emissivity * (f.lw_down - SIGMA_SB * t4) - g;
    let rad = fnet / rch.max(1e-6) + f.theta_air - f.t_air;
    let a = elcp * (qsat - f.q_air);
    let epsca = (a * rr + rad * delta) / (delta + rr);
    epsca * rch / latent
}

/// Energy available to the ground (W m-2) at skin temperature `ts` (K) when
/// the latent heat flux is `le` (W m-2): net shortwave + emissivity (LW down -
/// sigma ts^4) - sensible heat rho cp CH (ts - theta_air) - le, with its
/// derivative with respect to `ts` (W m-2 K-1). Returns (available, derivative, sensible).
pub fn skin_balance(f: &SurfaceForcing, ts: f64, le: f64) -> (f64, f64, f64) {
    let rho = f.air_density();
    let rch = rho * CP_AIR * f.ch_wind;
    let sh = rch * (ts - f.theta_air);
    let rn = (1.0 - f.albedo) * f.sw_down + f.emissivity * (f.lw_down - SIGMA_SB * ts.powi(4));
    let d = -4.0 * f.emissivity * SIGMA_SB * ts.powi(3) - rch;
    (rn - sh - le, d, sh)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Neutral conditions: C_H = k^2 / (ln(z/z0m) ln(z/z0h)) with the chosen z0h.
    #[test]
    fn neutral_exchange_matches_log_law() {
        let e = exchange_coefficients(
            10.0,
            10.0,
            5.0,
            280.0,
            280.0,
            0.05,
            ThermalRoughness::Zilitinkevich { czil: 0.1 },
        );
        let ustar = 0.4 * 5.0 / (10.0f64 / 0.05).ln();
        assert!((e.ustar - ustar).abs() < 1e-12);
        let z0h = 0.05 * (-0.4 * 0.1 * (ustar * 0.05 / 1.5e-5).sqrt()).exp();
        assert!((e.z0h - z0h).abs() < 1e-12 * z0h.max(1.0));
        let ch = 0.16 / ((10.0f64 / 0.05).ln() * (10.0 / z0h).ln());
        assert!((e.ch - ch).abs() < 1e-12);
    }

    /// Unstable (warm skin) exchange exceeds neutral; stable is smaller.
    #[test]
    fn stability_orders_exchange() {
        let r = ThermalRoughness::Zilitinkevich { czil: 0.1 };
        let n = exchange_coefficients(10.0, 2.0, 3.0, 280.0, 280.0, 0.02, r);
        let u = exchange_coefficients(10.0, 2.0, 3.0, 280.0, 290.0, 0.02, r);
        let s = exchange_coefficients(10.0, 2.0, 3.0, 280.0, 272.0, 0.02, r);
        assert!(u.ch > n.ch && n.ch > s.ch, "{} {} {}", u.ch, n.ch, s.ch);
        assert!(u.obukhov < 0.0 && s.obukhov > 0.0);
    }

    /// Yang et al. (2008): z0h follows its closed form at the converged u*, T*.
    #[test]
    fn yang08_thermal_roughness_closed_form() {
        let e = exchange_coefficients(
            10.0,
            2.0,
            4.0,
            275.0,
            290.0,
            0.01,
            ThermalRoughness::Yang08 { beta: 7.2 },
        );
        assert!(e.z0h < 0.01 && e.z0h > 1e-8);
        // Much smaller than z0m (kB^-1 well above 2) under strong daytime heating.
        assert!((0.01 / e.z0h).ln() > 2.0);
    }

    /// Penman: saturated air with no net radiation gives zero potential evaporation.
    #[test]
    fn penman_vanishes_without_drivers() {
        let t = 283.15;
        let p = 80000.0;
        let (qs, _) = saturation_specific_humidity(t, p);
        let f = SurfaceForcing {
            t_air: t,
            theta_air: t,
            q_air: qs,
            p_air: p,
            sw_down: 0.0,
            lw_down: SIGMA_SB * t.powi(4),
            albedo: 0.2,
            emissivity: 1.0,
            ch_wind: 0.01,
        };
        assert!(potential_evaporation_penman(&f, 0.0, L_VAPOR).abs() < 1e-12);
        // Dry air evaporates.
        let dry = SurfaceForcing {
            q_air: 0.5 * qs,
            ..f
        };
        assert!(potential_evaporation_penman(&dry, 0.0, L_VAPOR) > 1e-6);
    }

    /// Saturation humidity derivative agrees with a finite difference.
    #[test]
    fn qsat_derivative() {
        let (q1, d) = saturation_specific_humidity(270.0, 60000.0);
        let (q2, _) = saturation_specific_humidity(270.001, 60000.0);
        assert!(((q2 - q1) / 0.001 - d).abs() < 1e-3 * d);
        // 0 C over water: 611.2 Pa (Bolton 1980).
        assert!((saturation_vapor_pressure(273.15) - 611.2).abs() < 1e-9);
    }
}
