//! Frost number model (Nelson and Outcalt 1987) with an edaphic factor per soil cluster.
//!
//! Two forms are in use:
//!
//! * the **classic surface frost number** of Nelson and Outcalt (1987, Arctic and
//!   Alpine Research 19:279-288), `F = sqrt(DDF) / (sqrt(DDF) + sqrt(DDT))`, with
//!   permafrost where `F > 0.5`;
//! * the **edaphic ratio form** used for the 2010 Qinghai-Tibet Plateau map (Cao et
//!   al. 2023, ESSD 15:3905, FROSTNUM/COP): `F = E * sqrt(DDT / DDF)`, with
//!   permafrost where `F < 1`. `E` (dimensionless) is an edaphic factor per soil
//!   cluster that lumps the thermal-conductivity ratio and n-factors; it is
//!   calibrated against a survey map.
//!
//! With `E = 1` the two forms give the same class everywhere: `sqrt(DDT/DDF) < 1`
//! if and only if `sqrt(DDF) > sqrt(DDT)`, that is classic `F > 0.5`.
//!
//! `DDT` and `DDF` are mean annual thawing and freezing indices (degC day, >= 0).
//! As in the reference implementation of Cao et al. (2023), an index of exactly 0 is
//! taken as 1 degC day so that the ratio stays finite.

use super::check;
use crate::diagnostics::FrozenClass;
use crate::{Error, Result};

/// Smallest index used in the ratio (degC day): an index of 0 is replaced by this
/// value, as in the FROSTNUM/COP reference implementation (Cao et al. 2023).
pub const MIN_INDEX: f64 = 1.0;

/// Parameters of the edaphic frost-number model.
#[derive(Clone, Debug, PartialEq)]
pub struct FrostNumberParams {
    /// Edaphic factor `E` (dimensionless) per soil cluster; `edaphic[k]` belongs to
    /// cluster `k + 1` (clusters are numbered from 1 as in the survey rasters).
    /// Cao et al. (2023) search `E` in [0.5, 1.5].
    pub edaphic: Vec<f64>,
}

impl FrostNumberParams {
    /// The same factor `e` for `n_clusters` clusters.
    pub fn uniform(n_clusters: usize, e: f64) -> Self {
        Self {
            edaphic: vec![e; n_clusters],
        }
    }

    /// Check every factor is finite and > 0.
    pub fn validate(&self) -> Result<()> {
        if self.edaphic.is_empty() {
            return Err(Error::Parameter {
                name: "edaphic".into(),
                message: "needs at least one soil cluster".into(),
            });
        }
        for (k, &e) in self.edaphic.iter().enumerate() {
            check::positive(&format!("edaphic[cluster {}]", k + 1), e)?;
        }
        Ok(())
    }

    /// The factor of cluster `cluster` (1-based).
    pub fn factor(&self, cluster: u32) -> Result<f64> {
        if cluster == 0 || cluster as usize > self.edaphic.len() {
            return Err(Error::Parameter {
                name: "soil_cluster".into(),
                message: format!(
                    "cluster {cluster} has no edaphic factor (clusters 1..={})",
                    self.edaphic.len()
                ),
            });
        }
        Ok(self.edaphic[cluster as usize - 1])
    }
}

fn checked_indices(ddt: f64, ddf: f64) -> Result<(f64, f64)> {
    let ddt = check::non_negative("DDT", ddt)?;
    let ddf = check::non_negative("DDF", ddf)?;
    Ok((ddt.max(MIN_INDEX), ddf.max(MIN_INDEX)))
}

/// Edaphic frost number `F = E * sqrt(DDT / DDF)` (dimensionless; Cao et al. 2023
/// after Nelson and Outcalt 1987). `ddt`, `ddf` in degC day (>= 0), `e` > 0.
/// Permafrost where `F < 1`.
pub fn frost_number_edaphic(ddt: f64, ddf: f64, e: f64) -> Result<f64> {
    let (ddt, ddf) = checked_indices(ddt, ddf)?;
    let e = check::positive("E", e)?;
    Ok(e * (ddt / ddf).sqrt())
}

/// Classic surface frost number `F = sqrt(DDF) / (sqrt(DDF) + sqrt(DDT))`
/// (dimensionless, in [0, 1]; Nelson and Outcalt 1987). `ddt`, `ddf` in degC day.
/// Permafrost where `F > 0.5`.
pub fn frost_number_classic(ddt: f64, ddf: f64) -> Result<f64> {
    let (ddt, ddf) = checked_indices(ddt, ddf)?;
    Ok(ddf.sqrt() / (ddf.sqrt() + ddt.sqrt()))
}

/// Class from an edaphic frost number: permafrost where `F < 1`, else seasonally frozen.
pub fn class_from_edaphic(f: f64) -> FrozenClass {
    if f < 1.0 {
        FrozenClass::Permafrost
    } else {
        FrozenClass::SeasonallyFrozen
    }
}

/// Class from a classic frost number: permafrost where `F > 0.5`, else seasonally frozen.
pub fn class_from_classic(f: f64) -> FrozenClass {
    if f > 0.5 {
        FrozenClass::Permafrost
    } else {
        FrozenClass::SeasonallyFrozen
    }
}

/// Inputs of a frost-number map on one grid (row-major cells).
#[derive(Clone, Debug)]
pub struct FrostNumberGrid {
    /// Mean annual thawing index per cell (degC day).
    pub ddt: Vec<f64>,
    /// Mean annual freezing index per cell (degC day).
    pub ddf: Vec<f64>,
    /// Soil cluster per cell (1-based); `None` where the cluster is nodata.
    pub cluster: Vec<Option<u32>>,
    /// Cells to model; cells with nodata indices or cluster are `false` and are left out.
    pub valid: Vec<bool>,
}

impl FrostNumberGrid {
    /// Check the rasters have one size and that every valid cell has finite,
    /// non-negative indices and a cluster; errors name the cell index.
    pub fn validate(&self) -> Result<()> {
        let n = self.ddt.len();
        check::same_len("DDT", n, "DDF", self.ddf.len())?;
        check::same_len("DDT", n, "soil_cluster", self.cluster.len())?;
        check::same_len("DDT", n, "valid mask", self.valid.len())?;
        for i in 0..n {
            if !self.valid[i] {
                continue;
            }
            checked_indices(self.ddt[i], self.ddf[i])
                .map_err(|e| Error::model(Some(format!("{i}")), e.to_string()))?;
            if self.cluster[i].is_none() {
                return Err(Error::model(
                    Some(format!("{i}")),
                    "valid cell without a soil cluster",
                ));
            }
        }
        Ok(())
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.ddt.len()
    }

    /// True when the grid has no cells.
    pub fn is_empty(&self) -> bool {
        self.ddt.is_empty()
    }

    /// `sqrt(DDT / DDF)` per valid cell (NaN elsewhere): the part of `F` that does not
    /// depend on `E`, computed once before a calibration.
    pub fn sqrt_ratio(&self) -> Result<Vec<f64>> {
        self.validate()?;
        Ok((0..self.len())
            .map(|i| {
                if self.valid[i] {
                    let (t, f) = (self.ddt[i].max(MIN_INDEX), self.ddf[i].max(MIN_INDEX));
                    (t / f).sqrt()
                } else {
                    f64::NAN
                }
            })
            .collect())
    }
}

/// Frost-number class map: `Some(class)` per valid cell, `None` where left out.
/// Errors name the offending cell or cluster.
pub fn frost_number_map(
    grid: &FrostNumberGrid,
    params: &FrostNumberParams,
) -> Result<Vec<Option<FrozenClass>>> {
    params.validate()?;
    let ratio = grid.sqrt_ratio()?;
    classify_ratio(&ratio, &grid.cluster, &grid.valid, params)
}

/// Classes from a precomputed `sqrt(DDT/DDF)` raster (see [`FrostNumberGrid::sqrt_ratio`]).
pub fn classify_ratio(
    sqrt_ratio: &[f64],
    cluster: &[Option<u32>],
    valid: &[bool],
    params: &FrostNumberParams,
) -> Result<Vec<Option<FrozenClass>>> {
    check::same_len(
        "sqrt_ratio",
        sqrt_ratio.len(),
        "soil_cluster",
        cluster.len(),
    )?;
    check::same_len("sqrt_ratio", sqrt_ratio.len(), "valid mask", valid.len())?;
    let mut out = Vec::with_capacity(sqrt_ratio.len());
    for i in 0..sqrt_ratio.len() {
        if !valid[i] {
            out.push(None);
            continue;
        }
        let c = cluster[i].ok_or_else(|| {
            Error::model(Some(format!("{i}")), "valid cell without a soil cluster")
        })?;
        let e = params
            .factor(c)
            .map_err(|err| Error::model(Some(format!("{i}")), err.to_string()))?;
        out.push(Some(class_from_edaphic(e * sqrt_ratio[i])));
    }
    Ok(out)
}
