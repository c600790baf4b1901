//! Noah 3.4.1's MYJ surface layer (`SFCDIF_MYJ`, selected by
//! `sfcdif_option = 1` in a Noah namelist): exchange conductances for
//! momentum and heat from Monin-Obukhov similarity with
//!
//! * Paulson (1970) integrated stability functions when unstable and the
//!   Holtslag and De Bruin (1988) form `0.7 z + 0.75 z (6 - 0.35 z) exp(-0.35 z)`
//!   (momentum and heat alike) when stable, zeta bounded to [-5, 1];
//! * a Zilitinkevich (1995) thermal roughness `z0h = z0 exp(-c k sqrt(u* z0 / nu))`
//!   whose coefficient grows with stability: `c = CZIL (1 + 10 (Rib / 0.505)^2)`
//!   for a stable bulk Richardson number below 0.505 and `11 CZIL` above
//!   (Chen et al. 1997, Bound.-Layer Meteor. 85, 391; Janjic 1994); with
//!   `iz0tlnd = 1` the coefficient is `10^(-0.4 z0 / 0.07)` instead of CZIL
//!   (Chen and Zhang 2009, GRL 36, L10404);
//! * the Beljaars (1995) free-convection velocity `w*^2 = 1.2^2 |g/theta H dTv C_h|^(2/3)`
//!   (H = 1000 m) added to the wind when unstable;
//! * five fixed-point passes per call, each starting from the conductances
//!   of the previous time step (`akms`, `akhs`), which the column carries.
//!
//! Stability uses the virtual potential temperature difference between the
//! air at the reference height and the skin, with the skin humidity `q1`
//! of the previous step (Noah's `Q1 = Q2 + E / (rho C_h)`).
//!
//! SI throughout: heights m, temperatures K, pressures Pa, humidities kg kg-1,
//! conductances m s-1.

use serde::{Deserialize, Serialize};

use super::surface::{Exchange, GRAV, VON_KARMAN};

/// Which surface-layer scheme gives the exchange coefficients.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum SurfaceLayer {
    /// Monin-Obukhov iteration of Chen et al. (1997) to convergence with the
    /// configured thermal roughness ([`super::surface::exchange_coefficients`]).
    Chen97,
    /// Noah 3.4.1 `SFCDIF_MYJ` ([`exchange_myj`]); `local_czil` is Noah's
    /// `iz0tlnd = 1` (roughness-dependent Zilitinkevich coefficient).
    Myj { local_czil: bool },
    /// Noah-Tibet's bare-soil scheme of Yang et al. (2001, 2002, 2008) with
    /// Hogstrom (1996) profiles ([`super::sfcdif_y08::exchange_y08`]).
    Y08,
}

impl SurfaceLayer {
    /// Parse an option name: `chen97`, `myj`, `myj_local_czil` or `y08`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "chen97" => Some(Self::Chen97),
            "myj" => Some(Self::Myj { local_czil: false }),
            "myj_local_czil" => Some(Self::Myj { local_czil: true }),
            "y08" => Some(Self::Y08),
            _ => None,
        }
    }
}

/// Reference pressure of the potential temperature (Pa).
const P0: f64 = 1.0e5;
/// R_d / c_p of Noah's constants (287.04 / 1004.6).
const RCP: f64 = 287.04 / 1004.6;
/// R_v / R_d - 1 (-).
const P608: f64 = 0.608;
/// Lower bound of the exchange conductances as a multiple of 1 / z (m2 s-1).
const EXCML: f64 = 1.0e-4;
/// Smallest squared wind speed (m2 s-2).
const EPSU2: f64 = 1.0e-6;
/// Smallest friction velocity (m s-1).
const EPSUST: f64 = 1.0e-9;
/// Square root of the inverse kinematic viscosity of air, 1 / sqrt(1.5e-5) (s^1/2 m-1).
const SQVISC: f64 = 258.2;
/// Critical bulk Richardson number of the stable z0h enhancement (-).
const RIC: f64 = 0.505;
/// Smallest thermal roughness (m).
const EPSZT: f64 = 1.0e-28;
/// Beljaars free-convection coefficient (-).
const WWST: f64 = 1.2;
/// Boundary-layer height of the free-convection velocity (m).
const HPBL: f64 = 1000.0;
/// Bounds of the stability parameter zeta (-); Noah's tables end 1e-6 below 1.
const ZETA_MIN: f64 = -5.0;
const ZETA_MAX: f64 = 1.0 - 1.0e-6;
/// Maximum stable enhancement of the Zilitinkevich coefficient (-).
const CZETMAX: f64 = 10.0;
/// Fixed-point passes per call.
const PASSES: usize = 5;

/// Integrated stability function for momentum of the MYJ scheme, in Noah's
/// sign convention (added to the log law): Paulson (1970) for zeta < 0,
/// Holtslag and De Bruin (1988) for zeta >= 0.
pub fn psi_m_myj(zeta: f64) -> f64 {
    if zeta < 0.0 {
        let x = (1.0 - 16.0 * zeta).sqrt().sqrt();
        -2.0 * ((x + 1.0) / 2.0).ln() - ((x * x + 1.0) / 2.0).ln() + 2.0 * x.atan()
            - std::f64::consts::FRAC_PI_2
    } else {
        holtslag_de_bruin(zeta)
    }
}

/// Integrated stability function for heat of the MYJ scheme (see [`psi_m_myj`]).
pub fn psi_h_myj(zeta: f64) -> f64 {
    if zeta < 0.0 {
        let x2 = (1.0 - 16.0 * zeta).sqrt();
        -2.0 * ((x2 + 1.0) / 2.0).ln()
    } else {
        holtslag_de_bruin(zeta)
    }
}

fn holtslag_de_bruin(zeta: f64) -> f64 {
    0.7 * zeta + 0.75 * zeta * (6.0 - 0.35 * zeta) * (-0.35 * zeta).exp()
}

/// Inputs of [`exchange_myj`] for one time step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MyjInput {
    /// Height of the air temperature and humidity (m), Noah ZLVL.
    pub z_temp: f64,
    /// Height of the wind (m), Noah ZLVL_WIND.
    pub z_wind: f64,
    /// Momentum roughness (m), snow-adjusted, Noah Z0.
    pub z0: f64,
    /// Background (snow-free) roughness the thermal roughness is built on (m), Noah Z0BRD.
    pub z0_base: f64,
    /// Surface pressure (Pa).
    pub p_sfc: f64,
    /// Skin temperature of the previous step (K), Noah T1.
    pub t_skin: f64,
    /// Air temperature at `z_temp` (K).
    pub t_air: f64,
    /// Skin specific humidity of the previous step (kg kg-1), Noah Q1.
    pub q_skin: f64,
    /// Air specific humidity at `z_temp` (kg kg-1).
    pub q_air: f64,
    /// Wind speed at `z_wind` (m s-1).
    pub wind: f64,
    /// Zilitinkevich coefficient CZIL (-), GENPARM.
    pub czil: f64,
    /// Noah `iz0tlnd = 1`: coefficient `10^(-0.4 z0 / 0.07)` instead of `czil`.
    pub local_czil: bool,
}

/// Result of [`exchange_myj`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MyjExchange {
    /// Bulk Richardson number (-), Noah RIBB.
    pub rib: f64,
    /// Exchange conductance for momentum (m s-1), Noah AKMS / CM.
    pub akms: f64,
    /// Exchange conductance for heat and moisture (m s-1), Noah AKHS / CH.
    pub akhs: f64,
    /// Friction velocity of the last pass (m s-1).
    pub ustar: f64,
    /// Thermal roughness of the last pass (m).
    pub z0h: f64,
    /// Inverse Obukhov length of the last pass (m-1).
    pub inv_obukhov: f64,
}

impl MyjExchange {
    /// The conductances as the column's [`Exchange`] (dimensionless
    /// coefficients relative to the wind speed floored at 1e-3 m s-1).
    pub fn exchange(&self, wind: f64) -> Exchange {
        let u = wind.max(1e-3);
        Exchange::from_inverse_obukhov(
            self.akms / u,
            self.akhs / u,
            self.akhs,
            self.ustar,
            self.z0h,
            self.inv_obukhov,
        )
    }
}

/// Noah 3.4.1 `SFCDIF_MYJ`: five passes of the MYJ surface-layer iteration
/// starting from the previous step's conductances `akms`, `akhs` (m s-1;
/// Noah starts a run from 1e-4). See the module documentation for the
/// formulation.
pub fn exchange_myj(inp: &MyjInput, akms: f64, akhs: f64) -> MyjExchange {
    let k = VON_KARMAN;
    let exner = (P0 / inp.p_sfc).powf(RCP);
    let th_low = inp.t_air * exner;
    let th_z0 = inp.t_skin * exner;
    let cxchl = EXCML / inp.z_temp;
    let btgx = GRAV / th_low;
    let elfc = k * btgx;
    let btgh = btgx * HPBL;
    let thm = 0.5 * (th_low + th_z0);
    let a = thm * P608;
    // Noah's cloud-water term of the virtual temperature is zero at the surface.
    let dthv = (th_low - th_z0) * ((inp.q_air + inp.q_skin) * (0.5 * P608) + 1.0)
        + (inp.q_air - inp.q_skin) * a;
    let du2 = (inp.wind * inp.wind).max(EPSU2);
    let rib = btgx * dthv * inp.z_wind * inp.z_wind / du2 / inp.z_temp;
    let zu = inp.z0;
    let zslu = inp.z_wind + zu;
    let rzsu = zslu / zu;
    let rlogu = rzsu.ln();
    let zslt = inp.z_temp + zu;
    let coef = if inp.local_czil {
        10f64.powf(-0.4 * inp.z0 / 0.07)
    } else {
        inp.czil
    };
    let zilfc = -coef * k * SQVISC;
    let zzil = if dthv > 0.0 {
        if rib < RIC {
            zilfc * (1.0 + (rib / RIC) * (rib / RIC) * CZETMAX)
        } else {
            zilfc * (1.0 + CZETMAX)
        }
    } else {
        zilfc
    };
    let free_convection = |akhs: f64| {
        let b = btgh * akhs * dthv;
        if b != 0.0 {
            WWST * WWST * b.abs().powf(2.0 / 3.0)
        } else {
            0.0
        }
    };
    let mut akms = akms;
    let mut akhs = akhs;
    let mut wstar2 = free_convection(akhs);
    let mut ustar = (akms * (du2 + wstar2).sqrt()).sqrt().max(EPSUST);
    let mut zt = inp.z0_base;
    let mut rlmo = 0.0;
    for _ in 0..PASSES {
        zt = ((zzil * (ustar * inp.z0_base).sqrt()).exp() * inp.z0_base).max(EPSZT);
        let rzst = zslt / zt;
        let rlogt = rzst.ln();
        rlmo = elfc * akhs * dthv / (ustar * ustar * ustar);
        let zeta_lu = (zslu * rlmo).clamp(ZETA_MIN, ZETA_MAX);
        let zeta_lt = (zslt * rlmo).clamp(ZETA_MIN, ZETA_MAX);
        let zeta_u = (zu * rlmo).clamp(ZETA_MIN / rzsu, ZETA_MAX / rzsu);
        let zeta_t = (zt * rlmo).clamp(ZETA_MIN / rzst, ZETA_MAX / rzst);
        let simm = psi_m_myj(zeta_lu) - psi_m_myj(zeta_u) + rlogu;
        let simh = psi_h_myj(zeta_lt) - psi_h_myj(zeta_t) + rlogt;
        let ustark = ustar * k;
        akms = (ustark / simm).max(cxchl);
        akhs = (ustark / simh).max(cxchl);
        wstar2 = if dthv <= 0.0 {
            free_convection(akhs)
        } else {
            0.0
        };
        ustar = (akms * (du2 + wstar2).sqrt()).sqrt().max(EPSUST);
    }
    MyjExchange {
        rib,
        akms,
        akhs,
        ustar,
        z0h: zt,
        inv_obukhov: rlmo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(t_skin: f64, t_air: f64, wind: f64) -> MyjInput {
        MyjInput {
            z_temp: 2.0,
            z_wind: 10.0,
            z0: 0.03,
            z0_base: 0.03,
            p_sfc: 55_000.0,
            t_skin,
            t_air,
            q_skin: 0.002,
            q_air: 0.002,
            wind,
            czil: 0.1,
            local_czil: false,
        }
    }

    /// Stability functions: zero at neutral; Paulson (1970) at zeta = -1
    /// (the textbook psi_m(-1) = 1.1162, psi_h(-1) = 1.8812, here with
    /// Noah's opposite sign); Holtslag-De Bruin at zeta = 1:
    /// 0.7 + 0.75 * 5.65 * exp(-0.35) = 3.6861.
    #[test]
    fn stability_functions_reference_values() {
        assert_eq!(psi_m_myj(0.0), 0.0);
        assert_eq!(psi_h_myj(0.0), 0.0);
        assert!(
            (psi_m_myj(-1.0) + 1.116_232_25).abs() < 1e-8,
            "{}",
            psi_m_myj(-1.0)
        );
        assert!(
            (psi_h_myj(-1.0) + 1.881_227_28).abs() < 1e-8,
            "{}",
            psi_h_myj(-1.0)
        );
        assert!((psi_m_myj(1.0) - 3.686_115_78).abs() < 1e-8);
        assert_eq!(psi_h_myj(1.0), psi_m_myj(1.0));
        // Continuous at neutral from both sides.
        assert!(psi_m_myj(-1e-9).abs() < 1e-7 && psi_m_myj(1e-9).abs() < 1e-7);
    }

    /// Neutral (no temperature or humidity difference): after the passes
    /// the conductances obey the log law with the Zilitinkevich z0h at the
    /// converged u*, and RIB = 0.
    #[test]
    fn neutral_limit_is_the_log_law() {
        let inp = input(270.0, 270.0, 4.0);
        let mut akms = 1e-4;
        let mut akhs = 1e-4;
        // Successive steps with the same forcing converge to the fixed point.
        for _ in 0..20 {
            let e = exchange_myj(&inp, akms, akhs);
            akms = e.akms;
            akhs = e.akhs;
        }
        let e = exchange_myj(&inp, akms, akhs);
        assert_eq!(e.rib, 0.0);
        let ln_u = ((10.0 + 0.03) / 0.03f64).ln();
        // u* = sqrt(akms U) and akms = k u* / ln_u give u* = k U / ln_u.
        let ustar = 0.4 * 4.0 / ln_u;
        assert!(
            (e.ustar - ustar).abs() < 1e-9 * ustar,
            "{} {}",
            e.ustar,
            ustar
        );
        let zt = 0.03 * (-0.1 * 0.4 * 258.2 * (ustar * 0.03f64).sqrt()).exp();
        assert!((e.z0h - zt).abs() < 1e-9 * zt);
        let akhs_log = 0.4 * ustar / ((2.0 + 0.03) / zt).ln();
        assert!((e.akhs - akhs_log).abs() < 1e-9 * akhs_log);
        assert!((e.akms - 0.4 * ustar / ln_u).abs() < 1e-9 * e.akms);
    }

    /// Unstable (warm skin) exchange exceeds neutral, stable is smaller, and
    /// a strongly stable surface stays above the floor 1e-4 / z.
    #[test]
    fn stability_orders_conductances() {
        let run = |ts: f64| {
            let inp = input(ts, 270.0, 3.0);
            let (mut m, mut h) = (1e-4, 1e-4);
            for _ in 0..20 {
                let e = exchange_myj(&inp, m, h);
                m = e.akms;
                h = e.akhs;
            }
            exchange_myj(&inp, m, h)
        };
        let (u, n, s) = (run(285.0), run(270.0), run(262.0));
        assert!(
            u.akhs > n.akhs && n.akhs > s.akhs,
            "{} {} {}",
            u.akhs,
            n.akhs,
            s.akhs
        );
        assert!(u.rib < 0.0 && s.rib > 0.0);
        assert!(u.inv_obukhov < 0.0 && s.inv_obukhov > 0.0);
        let calm = exchange_myj(&input(250.0, 275.0, 0.0), 1e-4, 1e-4);
        assert!(calm.akhs >= 1e-4 / 2.0 && calm.akhs.is_finite());
    }

    /// The bulk Richardson number is Noah's RIB = g/theta dThv z_u^2 / (U^2 z_t)
    /// (dry air: dThv is the potential temperature difference).
    #[test]
    fn bulk_richardson_number() {
        let mut inp = input(268.0, 270.0, 5.0);
        inp.q_air = 0.0;
        inp.q_skin = 0.0;
        inp.p_sfc = 1.0e5;
        let e = exchange_myj(&inp, 1e-2, 1e-2);
        let rib = 9.81 / 270.0 * 2.0 * 100.0 / 25.0 / 2.0;
        assert!((e.rib - rib).abs() < 1e-12, "{} {}", e.rib, rib);
    }

    /// Noah's iz0tlnd = 1 coefficient: 10^(-0.4 z0 / 0.07); for z0 = 0.07 m it is 0.398.
    #[test]
    fn local_czil_coefficient() {
        let mut a = input(270.0, 270.0, 4.0);
        a.z0 = 0.07;
        a.z0_base = 0.07;
        let mut b = a;
        b.local_czil = true;
        b.czil = 10f64.powf(-0.4);
        a.czil = 10f64.powf(-0.4);
        a.local_czil = false;
        let (ea, eb) = (exchange_myj(&a, 1e-2, 1e-2), exchange_myj(&b, 1e-2, 1e-2));
        assert!((ea.akhs - eb.akhs).abs() < 1e-15);
        assert_eq!(
            SurfaceLayer::from_name("myj_local_czil"),
            Some(SurfaceLayer::Myj { local_czil: true })
        );
        assert_eq!(SurfaceLayer::from_name("sfcdif"), None);
    }
}
