//! Seasonal ground-surface deformation seen by InSAR over permafrost (Liu et al.
//! 2012, J. Geophys. Res. 117:F01005; Schaefer et al. 2015, PLoS ONE 10:e0119279):
//! the subsidence caused by melting pore ice in the thawed layer.
//!
//! ```text
//! d(t) = phi S (rho_w / rho_i - 1) Z_thaw(t) + v t_years
//! Z_thaw(t) = sqrt(2 k_t ADDT(t) 86400 / (L rho_w phi S))     (Stefan)
//! ```
//!
//! `d` (m, positive downward = subsidence), `phi` porosity and `S` saturation of
//! the active layer (dimensionless), `rho_w / rho_i` the water/ice density ratio,
//! `ADDT(t)` the surface thawing degree-days accumulated since the last reset date
//! (degC day; the reset date lies in the frozen season, 1 January by default), `v`
//! an optional long-term subsidence rate (m a-1) and `t_years` the time since the
//! first day (a, 365.25 d). The thaw depth may instead use a fitted edaphic
//! coefficient, `Z = E_s sqrt(ADDT)`.

use chrono::{Datelike, NaiveDate};

use super::{check, stefan, RHO_ICE, RHO_WATER};
use crate::{Error, Result};

/// How the thaw depth follows from accumulated thawing degree-days.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThawDepthModel {
    /// Physical Stefan solution with thawed conductivity `k_thawed` (W m-1 K-1) and
    /// water content `phi S`.
    Stefan { k_thawed: f64 },
    /// Edaphic Stefan solution with `E_s` (m (degC day)^-1/2).
    Edaphic { e_s: f64 },
}

/// Parameters of the seasonal-deformation model for one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InsarParams {
    /// Porosity of the active layer `phi` (m3 m-3, in (0, 1]).
    pub porosity: f64,
    /// Degree of saturation `S` (dimensionless, in (0, 1]).
    pub saturation: f64,
    /// Thaw-depth model.
    pub thaw: ThawDepthModel,
    /// Long-term subsidence rate `v` (m a-1, positive = subsidence); 0 for none.
    pub long_term_rate: f64,
    /// Month and day (1-based) on which the accumulated thawing index resets.
    pub reset_month_day: (u32, u32),
}

impl InsarParams {
    /// Check ranges; errors name the parameter.
    pub fn validate(&self) -> Result<()> {
        check::in_range("porosity", self.porosity, f64::MIN_POSITIVE, 1.0)?;
        check::in_range("saturation", self.saturation, f64::MIN_POSITIVE, 1.0)?;
        check::finite("long_term_rate", self.long_term_rate)?;
        match self.thaw {
            ThawDepthModel::Stefan { k_thawed } => {
                check::positive("k_thawed", k_thawed)?;
            }
            ThawDepthModel::Edaphic { e_s } => {
                check::non_negative("E_s", e_s)?;
            }
        }
        let (m, d) = self.reset_month_day;
        if NaiveDate::from_ymd_opt(2001, m, d).is_none() {
            return Err(Error::Parameter {
                name: "reset_month_day".into(),
                message: format!("{m:02}-{d:02} is not a day of a non-leap year"),
            });
        }
        Ok(())
    }
}

/// Daily output of the deformation model.
#[derive(Clone, Debug, PartialEq)]
pub struct DeformationSeries {
    /// Accumulated surface thawing index at the end of each day (degC day).
    pub addt: Vec<f64>,
    /// Thaw depth at the end of each day (m).
    pub thaw_depth: Vec<f64>,
    /// Seasonal subsidence at the end of each day (m, positive downward).
    pub seasonal: Vec<f64>,
    /// Total displacement: seasonal plus long-term term (m, positive downward).
    pub total: Vec<f64>,
}

/// Subsidence (m) from a thaw depth `z` (m): `phi S (rho_w / rho_i - 1) z`.
pub fn thaw_subsidence(porosity: f64, saturation: f64, thaw_depth: f64) -> Result<f64> {
    let phi = check::in_range("porosity", porosity, 0.0, 1.0)?;
    let s = check::in_range("saturation", saturation, 0.0, 1.0)?;
    let z = check::non_negative("thaw_depth", thaw_depth)?;
    Ok(phi * s * (RHO_WATER / RHO_ICE - 1.0) * z)
}

/// Daily deformation of one cell from daily mean surface temperatures `t_surface`
/// (degC), the first of which falls on `start`.
pub fn seasonal_deformation(
    t_surface: &[f64],
    start: NaiveDate,
    p: &InsarParams,
) -> Result<DeformationSeries> {
    p.validate()?;
    let n = t_surface.len();
    let mut out = DeformationSeries {
        addt: Vec::with_capacity(n),
        thaw_depth: Vec::with_capacity(n),
        seasonal: Vec::with_capacity(n),
        total: Vec::with_capacity(n),
    };
    let theta = p.porosity * p.saturation;
    let mut addt = 0.0;
    for (i, &t) in t_surface.iter().enumerate() {
        let t = check::finite(&format!("t_surface[day {i}]"), t)?;
        let day = start + chrono::Duration::days(i as i64);
        if i > 0 && (day.month(), day.day()) == p.reset_month_day {
            addt = 0.0;
        }
        addt += t.max(0.0);
        let z = match p.thaw {
            ThawDepthModel::Stefan { k_thawed } => stefan::stefan_depth(k_thawed, addt, theta)?,
            ThawDepthModel::Edaphic { e_s } => stefan::stefan_alt_edaphic(addt, e_s)?,
        };
        let seasonal = thaw_subsidence(p.porosity, p.saturation, z)?;
        out.addt.push(addt);
        out.thaw_depth.push(z);
        out.seasonal.push(seasonal);
        out.total
            .push(seasonal + p.long_term_rate * i as f64 / 365.25);
    }
    Ok(out)
}
