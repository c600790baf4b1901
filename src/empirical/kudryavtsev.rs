//! Kudryavtsev model of the mean annual temperature at the top of permafrost
//! (TTOP) and the active-layer thickness (ALT), in the form of Romanovsky and
//! Osterkamp (1997, Permafrost Periglac. Process. 8:1-22), with the snow and
//! vegetation corrections of Anisimov et al. (1997, Global Planet. Change
//! 15:61-77) and Sazonova and Romanovsky (2003, Permafrost Periglac. Process.
//! 14:125-139).
//!
//! The air temperature is a sinusoid of mean `T_a` and amplitude `A_a` over the
//! period `P` (s). Terms, in the order they are applied:
//!
//! 1. Snow ([`snow_effect`]): `dA_sn = A_a (1 - exp(-H_sn sqrt(pi / (P D_sn))))`,
//!    `dT_sn = (2 / pi) dA_sn`; then `T_sn = T_a + dT_sn`, `A_sn = A_a - dA_sn`.
//!    `D_sn = k_sn / (rho_sn c_ice)` with `k_sn` from Sturm et al. (1997).
//! 2. Vegetation ([`vegetation_effect`]), with cold and warm season lengths
//!    `tau_1 = P (1/2 - asin(T_a / A_a) / pi)`, `tau_2 = P - tau_1`:
//!    `dA_1 = (A_sn - T_sn)(1 - exp(-H_v1 sqrt(pi / (2 D_v1 tau_1))))`,
//!    `dA_2 = (A_sn + T_sn)(1 - exp(-H_v2 sqrt(pi / (2 D_v2 tau_2))))`,
//!    `dA_v = (dA_1 tau_1 + dA_2 tau_2) / P`,
//!    `dT_v = (2 / pi)(dA_1 tau_1 - dA_2 tau_2) / P`;
//!    then `T_vs = T_sn + dT_v`, `A_vs = A_sn - dA_v` at the ground surface.
//! 3. TTOP ([`ttop_kudryavtsev`]):
//!    `S = 0.5 T_vs (k_f + k_t) + A_vs (k_t - k_f) / pi * [ (T_vs / A_vs) asin(T_vs / A_vs) + sqrt(1 - T_vs^2 / A_vs^2) ]`,
//!    `TTOP = S / k_f` if `S < 0`, else `S / k_t`. The square root is
//!    `sqrt(1 - T_vs^2 / A_vs^2)` as in the original; one public implementation
//!    writes `sqrt(1 - pi^2 / A_vs^2)`, which is not used here. Where
//!    `|T_vs| >= A_vs` the surface never crosses 0 degC and `TTOP = T_vs` (the
//!    formula gives the same value at `|T_vs| = A_vs`, so TTOP is continuous).
//! 4. ALT ([`alt_romanovsky_osterkamp`]), for `TTOP < 0`, with latent heat
//!    `Q_L = L rho_w theta` (J m-3), `Z_c`, `A_z` as in Romanovsky and Osterkamp
//!    (1997), eqs. 3-5:
//!    `A_z = (A_vs - |T_z|) / ln((A_vs + Q_L / 2C) / (|T_z| + Q_L / 2C)) - Q_L / 2C`,
//!    `Z_c = 2 (A_vs - |T_z|) sqrt(k P C / pi) / (2 A_z C + Q_L)`,
//!    `ALT = [2 (A_vs - |T_z|) sqrt(k P C / pi) + (2 A_z C Z_c + Q_L Z_c) Q_L sqrt(k P / (pi C)) / (2 A_z C Z_c + Q_L Z_c + (2 A_z C + Q_L) sqrt(k P / (pi C)))] / (2 A_z C + Q_L)`,
//!    with `T_z = TTOP` and the thawed conductivity and heat capacity `k_t`, `C_t`.

use std::f64::consts::PI;

use super::{check, DAYS_PER_YEAR, LATENT_HEAT_FUSION, RHO_WATER, SECONDS_PER_DAY};
use crate::{Error, Result};

/// Specific heat capacity of snow (ice) used for the snow diffusivity (J kg-1 K-1).
pub const SNOW_SPECIFIC_HEAT: f64 = 2090.0;

/// Climate, snow and vegetation forcing of one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KudryavtsevForcing {
    /// Mean annual air temperature `T_a` (degC).
    pub t_air_mean: f64,
    /// Amplitude of the annual air-temperature cycle `A_a` (K, half the range, > 0).
    pub t_air_amplitude: f64,
    /// Winter-mean snow depth `H_sn` (m, >= 0).
    pub snow_depth: f64,
    /// Winter-mean snow density `rho_sn` (kg m-3, 100..=700).
    pub snow_density: f64,
}

/// Soil and vegetation parameters of one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KudryavtsevParams {
    /// Thermal conductivity of the thawed soil `k_t` (W m-1 K-1, > 0).
    pub k_thawed: f64,
    /// Thermal conductivity of the frozen soil `k_f` (W m-1 K-1, > 0).
    pub k_frozen: f64,
    /// Volumetric heat capacity of the thawed soil `C_t` (J m-3 K-1, > 0).
    pub c_thawed: f64,
    /// Volumetric water (ice) content that freezes and thaws `theta` (m3 m-3, 0..=1).
    pub water_content: f64,
    /// Vegetation height in the cold season `H_v1` (m, >= 0).
    pub veg_height_cold: f64,
    /// Vegetation height in the warm season `H_v2` (m, >= 0).
    pub veg_height_warm: f64,
    /// Thermal diffusivity of the vegetation layer in the cold season `D_v1` (m2 s-1, > 0).
    pub veg_diffusivity_cold: f64,
    /// Thermal diffusivity of the vegetation layer in the warm season `D_v2` (m2 s-1, > 0).
    pub veg_diffusivity_warm: f64,
}

/// Intermediate and final results of the Kudryavtsev model for one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KudryavtsevDiagnostics {
    /// Mean temperature under the snow `T_sn` (degC).
    pub t_snow_base: f64,
    /// Amplitude under the snow `A_sn` (K).
    pub a_snow_base: f64,
    /// Mean ground-surface temperature under snow and vegetation `T_vs` (degC).
    pub t_surface: f64,
    /// Ground-surface amplitude `A_vs` (K).
    pub a_surface: f64,
    /// Mean annual temperature at the top of permafrost, or at the base of the
    /// seasonally frozen layer where positive (degC).
    pub ttop: f64,
    /// Active-layer thickness (m); `None` where `TTOP >= 0` (no permafrost).
    pub alt: Option<f64>,
}

/// Thermal conductivity of snow (W m-1 K-1) from its density `rho` (kg m-3):
/// `k = 0.138 - 1.01 rho' + 3.233 rho'^2`, `rho'` in g cm-3 (Sturm et al. 1997,
/// J. Glaciol. 43:26-41, eq. 4, fitted for 156 to 600 kg m-3).
pub fn snow_conductivity_sturm1997(rho: f64) -> Result<f64> {
    let rho = check::in_range("snow_density", rho, 100.0, 700.0)?;
    let r = rho / 1000.0;
    Ok(0.138 - 1.01 * r + 3.233 * r * r)
}

/// Snow effect on the amplitude and the mean (K): returns `(dA_sn, dT_sn)` with
/// `dA_sn = A_a (1 - exp(-H_sn sqrt(pi / (P D_sn))))` and `dT_sn = 2 dA_sn / pi`
/// (Sazonova and Romanovsky 2003, eqs. 2-3). `amplitude` K, `depth` m, `diffusivity`
/// m2 s-1, `period` s.
pub fn snow_effect(
    amplitude: f64,
    depth: f64,
    diffusivity: f64,
    period: f64,
) -> Result<(f64, f64)> {
    let a = check::positive("t_air_amplitude", amplitude)?;
    let h = check::non_negative("snow_depth", depth)?;
    let d = check::positive("snow_diffusivity", diffusivity)?;
    let p = check::positive("period", period)?;
    let da = a * (1.0 - (-h * (PI / (p * d)).sqrt()).exp());
    Ok((da, 2.0 * da / PI))
}

/// Length of the cold (below 0 degC) part of a sinusoidal year (s):
/// `tau_1 = P (1/2 - asin(T / A) / pi)`, with `T / A` clamped to [-1, 1].
pub fn cold_season_length(mean: f64, amplitude: f64, period: f64) -> Result<f64> {
    let t = check::finite("t_air_mean", mean)?;
    let a = check::positive("t_air_amplitude", amplitude)?;
    let p = check::positive("period", period)?;
    Ok(p * (0.5 - (t / a).clamp(-1.0, 1.0).asin() / PI))
}

fn damping(height: f64, diffusivity: f64, season: f64) -> f64 {
    if season <= 0.0 || height <= 0.0 {
        0.0
    } else {
        1.0 - (-height * (PI / (2.0 * diffusivity * season)).sqrt()).exp()
    }
}

/// Vegetation effect on the amplitude and mean (K): returns `(dA_v, dT_v)`
/// (Anisimov et al. 1997, eqs. 10-12; Sazonova and Romanovsky 2003, eqs. 4-7).
/// `t_sn`, `a_sn`: mean (degC) and amplitude (K) under the snow; `tau_cold` s;
/// `period` s.
pub fn vegetation_effect(
    t_sn: f64,
    a_sn: f64,
    p: &KudryavtsevParams,
    tau_cold: f64,
    period: f64,
) -> Result<(f64, f64)> {
    check::finite("t_snow_base", t_sn)?;
    check::non_negative("a_snow_base", a_sn)?;
    check::non_negative("veg_height_cold", p.veg_height_cold)?;
    check::non_negative("veg_height_warm", p.veg_height_warm)?;
    check::positive("veg_diffusivity_cold", p.veg_diffusivity_cold)?;
    check::positive("veg_diffusivity_warm", p.veg_diffusivity_warm)?;
    let tau1 = check::in_range("tau_cold", tau_cold, 0.0, period)?;
    let tau2 = period - tau1;
    let da1 = (a_sn - t_sn) * damping(p.veg_height_cold, p.veg_diffusivity_cold, tau1);
    let da2 = (a_sn + t_sn) * damping(p.veg_height_warm, p.veg_diffusivity_warm, tau2);
    let da = (da1 * tau1 + da2 * tau2) / period;
    let dt = 2.0 / PI * (da1 * tau1 - da2 * tau2) / period;
    Ok((da, dt))
}

/// TTOP (degC) from the ground-surface mean `t_vs` (degC) and amplitude `a_vs` (K)
/// and the thawed and frozen conductivities (W m-1 K-1); Kudryavtsev (1974) as
/// written by Romanovsky and Osterkamp (1997), eq. 2, with `sqrt(1 - T^2/A^2)`.
pub fn ttop_kudryavtsev(t_vs: f64, a_vs: f64, k_thawed: f64, k_frozen: f64) -> Result<f64> {
    let t = check::finite("t_surface", t_vs)?;
    let a = check::non_negative("a_surface", a_vs)?;
    let kt = check::positive("k_thawed", k_thawed)?;
    let kf = check::positive("k_frozen", k_frozen)?;
    if t.abs() >= a {
        // The surface never crosses 0 degC: one conductivity throughout, TTOP = T_vs.
        return Ok(t);
    }
    let r = t / a;
    let s = 0.5 * t * (kf + kt) + a * (kt - kf) / PI * (r * r.asin() + (1.0 - r * r).sqrt());
    Ok(if s < 0.0 { s / kf } else { s / kt })
}

/// Active-layer thickness (m) from the ground-surface amplitude `a_vs` (K), the
/// permafrost-table temperature `t_z` (degC), the thawed conductivity `k`
/// (W m-1 K-1) and volumetric heat capacity `c` (J m-3 K-1), the volumetric latent
/// heat `q_l` (J m-3) and the period (s); Romanovsky and Osterkamp (1997), eqs. 3-5.
/// Errors where the surface amplitude does not exceed `|t_z|` (no thaw).
pub fn alt_romanovsky_osterkamp(
    a_vs: f64,
    t_z: f64,
    k: f64,
    c: f64,
    q_l: f64,
    period: f64,
) -> Result<f64> {
    let a = check::positive("a_surface", a_vs)?;
    let tz = check::finite("ttop", t_z)?.abs();
    let k = check::positive("k_thawed", k)?;
    let c = check::positive("c_thawed", c)?;
    let q = check::non_negative("latent_heat_volumetric", q_l)?;
    let p = check::positive("period", period)?;
    if a <= tz {
        return Err(Error::Parameter {
            name: "a_surface".into(),
            message: format!("surface amplitude {a} K does not exceed |TTOP| = {tz} K: no thaw"),
        });
    }
    let h = q / (2.0 * c);
    let a_z = (a - tz) / ((a + h) / (tz + h)).ln() - h;
    let root_pc = (k * p * c / PI).sqrt();
    let root_d = (k * p / (PI * c)).sqrt();
    let denom = 2.0 * a_z * c + q;
    let z_c = 2.0 * (a - tz) * root_pc / denom;
    let num2 = (2.0 * a_z * c * z_c + q * z_c) * q * root_d;
    let den2 = 2.0 * a_z * c * z_c + q * z_c + denom * root_d;
    Ok((2.0 * (a - tz) * root_pc + num2 / den2) / denom)
}

/// Run the whole model for one cell over the 365-day year.
pub fn kudryavtsev(
    f: &KudryavtsevForcing,
    p: &KudryavtsevParams,
) -> Result<KudryavtsevDiagnostics> {
    let period = DAYS_PER_YEAR * SECONDS_PER_DAY;
    check::finite("t_air_mean", f.t_air_mean)?;
    check::positive("k_frozen", p.k_frozen)?;
    let theta = check::in_range("water_content", p.water_content, 0.0, 1.0)?;
    let k_sn = snow_conductivity_sturm1997(f.snow_density)?;
    let d_sn = k_sn / (f.snow_density * SNOW_SPECIFIC_HEAT);
    let (da_sn, dt_sn) = snow_effect(f.t_air_amplitude, f.snow_depth, d_sn, period)?;
    let t_sn = f.t_air_mean + dt_sn;
    let a_sn = f.t_air_amplitude - da_sn;
    let tau1 = cold_season_length(f.t_air_mean, f.t_air_amplitude, period)?;
    let (da_v, dt_v) = vegetation_effect(t_sn, a_sn, p, tau1, period)?;
    let t_vs = t_sn + dt_v;
    let a_vs = (a_sn - da_v).max(0.0);
    let ttop = ttop_kudryavtsev(t_vs, a_vs, p.k_thawed, p.k_frozen)?;
    let alt = if ttop < 0.0 && a_vs > ttop.abs() {
        let q_l = LATENT_HEAT_FUSION * RHO_WATER * theta;
        Some(alt_romanovsky_osterkamp(
            a_vs, ttop, p.k_thawed, p.c_thawed, q_l, period,
        )?)
    } else if ttop < 0.0 {
        Some(0.0)
    } else {
        None
    };
    Ok(KudryavtsevDiagnostics {
        t_snow_base: t_sn,
        a_snow_base: a_sn,
        t_surface: t_vs,
        a_surface: a_vs,
        ttop,
        alt,
    })
}
