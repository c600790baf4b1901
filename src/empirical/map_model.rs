//! One interface for the fast map models: [`MapModel`].
//!
//! A map model turns a parameter vector (physical values, one per dimension of
//! its [`ParamSpace`]) into a signed **margin** per cell: negative where the
//! model puts permafrost, positive where it puts seasonally frozen ground, in
//! the model's own unit. The class map is the sign of the margin, and the
//! margin is the continuous signal that survey calibration, mapping and
//! validation share: a smoothed Kappa for a surrogate, the distance of
//! misclassified cells to the boundary, or a map of the model's own variable
//! (frost number, TTOP).
//!
//! Implementations:
//! - [`FrostNumberMap`]: edaphic frost number, one `E` per soil cluster,
//!   margin `F - 1` with `F = E sqrt(DDT / DDF)` (Cao et al. 2023, ESSD
//!   15:3905, after Nelson and Outcalt 1987);
//! - [`TtopMap`]: TTOP on ground-surface indices (`nt = nf = 1`), one `rk` per
//!   soil cluster, margin TTOP in degC (Smith and Riseborough 2002).

use super::frost_number::{FrostNumberGrid, MIN_INDEX};
use super::ttop::{ttop, TtopParams};
use super::DAYS_PER_YEAR;
use crate::calibrate::registry::{ParamSpace, ParamSpec, Registry, Scope, Transform};
use crate::diagnostics::FrozenClass;
use crate::{Error, Result};

/// A fast permafrost map model (see the module documentation).
pub trait MapModel: Send + Sync {
    /// Short name (`frost_number`, `ttop`).
    fn name(&self) -> &'static str;

    /// The calibratable parameters: names, units, bounds and transforms. The
    /// parameter vectors of [`MapModel::margins`] follow the order of its `dims`.
    fn space(&self) -> &ParamSpace;

    /// Number of cells of the grid (row-major).
    fn n_cells(&self) -> usize;

    /// Unit of the margin (`-` for dimensionless).
    fn margin_unit(&self) -> &'static str;

    /// Whether cell `i` is modelled (inputs present); other cells have no margin.
    fn is_modelled(&self, i: usize) -> bool;

    /// Margin of each cell of `cells` under `params` into `out` (same length as
    /// `cells`): negative for permafrost. Errors name the bad parameter or cell.
    fn margins(&self, params: &[f64], cells: &[usize], out: &mut [f64]) -> Result<()>;

    /// Change of the margin of cell `i` per unit relative change of its own
    /// parameter, at the class boundary (margin unit). Dividing a margin by it
    /// gives a dimensionless distance to the boundary that is comparable
    /// between models.
    fn boundary_scale(&self, i: usize) -> f64;

    /// Class of each cell of `cells`: permafrost where the margin is negative.
    fn classify(&self, params: &[f64], cells: &[usize]) -> Result<Vec<FrozenClass>> {
        let mut m = vec![0.0; cells.len()];
        self.margins(params, cells, &mut m)?;
        Ok(m.iter().map(|&v| class_from_margin(v)).collect())
    }

    /// The class map over the whole grid (`None` where the cell is not modelled).
    fn class_map(&self, params: &[f64]) -> Result<Vec<Option<FrozenClass>>> {
        let cells: Vec<usize> = (0..self.n_cells())
            .filter(|&i| self.is_modelled(i))
            .collect();
        let classes = self.classify(params, &cells)?;
        let mut out = vec![None; self.n_cells()];
        for (&i, c) in cells.iter().zip(classes) {
            out[i] = Some(c);
        }
        Ok(out)
    }

    /// The margin map over the whole grid (NaN where the cell is not modelled).
    fn margin_map(&self, params: &[f64]) -> Result<Vec<f64>> {
        let cells: Vec<usize> = (0..self.n_cells())
            .filter(|&i| self.is_modelled(i))
            .collect();
        let mut m = vec![0.0; cells.len()];
        self.margins(params, &cells, &mut m)?;
        let mut out = vec![f64::NAN; self.n_cells()];
        for (&i, v) in cells.iter().zip(m) {
            out[i] = v;
        }
        Ok(out)
    }
}

/// Permafrost where `margin < 0`, else seasonally frozen ground.
pub fn class_from_margin(margin: f64) -> FrozenClass {
    if margin < 0.0 {
        FrozenClass::Permafrost
    } else {
        FrozenClass::SeasonallyFrozen
    }
}

/// A per-soil-cluster search space of one parameter (dimensions in ascending
/// cluster order, linear transform).
fn cluster_space(
    model: &str,
    name: &str,
    doc: &str,
    reference: &str,
    default: f64,
    bounds: (f64, f64),
    cluster_codes: &[u32],
) -> Result<ParamSpace> {
    let (lo, hi) = bounds;
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi) {
        return Err(Error::Parameter {
            name: name.into(),
            message: format!("bounds need 0 < lower < upper, got [{lo}, {hi}]"),
        });
    }
    if cluster_codes.is_empty() {
        return Err(Error::Parameter {
            name: name.into(),
            message: "no soil cluster to calibrate".into(),
        });
    }
    let n = cluster_codes.len();
    let spec = ParamSpec {
        name: name.into(),
        target: name.into(),
        unit: "-".into(),
        scope: Scope::SoilClass,
        classes: cluster_codes.to_vec(),
        default: vec![default.clamp(lo, hi); n],
        lower: vec![lo; n],
        upper: vec![hi; n],
        transform: Transform::Linear,
        doc: doc.into(),
        reference: reference.into(),
    };
    Ok(ParamSpace::all(Registry::from_specs(
        model,
        vec![spec],
        vec![],
    )?))
}

fn check_params(space: &ParamSpace, params: &[f64]) -> Result<()> {
    if params.len() != space.dim() {
        return Err(Error::Parameter {
            name: space.registry.params[0].name.clone(),
            message: format!("{} values for {} clusters", params.len(), space.dim()),
        });
    }
    for (d, &v) in space.dims.iter().zip(params) {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::Parameter {
                name: d.name.clone(),
                message: format!("must be finite and > 0, got {v}"),
            });
        }
    }
    Ok(())
}

fn check_cells(n: usize, cells: &[usize], out: &[f64], valid: &[bool]) -> Result<()> {
    if out.len() != cells.len() {
        return Err(Error::Other(format!(
            "margins: {} output slots for {} cells",
            out.len(),
            cells.len()
        )));
    }
    if let Some(&i) = cells.iter().find(|&&i| i >= n || !valid[i]) {
        return Err(Error::model(
            Some(format!("{i}")),
            "cell is outside the grid or has no inputs".to_string(),
        ));
    }
    Ok(())
}

/// Edaphic frost number per soil cluster (see the module documentation).
pub struct FrostNumberMap {
    space: ParamSpace,
    /// Dense cluster index (0-based) per cell.
    cluster: Vec<Option<usize>>,
    valid: Vec<bool>,
    /// `sqrt(DDT / DDF)` per cell (indices floored at [`MIN_INDEX`]).
    sqrt_ratio: Vec<f64>,
}

impl FrostNumberMap {
    /// The model on `grid`, whose dense cluster `k` (1-based) has raster code
    /// `cluster_codes[k - 1]`; `E` searched within `bounds`.
    pub fn new(grid: &FrostNumberGrid, cluster_codes: &[u32], bounds: (f64, f64)) -> Result<Self> {
        let sqrt_ratio = grid.sqrt_ratio()?;
        let cluster = dense_clusters(grid, cluster_codes.len())?;
        let space = cluster_space(
            "frost_number",
            "E",
            "edaphic factor of the frost number F = E sqrt(DDT / DDF)",
            "Cao et al. 2023, ESSD 15:3905 (range 0.5-1.5)",
            1.0,
            bounds,
            cluster_codes,
        )?;
        Ok(Self {
            space,
            cluster,
            valid: grid.valid.clone(),
            sqrt_ratio,
        })
    }
}

fn dense_clusters(grid: &FrostNumberGrid, n_clusters: usize) -> Result<Vec<Option<usize>>> {
    grid.cluster
        .iter()
        .enumerate()
        .map(|(i, c)| match (grid.valid[i], *c) {
            (false, _) => Ok(None),
            (true, Some(k)) if k >= 1 && (k as usize) <= n_clusters => Ok(Some(k as usize - 1)),
            (true, k) => Err(Error::model(
                Some(format!("{i}")),
                format!("soil cluster {k:?} is not one of the {n_clusters} calibrated clusters"),
            )),
        })
        .collect()
}

impl MapModel for FrostNumberMap {
    fn name(&self) -> &'static str {
        "frost_number"
    }
    fn space(&self) -> &ParamSpace {
        &self.space
    }
    fn n_cells(&self) -> usize {
        self.valid.len()
    }
    fn margin_unit(&self) -> &'static str {
        "-"
    }
    fn is_modelled(&self, i: usize) -> bool {
        self.valid.get(i).copied().unwrap_or(false)
    }
    /// `F - 1` with `F = E_k sqrt(DDT / DDF)` (dimensionless).
    fn margins(&self, params: &[f64], cells: &[usize], out: &mut [f64]) -> Result<()> {
        check_params(&self.space, params)?;
        check_cells(self.valid.len(), cells, out, &self.valid)?;
        for (o, &i) in out.iter_mut().zip(cells) {
            let k = self.cluster[i].unwrap_or(0);
            *o = params[k] * self.sqrt_ratio[i] - 1.0;
        }
        Ok(())
    }
    /// `dF / d ln E = F = 1` at the boundary.
    fn boundary_scale(&self, _i: usize) -> f64 {
        1.0
    }
}

/// TTOP on ground-surface indices with one `rk` per soil cluster (see the
/// module documentation).
pub struct TtopMap {
    space: ParamSpace,
    cluster: Vec<Option<usize>>,
    valid: Vec<bool>,
    ddt: Vec<f64>,
    ddf: Vec<f64>,
}

impl TtopMap {
    /// The model on `grid` (indices taken as ground-surface indices, `nt = nf
    /// = 1`); `rk` searched within `bounds`.
    pub fn new(grid: &FrostNumberGrid, cluster_codes: &[u32], bounds: (f64, f64)) -> Result<Self> {
        grid.validate()?;
        let cluster = dense_clusters(grid, cluster_codes.len())?;
        let space = cluster_space(
            "ttop",
            "rk",
            "thermal-conductivity ratio k_thawed / k_frozen of TTOP",
            "Smith and Riseborough 2002, Permafrost Periglac. Process. 13:1-15",
            1.0,
            bounds,
            cluster_codes,
        )?;
        // The same index floor as the frost number, so that both models see the same inputs.
        let floor = |v: &Vec<f64>| v.iter().map(|&x| x.max(MIN_INDEX)).collect::<Vec<f64>>();
        Ok(Self {
            space,
            cluster,
            valid: grid.valid.clone(),
            ddt: floor(&grid.ddt),
            ddf: floor(&grid.ddf),
        })
    }
}

impl MapModel for TtopMap {
    fn name(&self) -> &'static str {
        "ttop"
    }
    fn space(&self) -> &ParamSpace {
        &self.space
    }
    fn n_cells(&self) -> usize {
        self.valid.len()
    }
    fn margin_unit(&self) -> &'static str {
        "degC"
    }
    fn is_modelled(&self, i: usize) -> bool {
        self.valid.get(i).copied().unwrap_or(false)
    }
    /// TTOP (degC) with `nt = nf = 1`, `P = 365 d`.
    fn margins(&self, params: &[f64], cells: &[usize], out: &mut [f64]) -> Result<()> {
        check_params(&self.space, params)?;
        check_cells(self.valid.len(), cells, out, &self.valid)?;
        for (o, &i) in out.iter_mut().zip(cells) {
            let k = self.cluster[i].unwrap_or(0);
            let p = TtopParams {
                rk: params[k],
                nt: 1.0,
                nf: 1.0,
            };
            *o = ttop(self.ddt[i], self.ddf[i], &p)
                .map_err(|e| Error::model(Some(format!("{i}")), e.to_string()))?;
        }
        Ok(())
    }
    /// `dTTOP / d ln rk = rk DDT / P = DDF / P` at the boundary (degC).
    fn boundary_scale(&self, i: usize) -> f64 {
        self.ddf.get(i).copied().unwrap_or(MIN_INDEX) / DAYS_PER_YEAR
    }
}

// The models are shared across threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<FrostNumberMap>();
    send_sync::<TtopMap>();
};

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> FrostNumberGrid {
        // Cell 0: DDT 800, DDF 2000 (cluster 1); cell 1: DDT 1800, DDF 1200
        // (cluster 2); cell 2 left out.
        FrostNumberGrid {
            ddt: vec![800.0, 1800.0, f64::NAN],
            ddf: vec![2000.0, 1200.0, f64::NAN],
            cluster: vec![Some(1), Some(2), None],
            valid: vec![true, true, false],
        }
    }

    #[test]
    fn frost_number_margin_and_classes_by_hand() {
        let m = FrostNumberMap::new(&grid(), &[3, 7], (0.5, 1.5)).unwrap();
        assert_eq!(m.space().names(), vec!["E[3]", "E[7]"]);
        let mut out = [0.0; 2];
        m.margins(&[1.2, 0.9], &[0, 1], &mut out).unwrap();
        // F = 1.2 sqrt(0.4) = 0.758947; F = 0.9 sqrt(1.5) = 1.102270.
        assert!((out[0] - (1.2 * 0.4f64.sqrt() - 1.0)).abs() < 1e-12);
        assert!((out[1] - (0.9 * 1.5f64.sqrt() - 1.0)).abs() < 1e-12);
        assert_eq!(
            m.class_map(&[1.2, 0.9]).unwrap(),
            vec![
                Some(FrozenClass::Permafrost),
                Some(FrozenClass::SeasonallyFrozen),
                None
            ]
        );
        // Wrong length, bad value and unmodelled cell are errors naming them.
        assert!(m.margins(&[1.0], &[0], &mut [0.0]).is_err());
        let e = m.margins(&[1.0, -1.0], &[0], &mut [0.0]).unwrap_err();
        assert!(e.to_string().contains("E[7]"), "{e}");
        let e = m.margins(&[1.0, 1.0], &[2], &mut [0.0]).unwrap_err();
        assert!(e.to_string().contains('2'), "{e}");
    }

    #[test]
    fn ttop_margin_matches_the_hand_computed_case() {
        // DDT = 800, DDF = 2000, rk = 0.7: TTOP = (0.7 * 800 - 2000) / 365 = -3.945205 degC.
        let m = TtopMap::new(&grid(), &[1, 2], (0.25, 2.25)).unwrap();
        let mut out = [0.0; 2];
        m.margins(&[0.7, 0.7], &[0, 1], &mut out).unwrap();
        assert!((out[0] - (-1440.0 / 365.0)).abs() < 1e-12, "{}", out[0]);
        // DDT = 1800, DDF = 1200: thawed branch (1800 - 1200 / 0.7) / 365 = 0.234834 degC.
        assert!((out[1] - (1800.0 - 1200.0 / 0.7) / 365.0).abs() < 1e-12);
        assert_eq!(m.margin_unit(), "degC");
        // The class equals the frost number's with E = sqrt(rk).
        let f = FrostNumberMap::new(&grid(), &[1, 2], (0.5, 1.5)).unwrap();
        for rk in [0.3, 0.49, 0.7, 1.3, 2.0] {
            assert_eq!(
                m.classify(&[rk, rk], &[0, 1]).unwrap(),
                f.classify(&[rk.sqrt(), rk.sqrt()], &[0, 1]).unwrap()
            );
        }
        assert!((m.boundary_scale(0) - 2000.0 / 365.0).abs() < 1e-12);
        let map = m.margin_map(&[0.7, 0.7]).unwrap();
        assert!(map[2].is_nan() && map[0] < 0.0);
    }

    #[test]
    fn bad_bounds_and_clusters_are_rejected() {
        assert!(FrostNumberMap::new(&grid(), &[1, 2], (1.5, 0.5)).is_err());
        // A valid cell in cluster 2 but only one cluster calibrated.
        let e = FrostNumberMap::new(&grid(), &[1], (0.5, 1.5))
            .err()
            .expect("cluster 2 has no parameter");
        assert!(e.to_string().contains("cluster"), "{e}");
    }
}
