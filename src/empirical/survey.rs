//! Map-based calibration of the frost-number and TTOP models against a
//! field-survey permafrost map (the 2010 Qinghai-Tibet Plateau setup of Cao et al.
//! 2023, ESSD 15:3905, FROSTNUM/COP).
//!
//! Inputs (one grid): the survey map (1 permafrost, 2 seasonally frozen ground,
//! anything else nodata), mean annual ground thawing and freezing indices `DDT`,
//! `DDF` (degC day) and soil clusters. A cell is used only where the survey, both
//! indices and the cluster are all present; nothing is filled in. Cluster codes
//! are mapped to dense indices in ascending code order (the survey rasters skip
//! code 5), one parameter per cluster:
//!
//! * frost number: `E` per cluster, `F = E sqrt(DDT/DDF)`, permafrost where `F < 1`;
//! * TTOP with ground indices (`nt = nf = 1`): `rk` per cluster, permafrost where
//!   `rk DDT < DDF`. This is the frost-number class with `E = sqrt(rk)`, so the two
//!   variants differ only through their search boxes and the parametrisation the
//!   optimiser sees.
//!
//! The objective is Cohen's Kappa of the two-class map against the survey (the
//! optimisers minimise `1 - Kappa`). Calibration runs with calimap's Bayesian
//! optimiser (Gaussian-process EGO) and, as the published baseline, argmin's
//! particle swarm. Spatial k-fold cross-validation groups cells into square
//! blocks, deals the blocks to folds after a seeded shuffle, calibrates on the
//! other folds and scores the held-out fold; the held-out predictions of all
//! folds are also pooled into one map and scored once.
//!
//! The models go through [`MapModel`]: the class map is the sign of the
//! model's margin, the smoothed Kappa the Bayesian optimiser is told uses the
//! margin too. The objective is Kappa, optionally weighted with a boundary
//! consistency term ([`ObjectiveConfig`]). The Bayesian optimiser ends with a
//! compass search from its best point inside the same evaluation budget.
//!
//! # Measured on the QTP survey
//!
//! 2653 cells are scored (51 survey cells have a nodata cluster or index and are
//! left out). The best Kappa found by an exhaustive per-cluster break search is
//! 0.7603. With the margin-linearised local phase ([`LocalMethod::MarginLine`],
//! the experiment files' setting) the Bayesian optimiser (150 evaluations: 8
//! initial points, 102 on the smoothed Kappa, 40 local) reaches 0.7603 in every
//! seed 1-10 for the frost number and TTOP, against particle swarm 15 x (1 +
//! 100) medians 0.7575 (range 0.7340-0.7602) and 0.7594 (0.7511-0.7594).
//! Spatial 5-fold block cross-validation, pooled held-out Kappa: frost number
//! 0.7460 (Bayesian) against 0.7283 (swarm), TTOP 0.7443 against 0.7421. With
//! the compass local phase the Bayesian medians were 0.7566 and 0.7565
//! (README.md has the full tables).
//!
//! Annealing the smoothing width, the trust-region and line-search local
//! phases ([`LocalMethod`]), a hard-Kappa weight in the local phase and other
//! splits of the budget were measured on seeds 101-110 and changed the median
//! by less than the spread between seeds (0.7552-0.7583 against 0.7571; the
//! best of them on those seeds, a local phase at width 0.0003, gave 0.7566
//! and 0.7559 on seeds 1-10):
//! the smoothed Kappa's optimum lies several cells off the hard one at widths
//! where it is smooth, and the local phases add 0.001-0.003 to the best point
//! of the Bayesian phase.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::frost_number::FrostNumberGrid;
use super::map_model::{class_from_margin, FrostNumberMap, MapModel, TtopMap};
use crate::calibrate::local::{CompassConfig, CompassSearch, LineConfig, LineSearch};
use crate::calibrate::optimizer::{mix_seed, BayesOpt, BoConfig, Optimizer, ParticleSwarm};
use crate::diagnostics::FrozenClass;
use crate::io::geotiff::{read_geotiff_any, write_geotiff, Raster, RasterGrid};
use crate::metrics::region::dilate;
use crate::metrics::ConfusionMatrix;
use crate::metrics::KappaWeights;
use crate::{Error, Result};

/// Which model is calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyModel {
    /// Edaphic frost number, one `E` per cluster.
    FrostNumber,
    /// TTOP on ground indices, one `rk` per cluster.
    Ttop,
}

impl SurveyModel {
    /// Parameter name per cluster.
    pub fn parameter(self) -> &'static str {
        match self {
            SurveyModel::FrostNumber => "E",
            SurveyModel::Ttop => "rk",
        }
    }
}

/// Which optimiser calibrates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyMethod {
    /// calimap's Bayesian optimiser ([`BayesOpt`]).
    BayesOpt,
    /// argmin's particle swarm ([`ParticleSwarm`]).
    ParticleSwarm,
}

fn default_models() -> Vec<SurveyModel> {
    vec![SurveyModel::FrostNumber, SurveyModel::Ttop]
}
fn default_methods() -> Vec<SurveyMethod> {
    vec![SurveyMethod::BayesOpt, SurveyMethod::ParticleSwarm]
}
fn default_e_bounds() -> (f64, f64) {
    (0.5, 1.5)
}
fn default_rk_bounds() -> (f64, f64) {
    (0.25, 2.25)
}
fn default_bo_evaluations() -> usize {
    150
}
fn default_bo_batch() -> usize {
    1
}
fn default_bo_smoothing() -> f64 {
    0.01
}
fn default_bo_local_smoothing() -> f64 {
    0.001
}
fn default_boundary_radius() -> usize {
    1
}
fn default_bo_local_evaluations() -> usize {
    40
}
fn default_bo_local_step() -> f64 {
    0.005
}
fn default_bo_local_radius() -> f64 {
    0.05
}
fn default_bo_local_expand() -> f64 {
    1.0
}
fn default_pso_particles() -> usize {
    15
}
fn default_pso_iterations() -> usize {
    100
}
fn default_cv_folds() -> usize {
    5
}
fn default_block_size() -> usize {
    16
}
fn default_seed() -> u64 {
    2023
}

/// The local phase that ends a Bayesian calibration (`bo_local_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalMethod {
    /// Coordinate pattern search ([`CompassSearch`]) from the best point.
    #[default]
    Compass,
    /// Bayesian optimisation restricted to a box of half-width
    /// `bo_local_radius` around the best point, its surrogate fitted to every
    /// earlier evaluation inside the box re-smoothed at `bo_local_smoothing`
    /// (from the stored margins: nothing is evaluated again); the box
    /// follows the best point and halves after `d + 1` evaluations without
    /// improvement (a trust region in the manner of Eriksson et al. 2019,
    /// NeurIPS, TuRBO).
    TrustRegion,
    /// Cyclic coordinate line searches ([`LineSearch`]) from the best point,
    /// first step `bo_local_step`, clusters with the most cells first.
    Line,
    /// Margin-linearised coordinate search: along one coordinate at a time
    /// (clusters with the most cells first), one probe `bo_local_step` away
    /// from the best point gives every cell's margin slope; the margins
    /// extrapolated linearly along the coordinate predict the hard Kappa in
    /// every interval between two cells' class changes (for the frost number
    /// and TTOP the margins are linear in a cluster's parameter, so the
    /// prediction is exact), and the best predicted interval's midpoint is
    /// evaluated. Two evaluations per coordinate; once a full cycle improves
    /// nothing, the rest of the budget goes to the compass search.
    MarginLine,
}

/// Settings of [`run_survey_calibration`] (the `[survey]` table of an experiment file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    /// Folder with `investigation_map.tif`, `soil_cluster.tif`,
    /// `DDT_mean_annual.tif` and `DDF_mean_annual.tif`.
    pub data_dir: PathBuf,
    /// Output folder for the report and maps; nothing is written when absent.
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// Models to calibrate.
    #[serde(default = "default_models")]
    pub models: Vec<SurveyModel>,
    /// Optimisers to run.
    #[serde(default = "default_methods")]
    pub methods: Vec<SurveyMethod>,
    /// Search box of `E` (dimensionless).
    #[serde(default = "default_e_bounds")]
    pub e_bounds: (f64, f64),
    /// Search box of `rk` (dimensionless).
    #[serde(default = "default_rk_bounds")]
    pub rk_bounds: (f64, f64),
    /// Evaluation budget of the Bayesian optimiser.
    #[serde(default = "default_bo_evaluations")]
    pub bo_evaluations: usize,
    /// Points per Bayesian-optimisation iteration.
    #[serde(default = "default_bo_batch")]
    pub bo_batch: usize,
    /// Width `tau` of the logistic class boundary of the smoothed Kappa that the
    /// Bayesian optimiser's surrogate is fitted to (see [`SurveyProblem::soft_kappa`]);
    /// 0 fits the surrogate to the hard Kappa. The best parameters are always
    /// chosen, and reported, by the hard Kappa.
    #[serde(default = "default_bo_smoothing")]
    pub bo_smoothing: f64,
    /// When set, the smoothing width is annealed geometrically from
    /// `bo_smoothing` (first surrogate fit after the initial design) to this
    /// width (last Bayesian iteration); before every fit the smoothed Kappa of
    /// every earlier point is recomputed at the current width from its stored
    /// margins, so no point is evaluated again.
    #[serde(default)]
    pub bo_smoothing_final: Option<f64>,
    /// Size of the initial Latin-hypercube design of the Bayesian optimiser
    /// (default `max(2d + 1, 5)`, at most 20).
    #[serde(default)]
    pub bo_n_init: Option<usize>,
    /// Local phase at the end of the Bayesian calibration.
    #[serde(default)]
    pub bo_local_method: LocalMethod,
    /// Half-width (unit-cube coordinates) of the first trust region of the
    /// `trust_region` local phase.
    #[serde(default = "default_bo_local_radius")]
    pub bo_local_radius: f64,
    /// Weight `a` of the hard objective in the value told to the local phase,
    /// `1 - [a J + (1 - a) J_tau]` with `J_tau` the objective smoothed at
    /// `bo_local_smoothing`: with `a > 0` the local search follows the hard
    /// Kappa that is reported, the smoothed part ordering the points of one
    /// plateau. 0 (the default) tells the smoothed objective alone.
    #[serde(default)]
    pub bo_local_hard_weight: f64,
    /// Step expansion after a successful move of the `compass` local phase (>= 1).
    #[serde(default = "default_bo_local_expand")]
    pub bo_local_expand: f64,
    /// Width `tau` of the smoothed Kappa that the final compass search is
    /// told (see `bo_local_evaluations`); narrower than `bo_smoothing`, so that
    /// the search resolves the steps of the hard Kappa near the optimum.
    #[serde(default = "default_bo_local_smoothing")]
    pub bo_local_smoothing: f64,
    /// Evaluations, out of `bo_evaluations`, spent at the end on a compass
    /// search ([`CompassSearch`]) from the best point of the Bayesian phase,
    /// polling the clusters with the most calibration cells first; 0 runs
    /// plain BO.
    #[serde(default = "default_bo_local_evaluations")]
    pub bo_local_evaluations: usize,
    /// First step of that compass search, as a fraction of each parameter's range.
    #[serde(default = "default_bo_local_step")]
    pub bo_local_step: f64,
    /// Weight `w` of the boundary consistency in the objective
    /// `J = (1 - w) Kappa + w B` ([`ObjectiveConfig`]); 0 (the default) scores Kappa alone.
    #[serde(default)]
    pub boundary_weight: f64,
    /// Neighbourhood radius (cells) of the boundary consistency.
    #[serde(default = "default_boundary_radius")]
    pub boundary_radius: usize,
    /// Particles of the swarm.
    #[serde(default = "default_pso_particles")]
    pub pso_particles: usize,
    /// Swarm iterations after the initial generation.
    #[serde(default = "default_pso_iterations")]
    pub pso_iterations: usize,
    /// Spatial cross-validation folds; 0 skips cross-validation.
    #[serde(default = "default_cv_folds")]
    pub cv_folds: usize,
    /// Side of the square cross-validation blocks (cells).
    #[serde(default = "default_block_size")]
    pub block_size: usize,
    /// Base seed of every stochastic step.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl SurveyConfig {
    /// Defaults for the survey in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            output: None,
            models: default_models(),
            methods: default_methods(),
            e_bounds: default_e_bounds(),
            rk_bounds: default_rk_bounds(),
            bo_evaluations: default_bo_evaluations(),
            bo_batch: default_bo_batch(),
            bo_smoothing: default_bo_smoothing(),
            bo_smoothing_final: None,
            bo_n_init: None,
            bo_local_method: LocalMethod::default(),
            bo_local_radius: default_bo_local_radius(),
            bo_local_expand: default_bo_local_expand(),
            bo_local_hard_weight: 0.0,
            bo_local_smoothing: default_bo_local_smoothing(),
            bo_local_evaluations: default_bo_local_evaluations(),
            bo_local_step: default_bo_local_step(),
            boundary_weight: 0.0,
            boundary_radius: default_boundary_radius(),
            pso_particles: default_pso_particles(),
            pso_iterations: default_pso_iterations(),
            cv_folds: default_cv_folds(),
            block_size: default_block_size(),
            seed: default_seed(),
        }
    }

    /// Read the `[survey]` table of an experiment file; relative paths resolve
    /// against the file's folder.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: toml::Value =
            toml::from_str(&text).map_err(|e| Error::parse(path, None, e.to_string()))?;
        let table = value
            .get("survey")
            .ok_or_else(|| Error::config(path, "survey", "missing [survey] table"))?;
        let mut cfg: SurveyConfig = table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| Error::config(path, "survey", e.to_string()))?;
        // Paths resolve against the file; `@shared/...` points into the shared
        // data folder. Without `[survey] output`, the experiment's top-level
        // `output` is used.
        let resolve = |raw: &Path, key: &str| -> Result<PathBuf> {
            crate::config::paths::resolve(path, &raw.to_string_lossy())
                .map_err(|m| Error::config(path, key, m))
        };
        cfg.data_dir = resolve(&cfg.data_dir.clone(), "survey.data_dir")?;
        if cfg.output.is_none() {
            if let Some(o) = value.get("output").and_then(|v| v.as_str()) {
                cfg.output = Some(PathBuf::from(o));
            }
        }
        if let Some(o) = cfg.output.clone() {
            cfg.output = Some(resolve(&o, "output")?);
        }
        if let Some(seed) = value.get("seed").and_then(|v| v.as_integer()) {
            if table.get("seed").is_none() {
                cfg.seed = seed as u64;
            }
        }
        cfg.validate()
            .map_err(|e| Error::config(path, "survey", e.to_string()))?;
        Ok(cfg)
    }

    /// Check bounds, budgets and folds.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, message: String| Error::Parameter {
            name: name.into(),
            message,
        };
        for (name, (lo, hi)) in [("e_bounds", self.e_bounds), ("rk_bounds", self.rk_bounds)] {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi) {
                return Err(bad(
                    name,
                    format!("need 0 < lower < upper, got [{lo}, {hi}]"),
                ));
            }
        }
        if self.models.is_empty() || self.methods.is_empty() {
            return Err(bad(
                "models",
                "need at least one model and one method".into(),
            ));
        }
        if self.bo_evaluations < 2 || self.bo_batch == 0 {
            return Err(bad(
                "bo_evaluations",
                "need at least 2 evaluations and a batch of at least 1".into(),
            ));
        }
        if self.bo_local_evaluations > 0
            && self.bo_local_evaluations + 2 * self.bo_batch.max(1) > self.bo_evaluations
        {
            return Err(bad(
                "bo_local_evaluations",
                format!(
                    "{} local evaluations leave too few of bo_evaluations = {} for the Bayesian phase",
                    self.bo_local_evaluations, self.bo_evaluations
                ),
            ));
        }
        if !(self.bo_local_step.is_finite()
            && self.bo_local_step > 1e-3
            && self.bo_local_step <= 0.5)
        {
            return Err(bad(
                "bo_local_step",
                format!("must be in (0.001, 0.5], got {}", self.bo_local_step),
            ));
        }
        if !(self.bo_local_smoothing.is_finite() && self.bo_local_smoothing > 0.0) {
            return Err(bad(
                "bo_local_smoothing",
                format!("must be finite and > 0, got {}", self.bo_local_smoothing),
            ));
        }
        if !(self.bo_smoothing.is_finite() && self.bo_smoothing >= 0.0) {
            return Err(bad(
                "bo_smoothing",
                format!("must be finite and >= 0, got {}", self.bo_smoothing),
            ));
        }
        if let Some(t) = self.bo_smoothing_final {
            if !(t.is_finite() && t > 0.0 && self.bo_smoothing > 0.0) {
                return Err(bad(
                    "bo_smoothing_final",
                    format!(
                        "must be finite and > 0, with bo_smoothing > 0; got {t} and {}",
                        self.bo_smoothing
                    ),
                ));
            }
        }
        if let Some(n) = self.bo_n_init {
            if n < 2 || n + self.bo_local_evaluations > self.bo_evaluations {
                return Err(bad(
                    "bo_n_init",
                    format!(
                        "need 2 <= bo_n_init <= bo_evaluations - bo_local_evaluations = {}, got {n}",
                        self.bo_evaluations.saturating_sub(self.bo_local_evaluations)
                    ),
                ));
            }
        }
        if !(self.bo_local_radius.is_finite()
            && self.bo_local_radius > 0.0
            && self.bo_local_radius <= 0.5)
        {
            return Err(bad(
                "bo_local_radius",
                format!("must be in (0, 0.5], got {}", self.bo_local_radius),
            ));
        }
        if !(0.0..=1.0).contains(&self.bo_local_hard_weight) {
            return Err(bad(
                "bo_local_hard_weight",
                format!("must be in [0, 1], got {}", self.bo_local_hard_weight),
            ));
        }
        if !(self.bo_local_expand.is_finite() && self.bo_local_expand >= 1.0) {
            return Err(bad(
                "bo_local_expand",
                format!("must be >= 1, got {}", self.bo_local_expand),
            ));
        }
        if !((0.0..=1.0).contains(&self.boundary_weight)) || self.boundary_radius == 0 {
            return Err(bad(
                "boundary_weight",
                format!(
                    "need 0 <= boundary_weight <= 1 and boundary_radius >= 1, got {} and {}",
                    self.boundary_weight, self.boundary_radius
                ),
            ));
        }
        if self.pso_particles < 2 {
            return Err(bad("pso_particles", "need at least 2 particles".into()));
        }
        if self.cv_folds == 1 || self.block_size == 0 {
            return Err(bad(
                "cv_folds",
                "use 0 (no cross-validation) or at least 2 folds, with block_size >= 1".into(),
            ));
        }
        Ok(())
    }

    /// The objective settings.
    pub fn objective(&self) -> ObjectiveConfig {
        ObjectiveConfig {
            boundary_weight: self.boundary_weight,
            boundary_radius: self.boundary_radius,
        }
    }

    /// Search box of `model`'s parameter.
    pub fn bounds(&self, model: SurveyModel) -> (f64, f64) {
        match model {
            SurveyModel::FrostNumber => self.e_bounds,
            SurveyModel::Ttop => self.rk_bounds,
        }
    }
}

/// The survey rasters on one grid, reduced to the cells that can be scored.
#[derive(Clone, Debug)]
pub struct SurveyData {
    /// The grid of the rasters.
    pub grid: RasterGrid,
    /// Survey class per cell; `None` where the survey has no data.
    pub survey: Vec<Option<FrozenClass>>,
    /// Indices, dense cluster indices (1-based) and the mask of usable cells.
    pub inputs: FrostNumberGrid,
    /// The raster code of each dense cluster index (`cluster_codes[k]` is index `k + 1`).
    pub cluster_codes: Vec<u32>,
    /// Cells left out because an index or the cluster was nodata where the survey has data.
    pub left_out: usize,
}

fn read_band(path: &Path) -> Result<(RasterGrid, Vec<f64>)> {
    let r = read_geotiff_any(path)?;
    Ok((*r.grid(), r.to_f64_nan()))
}

impl SurveyData {
    /// Read the four rasters of `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let (grid, survey) = read_band(&dir.join("investigation_map.tif"))?;
        let mut rest = Vec::new();
        for name in [
            "soil_cluster.tif",
            "DDT_mean_annual.tif",
            "DDF_mean_annual.tif",
        ] {
            let (g, v) = read_band(&dir.join(name))?;
            if g.rows != grid.rows || g.cols != grid.cols {
                return Err(Error::Grid(format!(
                    "{}: {} x {} cells, investigation_map.tif has {} x {}",
                    dir.join(name).display(),
                    g.rows,
                    g.cols,
                    grid.rows,
                    grid.cols
                )));
            }
            grid.check_same(&g)
                .map_err(|e| Error::Grid(format!("{}: {e}", dir.join(name).display())))?;
            rest.push(v);
        }
        let ddf = rest.pop().unwrap_or_default();
        let ddt = rest.pop().unwrap_or_default();
        let cluster = rest.pop().unwrap_or_default();
        Self::from_rasters(grid, &survey, &cluster, &ddt, &ddf)
    }

    /// Build from flat rasters (row-major, NaN for nodata). Survey codes other than
    /// 1 and 2 are nodata; cluster codes must be positive integers.
    pub fn from_rasters(
        grid: RasterGrid,
        survey: &[f64],
        cluster: &[f64],
        ddt: &[f64],
        ddf: &[f64],
    ) -> Result<Self> {
        let n = grid.len();
        for (name, len) in [
            ("investigation_map", survey.len()),
            ("soil_cluster", cluster.len()),
            ("DDT", ddt.len()),
            ("DDF", ddf.len()),
        ] {
            if len != n {
                return Err(Error::Grid(format!(
                    "`{name}` has {len} cells, the grid has {n}"
                )));
            }
        }
        let survey: Vec<Option<FrozenClass>> = survey
            .iter()
            .map(|&v| {
                if v == 1.0 {
                    Some(FrozenClass::Permafrost)
                } else if v == 2.0 {
                    Some(FrozenClass::SeasonallyFrozen)
                } else {
                    None
                }
            })
            .collect();
        let mut codes: Vec<u32> = Vec::new();
        let mut valid = vec![false; n];
        let mut left_out = 0;
        for i in 0..n {
            if survey[i].is_none() {
                continue;
            }
            let c = cluster[i];
            if !(c.is_finite() && ddt[i].is_finite() && ddf[i].is_finite()) {
                left_out += 1;
                continue;
            }
            if c < 1.0 || c.fract() != 0.0 {
                return Err(Error::model(
                    Some(format!("{i}")),
                    format!("soil cluster code {c} is not a positive integer"),
                ));
            }
            for (name, v) in [("DDT", ddt[i]), ("DDF", ddf[i])] {
                if v < 0.0 {
                    return Err(Error::model(
                        Some(format!("{i}")),
                        format!("{name} = {v} degC day is negative"),
                    ));
                }
            }
            valid[i] = true;
            codes.push(c as u32);
        }
        codes.sort_unstable();
        codes.dedup();
        if codes.is_empty() {
            return Err(Error::Other(
                "no cell has survey data, indices and a soil cluster".into(),
            ));
        }
        let dense: Vec<Option<u32>> = (0..n)
            .map(|i| {
                if valid[i] {
                    codes
                        .binary_search(&(cluster[i] as u32))
                        .ok()
                        .map(|k| k as u32 + 1)
                } else {
                    None
                }
            })
            .collect();
        let inputs = FrostNumberGrid {
            ddt: ddt.to_vec(),
            ddf: ddf.to_vec(),
            cluster: dense,
            valid,
        };
        inputs.validate()?;
        Ok(Self {
            grid,
            survey,
            inputs,
            cluster_codes: codes,
            left_out,
        })
    }

    /// Number of scored cells.
    pub fn n_valid(&self) -> usize {
        self.inputs.valid.iter().filter(|&&v| v).count()
    }

    /// Indices of the scored cells.
    pub fn valid_cells(&self) -> Vec<usize> {
        (0..self.inputs.len())
            .filter(|&i| self.inputs.valid[i])
            .collect()
    }

    /// Number of clusters (parameters per model).
    pub fn n_clusters(&self) -> usize {
        self.cluster_codes.len()
    }
}

/// Kappa and overall accuracy of a two-class map on a set of cells.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapScore {
    /// Cohen's Kappa (unweighted).
    pub kappa: f64,
    /// Overall accuracy (fraction).
    pub oa: f64,
    /// Number of scored cells.
    pub n: u64,
}

/// Settings of the calibration objective.
///
/// The objective is `J = (1 - w) Kappa + w B`: Cohen's Kappa of the two-class
/// map against the survey, optionally weighted with the boundary consistency
/// `B` of [`SurveyProblem::boundary_consistency`] (`w = boundary_weight`,
/// neighbourhood `boundary_radius` cells). With `w = 0` (the default) the
/// objective is Kappa alone.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveConfig {
    /// Weight `w` of the boundary consistency, in [0, 1].
    pub boundary_weight: f64,
    /// Neighbourhood radius (cells, Chebyshev distance) within which a survey
    /// boundary cell counts as matched by a modelled one and vice versa (>= 1).
    pub boundary_radius: usize,
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        ObjectiveConfig {
            boundary_weight: 0.0,
            boundary_radius: 1,
        }
    }
}

/// The objective of one parameter set on a set of cells.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveValue {
    /// `J = (1 - w) Kappa + w B` (maximised).
    pub value: f64,
    /// Kappa and OA.
    pub score: MapScore,
    /// Boundary consistency `B` (computed only when `w > 0`).
    pub boundary: Option<f64>,
}

/// One [`MapModel`] scored against a survey: Kappa and OA of the class map,
/// the smoothed Kappa the Bayesian optimiser's surrogate sees, and the
/// boundary consistency.
pub struct SurveyProblem<'a> {
    data: &'a SurveyData,
    model: Box<dyn MapModel>,
    kind: SurveyModel,
}

impl<'a> SurveyProblem<'a> {
    /// `kind` on `data` with the default search box of its parameter.
    pub fn new(data: &'a SurveyData, kind: SurveyModel) -> Result<Self> {
        let bounds = match kind {
            SurveyModel::FrostNumber => default_e_bounds(),
            SurveyModel::Ttop => default_rk_bounds(),
        };
        Self::with_bounds(data, kind, bounds)
    }

    /// `kind` on `data` with the parameter searched within `bounds`.
    pub fn with_bounds(
        data: &'a SurveyData,
        kind: SurveyModel,
        bounds: (f64, f64),
    ) -> Result<Self> {
        let model: Box<dyn MapModel> = match kind {
            SurveyModel::FrostNumber => Box::new(FrostNumberMap::new(
                &data.inputs,
                &data.cluster_codes,
                bounds,
            )?),
            SurveyModel::Ttop => Box::new(TtopMap::new(&data.inputs, &data.cluster_codes, bounds)?),
        };
        Ok(Self { data, model, kind })
    }

    /// `kind` on `data` with the search box of `cfg`.
    pub fn from_config(
        data: &'a SurveyData,
        kind: SurveyModel,
        cfg: &SurveyConfig,
    ) -> Result<Self> {
        Self::with_bounds(data, kind, cfg.bounds(kind))
    }

    /// The model.
    pub fn model(&self) -> &dyn MapModel {
        self.model.as_ref()
    }

    /// Which model.
    pub fn kind(&self) -> SurveyModel {
        self.kind
    }

    /// Physical parameters at unit-cube point `u` (the model's search space).
    pub fn to_physical(&self, u: &[f64]) -> Vec<f64> {
        self.model
            .space()
            .dims
            .iter()
            .zip(u)
            .map(|(d, &v)| d.to_physical(v))
            .collect()
    }

    /// The modelled class map (None outside the scored cells).
    pub fn class_map(&self, params: &[f64]) -> Result<Vec<Option<FrozenClass>>> {
        self.model.class_map(params)
    }

    /// Parameter indices ordered by the number of `cells` in their soil
    /// cluster, largest first (ties by index): the order in which a local
    /// search polls them.
    pub fn influence_order(&self, cells: &[usize]) -> Vec<usize> {
        let k = self.data.n_clusters();
        let mut size = vec![0usize; k];
        for &i in cells {
            if let Some(c) = self.data.inputs.cluster[i] {
                if let Some(s) = size.get_mut(c as usize - 1) {
                    *s += 1;
                }
            }
        }
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by_key(|&j| std::cmp::Reverse(size[j]));
        order
    }

    /// The model's margin of each of `cells` under `params` (negative for permafrost).
    pub fn margins(&self, params: &[f64], cells: &[usize]) -> Result<Vec<f64>> {
        let mut m = vec![0.0; cells.len()];
        self.model.margins(params, cells, &mut m)?;
        Ok(m)
    }

    /// Hard Kappa of the two-class map given by `margins` (`margins[k]`
    /// belongs to `cells[k]`) against the survey.
    pub fn hard_kappa_of_margins(&self, margins: &[f64], cells: &[usize]) -> Result<f64> {
        Ok(self.score_margins(margins, cells)?.kappa)
    }

    /// Kappa and OA of the two-class map given by `margins` (`margins[k]`
    /// belongs to `cells[k]`) against the survey.
    fn score_margins(&self, margins: &[f64], cells: &[usize]) -> Result<MapScore> {
        if margins.len() != cells.len() {
            return Err(Error::Other(format!(
                "Kappa: {} margins for {} cells",
                margins.len(),
                cells.len()
            )));
        }
        let mut cm = ConfusionMatrix::new(&[1, 2])?;
        for (&i, &v) in cells.iter().zip(margins) {
            if let Some(r) = self.data.survey[i] {
                cm.add(r.code() as i64, class_from_margin(v).code() as i64);
            }
        }
        score_matrix(&cm)
    }

    /// Kappa and OA of the model with `params` on `cells`.
    pub fn score(&self, params: &[f64], cells: &[usize]) -> Result<MapScore> {
        let m = self.margins(params, cells)?;
        self.score_margins(&m, cells)
    }

    /// Smoothed Kappa on `cells`: each cell counts as permafrost with probability
    /// `1 / (1 + exp(m / (tau s)))`, with `m` the model's margin and `s` its
    /// [`MapModel::boundary_scale`] (a logistic class boundary of relative
    /// width `tau`; for the frost number `m = F - 1`, `s = 1`), and Kappa is
    /// computed from the expected confusion matrix, `po = (n11 + n22) / n`,
    /// `pe = sum_k row_k col_k / n^2`. It tends to the hard Kappa as
    /// `tau -> 0` and, unlike it, changes continuously with the parameters,
    /// which suits a Gaussian-process surrogate.
    pub fn soft_kappa(&self, params: &[f64], cells: &[usize], tau: f64) -> Result<f64> {
        if !(tau.is_finite() && tau > 0.0) {
            return Err(Error::Parameter {
                name: "bo_smoothing".into(),
                message: format!("must be finite and > 0, got {tau}"),
            });
        }
        let m = self.margins(params, cells)?;
        self.soft_kappa_of_margins(&m, cells, tau)
    }

    /// [`SurveyProblem::soft_kappa`] from margins already computed
    /// (`margins[k]` belongs to `cells[k]`), e.g. stored with an earlier
    /// evaluation and re-smoothed at another width.
    pub fn soft_kappa_of_margins(&self, margins: &[f64], cells: &[usize], tau: f64) -> Result<f64> {
        if !(tau.is_finite() && tau > 0.0) {
            return Err(Error::Parameter {
                name: "bo_smoothing".into(),
                message: format!("must be finite and > 0, got {tau}"),
            });
        }
        if margins.len() != cells.len() {
            return Err(Error::Other(format!(
                "soft Kappa: {} margins for {} cells",
                margins.len(),
                cells.len()
            )));
        }
        let mut n = [[0.0f64; 2]; 2];
        for (&i, &v) in cells.iter().zip(margins) {
            let Some(r) = self.data.survey[i] else {
                continue;
            };
            let p = 1.0 / (1.0 + (v / (tau * self.model.boundary_scale(i))).exp());
            let row = (r.code() - 1) as usize;
            n[row][0] += p;
            n[row][1] += 1.0 - p;
        }
        let total = n[0][0] + n[0][1] + n[1][0] + n[1][1];
        if total <= 0.0 {
            return Err(Error::Other("soft Kappa: no cell scored".into()));
        }
        let po = (n[0][0] + n[1][1]) / total;
        let pe = ((n[0][0] + n[0][1]) * (n[0][0] + n[1][0])
            + (n[1][0] + n[1][1]) * (n[0][1] + n[1][1]))
            / (total * total);
        Ok(if pe >= 1.0 {
            1.0
        } else {
            (po - pe) / (1.0 - pe)
        })
    }

    /// Boundary consistency `B` in [0, 1] of the modelled map against the
    /// survey on `cells` (calimap's definition). A boundary cell of a map is a
    /// cell of `cells` with one of its 8 neighbours in `cells` of the other
    /// class. With `S` the survey's and `M` the model's boundary cells,
    /// recall `R = |S within radius of M| / |S|`, precision
    /// `P = |M within radius of S| / |M|` (Chebyshev distance `radius`), and
    /// `B = 2 P R / (P + R)`, the F-score of boundary matching used for
    /// segmentation contours (Martin et al. 2004, IEEE TPAMI 26:530). `B = 1`
    /// when neither map has a boundary, 0 when only one has.
    pub fn boundary_consistency(
        &self,
        params: &[f64],
        cells: &[usize],
        radius: usize,
    ) -> Result<f64> {
        if radius == 0 {
            return Err(Error::Parameter {
                name: "boundary_radius".into(),
                message: "must be at least 1 cell".into(),
            });
        }
        let m = self.margins(params, cells)?;
        let n = self.data.inputs.len();
        let (rows, cols) = (self.data.grid.rows, self.data.grid.cols);
        let mut sim: Vec<Option<u8>> = vec![None; n];
        let mut obs: Vec<Option<u8>> = vec![None; n];
        for (&i, &v) in cells.iter().zip(&m) {
            if let Some(r) = self.data.survey[i] {
                sim[i] = Some(class_from_margin(v).code());
                obs[i] = Some(r.code());
            }
        }
        let edges = |map: &[Option<u8>]| -> Vec<bool> {
            let mut out = vec![false; n];
            for r in 0..rows {
                for c in 0..cols {
                    let Some(me) = map[r * cols + c] else {
                        continue;
                    };
                    let (r0, r1) = (r.saturating_sub(1), (r + 1).min(rows - 1));
                    let (c0, c1) = (c.saturating_sub(1), (c + 1).min(cols - 1));
                    out[r * cols + c] = (r0..=r1).any(|y| {
                        (c0..=c1).any(|x| matches!(map[y * cols + x], Some(o) if o != me))
                    });
                }
            }
            out
        };
        let (s, b) = (edges(&obs), edges(&sim));
        let (ns, nm) = (
            s.iter().filter(|&&v| v).count(),
            b.iter().filter(|&&v| v).count(),
        );
        if ns == 0 || nm == 0 {
            return Ok(if ns == nm { 1.0 } else { 0.0 });
        }
        let (ds, dm) = (
            dilate(&s, cols, rows, radius)?,
            dilate(&b, cols, rows, radius)?,
        );
        let recall = s.iter().zip(&dm).filter(|(a, b)| **a && **b).count() as f64 / ns as f64;
        let precision = b.iter().zip(&ds).filter(|(a, b)| **a && **b).count() as f64 / nm as f64;
        Ok(if recall + precision > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        })
    }

    /// The objective `J` of `params` on `cells` (see [`ObjectiveConfig`]).
    pub fn objective(
        &self,
        params: &[f64],
        cells: &[usize],
        cfg: &ObjectiveConfig,
    ) -> Result<ObjectiveValue> {
        let score = self.score(params, cells)?;
        if cfg.boundary_weight > 0.0 {
            let b = self.boundary_consistency(params, cells, cfg.boundary_radius)?;
            Ok(ObjectiveValue {
                value: (1.0 - cfg.boundary_weight) * score.kappa + cfg.boundary_weight * b,
                score,
                boundary: Some(b),
            })
        } else {
            Ok(ObjectiveValue {
                value: score.kappa,
                score,
                boundary: None,
            })
        }
    }
}

fn score_matrix(cm: &ConfusionMatrix) -> Result<MapScore> {
    let s = cm.score(KappaWeights::None)?;
    Ok(MapScore {
        kappa: s.kappa,
        oa: s.overall_accuracy,
        n: s.n,
    })
}

/// Score a class map against the survey on the scored cells (None cells are skipped).
pub fn score_map(data: &SurveyData, map: &[Option<FrozenClass>]) -> Result<MapScore> {
    if map.len() != data.survey.len() {
        return Err(Error::Grid(format!(
            "map has {} cells, the survey {}",
            map.len(),
            data.survey.len()
        )));
    }
    let mut cm = ConfusionMatrix::new(&[1, 2])?;
    for (i, m) in map.iter().enumerate() {
        if let (Some(r), Some(s)) = (data.survey[i], *m) {
            if data.inputs.valid[i] {
                cm.add(r.code() as i64, s.code() as i64);
            }
        }
    }
    score_matrix(&cm)
}

/// Spatial folds: cells grouped in `block` x `block` squares, blocks dealt to
/// `k` folds after a seeded shuffle. Returns the fold of each scored cell
/// (`None` for cells that are not scored).
pub fn spatial_block_folds(
    data: &SurveyData,
    k: usize,
    block: usize,
    seed: u64,
) -> Result<Vec<Option<usize>>> {
    if k < 2 || block == 0 {
        return Err(Error::Parameter {
            name: "cv_folds".into(),
            message: format!("need k >= 2 folds and block >= 1 cell, got {k}, {block}"),
        });
    }
    let cols = data.grid.cols;
    let block_cols = cols.div_ceil(block);
    let block_of = |i: usize| (i / cols / block) * block_cols + (i % cols) / block;
    let mut blocks: Vec<usize> = data.valid_cells().into_iter().map(block_of).collect();
    blocks.sort_unstable();
    blocks.dedup();
    if blocks.len() < k {
        return Err(Error::Parameter {
            name: "cv_folds".into(),
            message: format!(
                "{} blocks of {block} x {block} cells hold survey data: fewer than {k} folds",
                blocks.len()
            ),
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    blocks.shuffle(&mut rng);
    let mut fold_of_block = std::collections::HashMap::new();
    for (pos, b) in blocks.iter().enumerate() {
        fold_of_block.insert(*b, pos % k);
    }
    Ok((0..data.inputs.len())
        .map(|i| {
            if data.inputs.valid[i] {
                fold_of_block.get(&block_of(i)).copied()
            } else {
                None
            }
        })
        .collect())
}

/// Outcome of one optimisation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    /// Model.
    pub model: SurveyModel,
    /// Optimiser.
    pub method: SurveyMethod,
    /// Best parameters, one per cluster in the order of `cluster_codes`.
    pub params: Vec<f64>,
    /// Objective evaluations made.
    pub evaluations: usize,
    /// Evaluation (1-based) at which the best value was first reached.
    pub best_at: usize,
    /// Score of the best parameters on the calibration cells.
    pub train: MapScore,
    /// Objective `J` of the best parameters (Kappa when the boundary weight is 0).
    pub objective: f64,
    /// Boundary consistency of the best parameters (when the objective uses it).
    pub boundary: Option<f64>,
    /// Best-so-far objective after each evaluation.
    pub trace: Vec<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Minimise `1 - Kappa` of `problem` on `cells` with `method`; penalised value 2
/// for parameter sets that cannot be evaluated. The particle swarm is told the
/// hard Kappa (as in the published setup); the Bayesian optimiser is told the
/// smoothed Kappa when `cfg.bo_smoothing > 0`. Every evaluation also computes
/// the hard Kappa, which alone selects the best parameters.
pub fn calibrate(
    problem: &SurveyProblem<'_>,
    cells: &[usize],
    method: SurveyMethod,
    cfg: &SurveyConfig,
    seed: u64,
) -> Result<Calibration> {
    cfg.validate()?;
    let dim = problem.model.space().dim();
    let objective = cfg.objective();
    let start = Instant::now();
    let mut run = Run {
        problem,
        cells,
        w: objective.boundary_weight,
        objective,
        keep_margins: method == SurveyMethod::BayesOpt,
        best: Best::default(),
        trace: Vec::new(),
        records: Vec::new(),
    };
    match method {
        SurveyMethod::ParticleSwarm => {
            let budget = cfg.pso_particles * (cfg.pso_iterations + 1);
            let mut opt = ParticleSwarm::new(dim, cfg.pso_particles, seed)?;
            while run.trace.len() < budget {
                let xs = opt.ask(cfg.pso_particles.min(budget - run.trace.len()))?;
                let ys: Vec<f64> = xs.iter().map(|u| run.evaluate(u, 0.0)).collect();
                opt.tell(&xs, &ys)?;
            }
        }
        SurveyMethod::BayesOpt => bayes_then_local(&mut run, cfg, dim, seed)?,
    }
    let Run {
        best, mut trace, ..
    } = run;
    let n = trace.len();
    let result = problem.objective(&best.x, cells, &objective)?;
    trace.shrink_to_fit();
    Ok(Calibration {
        model: problem.kind,
        method,
        params: best.x,
        evaluations: n,
        best_at: best.at,
        train: result.score,
        objective: result.value,
        boundary: result.boundary,
        trace,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The Bayesian calibration: `bo_evaluations - bo_local_evaluations`
/// evaluations of Bayesian optimisation on the smoothed objective (its width
/// annealed when `bo_smoothing_final` is set), then the local phase.
fn bayes_then_local(
    run: &mut Run<'_, '_>,
    cfg: &SurveyConfig,
    dim: usize,
    seed: u64,
) -> Result<()> {
    let budget = cfg.bo_evaluations;
    let global_budget = budget - cfg.bo_local_evaluations;
    let q = cfg.bo_batch;
    let mut bo = BayesOpt::new(
        dim,
        seed,
        BoConfig {
            n_init: cfg.bo_n_init,
            ..BoConfig::default()
        },
    )?;
    let n_init = bo.n_init();
    // Width of the smoothed Kappa told when `n` evaluations are done:
    // geometric from `bo_smoothing` at the first surrogate fit to
    // `bo_smoothing_final` at the last Bayesian iteration.
    let width = |n: usize| -> f64 {
        match cfg.bo_smoothing_final {
            Some(t1) if global_budget > n_init + 1 => {
                let frac = (n.saturating_sub(n_init) as f64 / (global_budget - 1 - n_init) as f64)
                    .clamp(0.0, 1.0);
                cfg.bo_smoothing * (t1 / cfg.bo_smoothing).powf(frac)
            }
            _ => cfg.bo_smoothing,
        }
    };
    while run.trace.len() < global_budget {
        let tau = width(run.trace.len());
        if cfg.bo_smoothing_final.is_some() && run.trace.len() >= n_init {
            // Re-smooth every earlier point at the current width from its
            // stored margins before the surrogate is fitted.
            let ys: Vec<f64> = run.records.iter().map(|r| run.told(r, tau)).collect();
            bo.retell(&ys)?;
        }
        let xs = bo.ask(q.min(global_budget - run.trace.len()))?;
        let ys: Vec<f64> = xs.iter().map(|u| run.evaluate(u, tau)).collect();
        bo.tell(&xs, &ys)?;
    }
    if run.trace.len() >= budget || run.best.u.is_empty() {
        return Ok(());
    }
    let tau = cfg.bo_local_smoothing;
    let mix = cfg.bo_local_hard_weight;
    match cfg.bo_local_method {
        LocalMethod::Compass => compass_phase(run, cfg, budget, q, tau, mix)?,
        LocalMethod::MarginLine => {
            margin_line_search(run, cfg, dim, budget, tau)?;
            if run.trace.len() < budget {
                compass_phase(run, cfg, budget, q, tau, mix)?;
            }
        }
        LocalMethod::Line => {
            let order = run.problem.influence_order(run.cells);
            let f0 = run.told_mixed(&run.records[run.best.at - 1], tau, mix);
            let mut local = LineSearch::new(
                run.best.u.clone(),
                f0,
                LineConfig {
                    initial_step: cfg.bo_local_step,
                    min_step: 1e-4,
                    max_per_line: 6,
                },
            )?
            .with_order(order)?;
            while run.trace.len() < budget {
                let xs = local.ask(1)?;
                let ys: Vec<f64> = xs.iter().map(|u| run.evaluate_mixed(u, tau, mix)).collect();
                local.tell(&xs, &ys)?;
            }
        }
        LocalMethod::TrustRegion => {
            let mut radius = cfg.bo_local_radius;
            let mut rebuilds = 0u64;
            let mut region = TrustRegion::around(run, radius, tau, mix, mix_seed(seed, 0x7472))?;
            let mut fails = 0;
            while run.trace.len() < budget {
                let at = run.best.at;
                let xs = region.bo.ask(q.min(budget - run.trace.len()))?;
                let ys: Vec<f64> = xs
                    .iter()
                    .map(|v| run.evaluate_mixed(&region.to_unit(v), tau, mix))
                    .collect();
                region.bo.tell(&xs, &ys)?;
                if run.best.at != at {
                    fails = 0;
                } else {
                    fails += xs.len();
                    if fails > dim {
                        radius = (0.5 * radius).max(1e-3);
                        fails = 0;
                    } else {
                        continue;
                    }
                }
                // The region follows the best point (and its new radius).
                rebuilds += 1;
                region =
                    TrustRegion::around(run, radius, tau, mix, mix_seed(seed, 0x7472 + rebuilds))?;
            }
        }
    }
    Ok(())
}

/// A compass search from the best point so far on the smoothed objective of
/// width `tau` until `budget` evaluations are done; the centre's value at
/// that width comes from its stored margins.
fn compass_phase(
    run: &mut Run<'_, '_>,
    cfg: &SurveyConfig,
    budget: usize,
    q: usize,
    tau: f64,
    mix: f64,
) -> Result<()> {
    let order = run.problem.influence_order(run.cells);
    let centre = run.best.u.clone();
    let f0 = run.told_mixed(&run.records[run.best.at - 1], tau, mix);
    let mut local = CompassSearch::new(
        centre,
        f0,
        CompassConfig {
            initial_step: cfg.bo_local_step,
            min_step: 1e-4,
            expand: cfg.bo_local_expand,
        },
    )?
    .with_order(order)?;
    while run.trace.len() < budget {
        let xs = local.ask(q.min(budget - run.trace.len()))?;
        let ys: Vec<f64> = xs.iter().map(|u| run.evaluate_mixed(u, tau, mix)).collect();
        local.tell(&xs, &ys)?;
    }
    Ok(())
}

/// [`LocalMethod::MarginLine`]: cyclic margin-linearised coordinate moves
/// from the best point until `budget` evaluations are done or a full cycle
/// over the coordinates improves nothing.
fn margin_line_search(
    run: &mut Run<'_, '_>,
    cfg: &SurveyConfig,
    dim: usize,
    budget: usize,
    tau: f64,
) -> Result<()> {
    let order = run.problem.influence_order(run.cells);
    let h = cfg.bo_local_step;
    let mut stale = 0usize;
    let mut k = 0usize;
    while run.trace.len() + 2 <= budget && stale < dim {
        let j = order[k % order.len()];
        k += 1;
        let base = &run.records[run.best.at - 1];
        let (u0, Some(m0)) = (base.u.clone(), base.margins.clone()) else {
            return Ok(());
        };
        let kappa0 = 1.0 - run.best.y;
        let mut up = u0.clone();
        up[j] = if u0[j] + h <= 1.0 {
            u0[j] + h
        } else {
            u0[j] - h
        };
        let dx = up[j] - u0[j];
        run.evaluate(&up, tau);
        let Some(m1) = run.records.last().and_then(|r| r.margins.clone()) else {
            stale += 1;
            continue;
        };
        let slope: Vec<f64> = m0.iter().zip(&m1).map(|(a, b)| (b - a) / dx).collect();
        // Where each moving cell changes class along the coordinate.
        let mut breaks: Vec<f64> = m0
            .iter()
            .zip(&slope)
            .filter(|(_, &s)| s != 0.0)
            .map(|(&m, &s)| u0[j] - m / s)
            .filter(|t| *t > 0.0 && *t < 1.0)
            .collect();
        breaks.sort_by(f64::total_cmp);
        breaks.dedup();
        let mut candidates = Vec::with_capacity(breaks.len() + 1);
        let mut lo = 0.0;
        for &b in breaks.iter().chain(std::iter::once(&1.0)) {
            if b > lo {
                candidates.push(0.5 * (lo + b));
            }
            lo = b;
        }
        let mut pred = vec![0.0; m0.len()];
        let mut best_t = None;
        let mut best_k = kappa0;
        for &t in &candidates {
            for ((p, &m), &s) in pred.iter_mut().zip(&m0).zip(&slope) {
                *p = m + s * (t - u0[j]);
            }
            let kp = run.problem.hard_kappa_of_margins(&pred, run.cells)?;
            if kp > best_k + 1e-12 {
                best_k = kp;
                best_t = Some(t);
            }
        }
        let before = run.best.y;
        if let Some(t) = best_t {
            let mut u = u0.clone();
            u[j] = t;
            run.evaluate(&u, tau);
        }
        if run.best.y < before {
            stale = 0;
        } else {
            stale += 1;
        }
    }
    Ok(())
}

/// A Bayesian optimiser on a box around the best point of a run, in the
/// box's own unit coordinates, told every earlier evaluation inside the box.
struct TrustRegion {
    bo: BayesOpt,
    lo: Vec<f64>,
    width: Vec<f64>,
}

impl TrustRegion {
    fn around(run: &Run<'_, '_>, radius: f64, tau: f64, mix: f64, seed: u64) -> Result<Self> {
        let c = &run.best.u;
        let lo: Vec<f64> = c.iter().map(|&v| (v - radius).max(0.0)).collect();
        let hi: Vec<f64> = c.iter().map(|&v| (v + radius).min(1.0)).collect();
        let width: Vec<f64> = lo
            .iter()
            .zip(&hi)
            .map(|(a, b)| (b - a).max(1e-12))
            .collect();
        let mut bo = BayesOpt::new(
            c.len(),
            seed,
            BoConfig {
                n_init: Some(2),
                ..BoConfig::default()
            },
        )?;
        bo.skip_initial_design();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for r in &run.records {
            if r.u
                .iter()
                .zip(lo.iter().zip(&hi))
                .all(|(v, (a, b))| a <= v && v <= b)
            {
                xs.push(
                    r.u.iter()
                        .zip(lo.iter().zip(&width))
                        .map(|(v, (a, w))| ((v - a) / w).clamp(0.0, 1.0))
                        .collect(),
                );
                ys.push(run.told_mixed(r, tau, mix));
            }
        }
        if !xs.is_empty() {
            bo.tell(&xs, &ys)?;
        }
        Ok(TrustRegion { bo, lo, width })
    }

    fn to_unit(&self, v: &[f64]) -> Vec<f64> {
        v.iter()
            .zip(self.lo.iter().zip(&self.width))
            .map(|(x, (a, w))| (a + x * w).clamp(0.0, 1.0))
            .collect()
    }
}

/// One evaluation of a calibration, kept so that its smoothed objective can
/// be recomputed at another width without evaluating the model again.
struct Record {
    /// Unit-cube point.
    u: Vec<f64>,
    /// `1 - J` of the hard objective (2 when the evaluation failed).
    y: f64,
    /// The model's margins on the calibration cells (kept for the Bayesian
    /// optimiser only).
    margins: Option<Vec<f64>>,
    /// Boundary consistency (when the objective uses it).
    boundary: Option<f64>,
}

/// The state of one calibration: the problem, the best point, the
/// best-so-far trace and the record of every evaluation.
struct Run<'p, 'd> {
    problem: &'p SurveyProblem<'d>,
    cells: &'p [usize],
    objective: ObjectiveConfig,
    w: f64,
    keep_margins: bool,
    best: Best,
    trace: Vec<f64>,
    records: Vec<Record>,
}

impl Run<'_, '_> {
    /// The value told to an optimiser for `r`: `1 - J`, with Kappa replaced
    /// by the smoothed Kappa of width `tau` when `tau > 0` (the boundary term
    /// is unchanged); 2 for a failed evaluation.
    fn told(&self, r: &Record, tau: f64) -> f64 {
        if r.y >= 2.0 || tau <= 0.0 {
            return r.y;
        }
        let Some(m) = &r.margins else { return r.y };
        match self.problem.soft_kappa_of_margins(m, self.cells, tau) {
            Ok(k) if k.is_finite() => {
                1.0 - ((1.0 - self.w) * k + self.w * r.boundary.unwrap_or(0.0))
            }
            _ => 2.0,
        }
    }

    /// [`Run::told`] mixed with the hard value: `a y + (1 - a) told(tau)`.
    fn told_mixed(&self, r: &Record, tau: f64, a: f64) -> f64 {
        if a <= 0.0 {
            self.told(r, tau)
        } else {
            a * r.y + (1.0 - a) * self.told(r, tau)
        }
    }

    /// [`Run::evaluate`] returning [`Run::told_mixed`].
    fn evaluate_mixed(&mut self, u: &[f64], tau: f64, a: f64) -> f64 {
        self.evaluate(u, tau);
        match self.records.last() {
            Some(r) => self.told_mixed(r, tau, a),
            None => 2.0,
        }
    }

    /// Evaluate unit-cube point `u`: the hard objective selects the best
    /// point and extends the trace; returns the value told at width `tau`.
    fn evaluate(&mut self, u: &[f64], tau: f64) -> f64 {
        let x = self.problem.to_physical(u);
        let hard = self.problem.objective(&x, self.cells, &self.objective);
        let (y, boundary) = match &hard {
            Ok(v) if v.value.is_finite() => (1.0 - v.value, v.boundary),
            _ => (2.0, None),
        };
        let margins = if self.keep_margins && y < 2.0 {
            self.problem.margins(&x, self.cells).ok()
        } else {
            None
        };
        self.best.offer(u, x, y, self.trace.len() + 1);
        self.trace.push(1.0 - self.best.y);
        let r = Record {
            u: u.to_vec(),
            y: if y < 2.0 && self.keep_margins && margins.is_none() {
                2.0
            } else {
                y
            },
            margins,
            boundary,
        };
        let told = self.told(&r, tau);
        self.records.push(r);
        told
    }
}

/// Best point so far of a calibration (by the objective, not the told value).
struct Best {
    u: Vec<f64>,
    x: Vec<f64>,
    y: f64,
    at: usize,
}

impl Default for Best {
    fn default() -> Self {
        Best {
            u: Vec::new(),
            x: Vec::new(),
            y: f64::INFINITY,
            at: 0,
        }
    }
}

impl Best {
    fn offer(&mut self, u: &[f64], x: Vec<f64>, y: f64, at: usize) {
        if y < self.y {
            self.u = u.to_vec();
            self.x = x;
            self.y = y;
            self.at = at;
        }
    }
}

/// One fold of a cross-validated calibration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldResult {
    /// Fold index (0-based).
    pub fold: usize,
    /// The calibration on the other folds.
    pub calibration: Calibration,
    /// Score on the held-out fold.
    pub test: MapScore,
}

/// A spatially cross-validated calibration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Model.
    pub model: SurveyModel,
    /// Optimiser.
    pub method: SurveyMethod,
    /// Per-fold results.
    pub folds: Vec<FoldResult>,
    /// Mean held-out Kappa over folds.
    pub mean_test_kappa: f64,
    /// Mean held-out OA over folds.
    pub mean_test_oa: f64,
    /// Score of the pooled held-out predictions (every cell predicted by the
    /// parameters calibrated without its fold).
    pub pooled_test: MapScore,
}

/// Everything [`run_survey_calibration`] measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SurveyReport {
    /// The configuration that was run.
    pub config: SurveyConfig,
    /// Scored cells.
    pub n_cells: usize,
    /// Survey cells left out for nodata indices or cluster.
    pub left_out: usize,
    /// Raster code per calibrated cluster.
    pub cluster_codes: Vec<u32>,
    /// Frost number with `E = 1` everywhere on all scored cells.
    pub uniform_e1: MapScore,
    /// Calibrations on all scored cells.
    pub calibrations: Vec<Calibration>,
    /// Spatially cross-validated calibrations (empty when `cv_folds = 0`).
    pub cross_validation: Vec<CrossValidation>,
}

/// Cross-validate one model and method over spatial folds.
pub fn cross_validate(
    data: &SurveyData,
    model: SurveyModel,
    method: SurveyMethod,
    cfg: &SurveyConfig,
) -> Result<CrossValidation> {
    let problem = SurveyProblem::from_config(data, model, cfg)?;
    let folds = spatial_block_folds(data, cfg.cv_folds, cfg.block_size, cfg.seed)?;
    let mut pooled: Vec<Option<FrozenClass>> = vec![None; data.inputs.len()];
    let mut out = Vec::with_capacity(cfg.cv_folds);
    for f in 0..cfg.cv_folds {
        let train: Vec<usize> = (0..folds.len())
            .filter(|&i| folds[i].is_some_and(|g| g != f))
            .collect();
        let test: Vec<usize> = (0..folds.len()).filter(|&i| folds[i] == Some(f)).collect();
        let seed = mix_seed(cfg.seed, 1 + f as u64);
        let calibration = calibrate(&problem, &train, method, cfg, seed)?;
        let test_score = problem.score(&calibration.params, &test)?;
        let map = problem.class_map(&calibration.params)?;
        for &i in &test {
            pooled[i] = map[i];
        }
        out.push(FoldResult {
            fold: f,
            calibration,
            test: test_score,
        });
    }
    let k = out.len() as f64;
    Ok(CrossValidation {
        model,
        method,
        mean_test_kappa: out.iter().map(|r| r.test.kappa).sum::<f64>() / k,
        mean_test_oa: out.iter().map(|r| r.test.oa).sum::<f64>() / k,
        folds: out,
        pooled_test: score_map(data, &pooled)?,
    })
}

/// Calibrate every configured model with every configured optimiser on the whole
/// survey and, when `cv_folds >= 2`, with spatial block cross-validation. Writes
/// `report.json` and one GeoTIFF class map per full calibration to `cfg.output`
/// (atomically) when set.
pub fn run_survey_calibration(cfg: &SurveyConfig) -> Result<SurveyReport> {
    cfg.validate()?;
    let data = SurveyData::load(&cfg.data_dir)?;
    run_survey_calibration_on(&data, cfg)
}

/// [`run_survey_calibration`] on data already loaded.
pub fn run_survey_calibration_on(data: &SurveyData, cfg: &SurveyConfig) -> Result<SurveyReport> {
    cfg.validate()?;
    let all = data.valid_cells();
    let fn_problem = SurveyProblem::new(data, SurveyModel::FrostNumber)?;
    let uniform_e1 = fn_problem.score(&vec![1.0; data.n_clusters()], &all)?;
    let mut calibrations = Vec::new();
    for (m, &model) in cfg.models.iter().enumerate() {
        let problem = SurveyProblem::from_config(data, model, cfg)?;
        for (k, &method) in cfg.methods.iter().enumerate() {
            let seed = mix_seed(cfg.seed, 1000 + (m * 10 + k) as u64);
            calibrations.push(calibrate(&problem, &all, method, cfg, seed)?);
        }
    }
    let mut cross_validation = Vec::new();
    if cfg.cv_folds >= 2 {
        for &model in &cfg.models {
            for &method in &cfg.methods {
                cross_validation.push(cross_validate(data, model, method, cfg)?);
            }
        }
    }
    let report = SurveyReport {
        config: cfg.clone(),
        n_cells: all.len(),
        left_out: data.left_out,
        cluster_codes: data.cluster_codes.clone(),
        uniform_e1,
        calibrations,
        cross_validation,
    };
    if let Some(dir) = &cfg.output {
        write_outputs(data, &report, dir)?;
    }
    Ok(report)
}

fn method_name(m: SurveyMethod) -> &'static str {
    match m {
        SurveyMethod::BayesOpt => "bo",
        SurveyMethod::ParticleSwarm => "pso",
    }
}

fn model_name(m: SurveyModel) -> &'static str {
    match m {
        SurveyModel::FrostNumber => "frost_number",
        SurveyModel::Ttop => "ttop",
    }
}

/// Write `report.json` and the class maps (u8: 1 permafrost, 2 seasonally frozen,
/// 3 nodata) of the full calibrations to `dir`, each file atomically.
pub fn write_outputs(data: &SurveyData, report: &SurveyReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::Other(format!("cannot serialise the survey report: {e}")))?;
    crate::io::write_bytes_atomic(dir.join("report.json"), &json)?;
    for c in &report.calibrations {
        let problem = SurveyProblem::new(data, c.model)?;
        let map = problem.class_map(&c.params)?;
        let codes: Vec<u8> = map
            .iter()
            .map(|v| v.map(|k| k.code()).unwrap_or(3))
            .collect();
        let raster = Raster::new(data.grid, codes, Some(3))?;
        let name = format!("{}_{}_map.tif", model_name(c.model), method_name(c.method));
        write_geotiff(dir.join(name), &raster)?;
    }
    Ok(())
}
