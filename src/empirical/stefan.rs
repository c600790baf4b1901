//! Stefan solution for the thaw depth (Stefan 1891; as used for active-layer
//! mapping by Nelson et al. 1997 and for the Datong River 30 m ALT product).
//!
//! Two forms:
//!
//! * physical: `Z = sqrt(2 k_t DDT * 86400 / (L rho_w theta))` (m), with `k_t` the
//!   thawed conductivity (W m-1 K-1), `DDT` the ground-surface thawing index
//!   (degC day, converted to K s), `L` the latent heat of fusion (J kg-1), `rho_w`
//!   the density of water (kg m-3) and `theta` the volumetric water content
//!   (m3 m-3);
//! * edaphic: `ALT = E_s sqrt(DDT)` with `E_s` (m (degC day)^-1/2) fitted to
//!   measured ALT by least squares through the origin in `sqrt(DDT)`:
//!   `E_s = sum(sqrt(DDT_i) ALT_i) / sum(DDT_i)`.

use super::{check, LATENT_HEAT_FUSION, RHO_WATER, SECONDS_PER_DAY};
use crate::{Error, Result};

/// Edaphic Stefan thaw depth `E_s sqrt(DDT)` (m); `ddt` degC day >= 0, `e_s` >= 0
/// in m (degC day)^-1/2.
pub fn stefan_alt_edaphic(ddt: f64, e_s: f64) -> Result<f64> {
    let ddt = check::non_negative("DDT", ddt)?;
    let e_s = check::non_negative("E_s", e_s)?;
    Ok(e_s * ddt.sqrt())
}

/// Physical Stefan thaw depth (m): `sqrt(2 k DDT 86400 / (L rho_w theta))`.
/// `k` W m-1 K-1 (> 0), `ddt` degC day (>= 0), `theta` m3 m-3 (in (0, 1]).
pub fn stefan_depth(k_thawed: f64, ddt: f64, theta: f64) -> Result<f64> {
    let k = check::positive("k_thawed", k_thawed)?;
    let ddt = check::non_negative("DDT", ddt)?;
    let theta = check::in_range("water_content", theta, f64::MIN_POSITIVE, 1.0)?;
    Ok((2.0 * k * ddt * SECONDS_PER_DAY / (LATENT_HEAT_FUSION * RHO_WATER * theta)).sqrt())
}

/// The edaphic coefficient `E_s` of the Stefan thaw depth implied by the physical
/// form: `sqrt(2 k 86400 / (L rho_w theta))` (m (degC day)^-1/2).
pub fn edaphic_from_physical(k_thawed: f64, theta: f64) -> Result<f64> {
    stefan_depth(k_thawed, 1.0, theta)
}

/// Least-squares `E_s` (m (degC day)^-1/2) from ground thawing indices `ddt`
/// (degC day) and measured active-layer thicknesses `alt` (m) at the same sites.
pub fn fit_edaphic_coefficient(ddt: &[f64], alt: &[f64]) -> Result<f64> {
    check::same_len("DDT", ddt.len(), "ALT", alt.len())?;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, (&t, &z)) in ddt.iter().zip(alt).enumerate() {
        let t = check::non_negative(&format!("DDT[{i}]"), t)?;
        let z = check::non_negative(&format!("ALT[{i}]"), z)?;
        sxy += t.sqrt() * z;
        sxx += t;
    }
    if sxx <= 0.0 {
        return Err(Error::Parameter {
            name: "DDT".into(),
            message: "all thawing indices are zero: E_s is undetermined".into(),
        });
    }
    Ok(sxy / sxx)
}
