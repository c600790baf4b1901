//! TTOP model (Smith and Riseborough 2002, Permafrost Periglac. Process. 13:1-15):
//! the mean annual temperature at the top of permafrost from air (or ground-surface)
//! freezing and thawing indices, n-factors and the thermal-conductivity ratio.
//!
//! ```text
//! TTOP = (rk nt DDT - nf DDF) / P          if rk nt DDT < nf DDF   (permafrost)
//! TTOP = (nt DDT - nf DDF / rk) / P        otherwise               (no permafrost)
//! ```
//!
//! `DDT`, `DDF` in degC day, `P` = 365 d, `rk = k_thawed / k_frozen` (dimensionless,
//! usually < 1), `nt`, `nf` surface n-factors (dimensionless). The result is in
//! degC; permafrost where `TTOP < 0`. When the indices are already ground-surface
//! indices (for example predicted by [`crate::empirical::ridge`] from air or
//! land-surface temperature), use `nt = nf = 1`.

use super::{check, DAYS_PER_YEAR};
use crate::diagnostics::FrozenClass;
use crate::{Error, Result};

/// Parameters of the TTOP model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TtopParams {
    /// Thermal-conductivity ratio `rk = k_thawed / k_frozen` (dimensionless, > 0).
    pub rk: f64,
    /// Thawing-season n-factor `nt` (ground-surface / air thawing index, >= 0).
    pub nt: f64,
    /// Freezing-season n-factor `nf` (ground-surface / air freezing index, >= 0).
    pub nf: f64,
}

impl TtopParams {
    /// Check `rk > 0`, `nt >= 0`, `nf >= 0`, all finite.
    pub fn validate(&self) -> Result<()> {
        check::positive("rk", self.rk)?;
        check::non_negative("nt", self.nt)?;
        check::non_negative("nf", self.nf)?;
        Ok(())
    }
}

/// TTOP (degC) from thawing and freezing indices `ddt`, `ddf` (degC day, >= 0) over
/// a period of `period_days` (d, usually 365); Smith and Riseborough (2002), eq. 6.
pub fn ttop_smith_riseborough(ddt: f64, ddf: f64, p: &TtopParams, period_days: f64) -> Result<f64> {
    let ddt = check::non_negative("DDT", ddt)?;
    let ddf = check::non_negative("DDF", ddf)?;
    let period = check::positive("period_days", period_days)?;
    p.validate()?;
    let frozen_branch = p.rk * p.nt * ddt - p.nf * ddf;
    if frozen_branch < 0.0 {
        Ok(frozen_branch / period)
    } else {
        Ok((p.nt * ddt - p.nf * ddf / p.rk) / period)
    }
}

/// TTOP with the annual period `P = 365 d`.
pub fn ttop(ddt: f64, ddf: f64, p: &TtopParams) -> Result<f64> {
    ttop_smith_riseborough(ddt, ddf, p, DAYS_PER_YEAR)
}

/// Class from TTOP: permafrost where `TTOP < 0` degC.
pub fn class_from_ttop(ttop: f64) -> FrozenClass {
    if ttop < 0.0 {
        FrozenClass::Permafrost
    } else {
        FrozenClass::SeasonallyFrozen
    }
}

/// TTOP class map with per-cluster parameters: `params[k]` belongs to cluster `k + 1`.
/// Cells where `valid` is false give `None`; errors name the cell.
pub fn ttop_map(
    ddt: &[f64],
    ddf: &[f64],
    cluster: &[Option<u32>],
    valid: &[bool],
    params: &[TtopParams],
) -> Result<Vec<Option<FrozenClass>>> {
    check::same_len("DDT", ddt.len(), "DDF", ddf.len())?;
    check::same_len("DDT", ddt.len(), "soil_cluster", cluster.len())?;
    check::same_len("DDT", ddt.len(), "valid mask", valid.len())?;
    let mut out = Vec::with_capacity(ddt.len());
    for i in 0..ddt.len() {
        if !valid[i] {
            out.push(None);
            continue;
        }
        let at = |m: String| Error::model(Some(format!("{i}")), m);
        let c = cluster[i].ok_or_else(|| at("valid cell without a soil cluster".into()))?;
        let p = params
            .get((c as usize).wrapping_sub(1))
            .ok_or_else(|| at(format!("cluster {c} has no TTOP parameters")))?;
        let t = ttop(ddt[i], ddf[i], p).map_err(|e| at(e.to_string()))?;
        out.push(Some(class_from_ttop(t)));
    }
    Ok(out)
}
