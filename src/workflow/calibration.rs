//! The CaliMAP calibration of the column model over a gridded domain
//! (`kind = "calibration"`).
//!
//! Recipe of [`run_calibration`]:
//! 1. open the domain, the reference class map and the parameter registry;
//!    make the demo reference from hidden parameters if it is missing and the
//!    experiment asks for it ([`super::demo_truth`]); write the manifest;
//! 2. run the registry defaults on every land cell: the default class map of
//!    the target year and its disagreement with the reference (the sensitive
//!    region, widened by `neighbourhood` cells, or every cell for `region = "all"`);
//! 3. calibrate: the default point is evaluation 0, then the optimiser proposes
//!    batches of q candidates; each batch runs all its candidates on the
//!    region's cells in one parallel domain run ([`MapKappa`]); every evaluation
//!    is appended to `evaluations.csv` (fsynced, resumable);
//! 4. rank, write the best parameters (`best.toml`, `best_overrides.toml`),
//!    the top-K table and members (`top/member<k>.toml`), the convergence plot;
//! 5. run the best set on every land cell and write the reference, default and
//!    best maps and their differences (GeoTIFF and PNG), the cells' permafrost
//!    margins under both sets (`margin_default_<year>.tif`, `margin_best_<year>.tif`,
//!    C, <= 0 permafrost) and `summary.json`;
//! 6. with `[ensemble]`, run the top-K hindcast (`ensemble/`);
//! 7. with `[validation]`, validate the ensemble members and mean (or the best
//!    set) against boreholes ([`super::validation::validate_calibration`]).
//!
//! Parameter sets are written for the model as flat override files
//! ([`write_parameter_set`] / [`read_parameter_set`]): `[values]` maps
//! `ColumnConfig::set` keys to values, with class-qualified keys
//! `soil.<field>[k]` (layers of soil class k) and `<key>[k]` for other keys
//! (`veg.rsmin[7]`, `max_snow_albedo[7]`: columns of vegetation class k); [`overrides_for_column`] keeps what applies to one
//! column. The domain runner applies that filter per cell, so such a file is a
//! member of any domain run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::domain::{CellStats, DomainSetup, Overrides};
use crate::calibrate::local::{CompassConfig, ThenCompass};
use crate::calibrate::optimizer::{BayesOpt, BoConfig, Optimizer, OptimizerKind, TrustRegion};
use crate::calibrate::outputs::{write_all, OutputPaths};
use crate::calibrate::registry::{write_atomic, ParamSet, ParamSpace, Registry, Scope};
use crate::calibrate::run::{calibrate, BatchObjective, CalibrationOptions, Direction, Evaluation};
use crate::config::calibration::{
    CalibrationExperiment, CalibrationSection, ParameterChoice, Region,
};
use crate::config::Experiment;
use crate::diagnostics::annual::annual_diagnostics;
use crate::domain::distributed::{AnyEngine, EngineHandle, LocalEngine};
use crate::io::geotiff::{read_geotiff, write_geotiff, Raster, RasterGrid, RasterValue};
use crate::metrics::kappa::{score_class_codes, ClassScheme, KappaWeights};
use crate::metrics::region::disagreement_mask;
use crate::metrics::tiebreak::{margin_misfit, soft_kappa};
use crate::{Error, Result};

/// Nodata code of the class maps written here.
pub const CLASS_NODATA: u8 = 255;

// ------------------------------------------------------------------ overrides

/// The model overrides of the registry values at `indices` (positions in the
/// expanded registry order) of `set`: global values under their target key,
/// soil-class and layer-group values as `target[k]`, vegetation-class values
/// as `target[k]` (applied only to columns of vegetation class k, see
/// [`overrides_for_column`]).
pub fn flat_overrides(reg: &Registry, set: &ParamSet, indices: &[usize]) -> Overrides {
    let mut out = Vec::new();
    let mut k = 0;
    for p in &reg.params {
        for i in 0..p.n_values() {
            if indices.contains(&k) {
                if let Some(&v) = set.values.get(k) {
                    let key = match p.scope {
                        Scope::Global => p.target.clone(),
                        _ => format!("{}[{}]", p.target, p.classes[i]),
                    };
                    out.push((key, v));
                }
            }
            k += 1;
        }
    }
    out
}

/// The overrides that apply to one column: `soil.<field>[k]` only when a layer
/// has soil class k; any other class-qualified key `<key>[k]` (`veg.rsmin[7]`,
/// `max_snow_albedo[8]`) as `<key>` only when the column's vegetation class is
/// k; keys without a class unchanged.
pub fn overrides_for_column(
    overrides: &[(String, f64)],
    soil_classes: &[usize],
    veg_class: usize,
) -> Overrides {
    super::domain::cell_overrides(overrides, soil_classes, veg_class)
}

/// Write a parameter set for the model: `name`, `model` and a flat
/// `[values]` table of override keys (atomically).
pub fn write_parameter_set(
    path: &Path,
    name: &str,
    model: &str,
    overrides: &[(String, f64)],
) -> Result<()> {
    let mut values = toml::map::Map::new();
    for (k, v) in overrides {
        values.insert(k.clone(), toml::Value::Float(*v));
    }
    let mut root = toml::map::Map::new();
    root.insert("name".into(), toml::Value::String(name.into()));
    root.insert("model".into(), toml::Value::String(model.into()));
    root.insert("values".into(), toml::Value::Table(values));
    let text =
        toml::to_string(&toml::Value::Table(root)).map_err(|e| Error::Other(e.to_string()))?;
    let head = "# Model parameter overrides: ColumnConfig::set keys; soil.<field>[k] applies to\n# layers of soil class k, any other <key>[k] to columns of vegetation class k.\n";
    write_atomic(path, format!("{head}{text}").as_bytes())
}

/// Parameter sets are read by the hindcast's reader (one reader for every
/// parameter-set file).
pub use super::hindcast::read_parameter_set;

// ------------------------------------------------------------------ scoring

/// Class code (1, 2, 3) and permafrost margin (C) of `year` from one cell's annual statistics.
pub fn classify(stats: &CellStats, year: i32) -> Option<(u8, f64)> {
    let i = stats.iter().position(|s| s.year == year)?;
    let prev = if i > 0 { stats.get(i - 1) } else { None };
    let d = annual_diagnostics(&stats[i], prev);
    Some((d.class.code(), d.margin))
}

/// Kappa, OA and margin misfit of simulated codes against reference codes.
pub fn score(
    reference: &[u8],
    simulated: &[u8],
    margins: &[f64],
    scheme: ClassScheme,
) -> Result<(f64, f64, f64)> {
    let s = score_class_codes(
        reference,
        simulated,
        None,
        None,
        None,
        scheme,
        KappaWeights::None,
    )?;
    let m = margin_misfit(reference, None, margins, None)?;
    Ok((s.kappa, s.overall_accuracy, m))
}

/// The map objective: Kappa of the target-year class map against the
/// reference on the calibration cells (maximised). The surrogate signal (what
/// the optimiser is told, the log's `surrogate` column) is
/// `K - w * misfit`, with the mean permafrost-margin misfit (C) as a
/// continuous tie-breaker and `K` the hard Kappa, or with `smoothing > 0` the
/// smoothed Kappa of that width ([`soft_kappa`]); metrics are OA and the misfit.
pub struct MapKappa<'a> {
    /// The domain.
    pub setup: &'a DomainSetup,
    /// The parameter space (registry and calibrated dimensions).
    pub space: &'a ParamSpace,
    /// Expanded registry positions whose values become overrides.
    pub indices: Vec<usize>,
    /// Scored cells.
    pub cells: Vec<(usize, usize)>,
    /// Reference code per scored cell.
    pub reference: Vec<u8>,
    /// Target year.
    pub year: i32,
    /// 2 or 3 classes.
    pub scheme: ClassScheme,
    /// Tie-breaker weight per C.
    pub weight: f64,
    /// Width (C) of the smoothed Kappa told to the optimiser; 0: the hard Kappa.
    pub smoothing: f64,
    /// Called after each domain run with (evaluations done in the batch, batch size).
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync + 'a>>,
    /// The engine the domain runs go through (rayon, or MPI ranks).
    pub engine: EngineHandle<'a>,
}

impl MapKappa<'_> {
    /// Score one member's cell outcomes.
    fn score_member(
        &self,
        outcomes: &[crate::domain::runner::CellOutcome<CellStats>],
    ) -> Evaluation {
        let mut sim = Vec::with_capacity(outcomes.len());
        let mut margins = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            match &o.result {
                Ok(stats) => match classify(stats, self.year) {
                    Some((c, m)) => {
                        sim.push(c);
                        margins.push(m);
                    }
                    None => return Evaluation::failed(format!("no simulated year {}", self.year)),
                },
                Err(e) => return Evaluation::failed(e.clone()),
            }
        }
        let told = |kappa: f64| -> Result<f64> {
            if self.smoothing > 0.0 {
                soft_kappa(
                    &self.reference,
                    None,
                    &sim,
                    &margins,
                    self.scheme,
                    self.smoothing,
                )
            } else {
                Ok(kappa)
            }
        };
        match score(&self.reference, &sim, &margins, self.scheme)
            .and_then(|(kappa, oa, misfit)| Ok((kappa, oa, misfit, told(kappa)?)))
        {
            Ok((kappa, oa, misfit, k_told)) => Evaluation {
                value: kappa,
                surrogate_value: k_told - self.weight * misfit,
                metrics: vec![oa, misfit],
                status: crate::calibrate::run::EvalStatus::Ok,
                seconds: 0.0,
            },
            Err(e) => Evaluation::failed(e.to_string()),
        }
    }
}

impl BatchObjective for MapKappa<'_> {
    fn direction(&self) -> Direction {
        Direction::Maximise
    }
    fn metric_names(&self) -> Vec<String> {
        vec!["oa".into(), "margin_misfit_c".into()]
    }
    fn evaluate_batch(&self, sets: &[ParamSet], done: &(dyn Fn(usize, Evaluation) + Sync)) {
        let t0 = Instant::now();
        let members: Vec<Overrides> = sets
            .iter()
            .map(|s| flat_overrides(&self.space.registry, s, &self.indices))
            .collect();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let engine = self.engine.get()?;
            self.setup.run_on(engine, &self.cells, &members, None)
        }));
        let per = t0.elapsed().as_secs_f64() / sets.len().max(1) as f64;
        match run {
            Ok(Ok(out)) => {
                for (i, member) in out.iter().enumerate() {
                    let mut ev = self.score_member(member);
                    ev.seconds = per;
                    done(i, ev);
                }
            }
            Ok(Err(e)) => (0..sets.len()).for_each(|i| {
                let mut ev = Evaluation::failed(e.to_string());
                ev.seconds = per;
                done(i, ev)
            }),
            Err(_) => (0..sets.len()).for_each(|i| {
                let mut ev = Evaluation::failed("panic in the domain run");
                ev.seconds = per;
                done(i, ev)
            }),
        }
        if let Some(p) = &self.progress {
            p(sets.len(), sets.len());
        }
    }
}

// ------------------------------------------------------------------ optimiser wrapper

/// Proposes a fixed first point (the registry defaults) as a batch of its
/// own, then defers to the wrapped optimiser. Bayesian optimisation is told
/// the first point's value as data; model-free optimisers ignore it.
///
/// With Bayesian optimisation, a proposal that repeats an evaluated point (or
/// another point of its batch) is replaced by a uniform random point from a
/// stream seeded with the experiment seed: the model is deterministic, so a
/// repeat would spend budget on a known value. The optimiser is told the
/// points actually evaluated.
pub struct StartAt {
    first: Option<Vec<f64>>,
    asked_first: bool,
    inner: Box<dyn Optimizer>,
    forward_first: bool,
    seen: Vec<Vec<f64>>,
    rng: rand::rngs::StdRng,
}

impl StartAt {
    /// Wrap `inner`, proposing `first` before anything else; `seed` drives
    /// the replacement of repeated proposals.
    pub fn new(first: Vec<f64>, inner: Box<dyn Optimizer>, forward_first: bool, seed: u64) -> Self {
        use rand::SeedableRng;
        StartAt {
            first: Some(first),
            asked_first: false,
            inner,
            forward_first,
            seen: Vec::new(),
            rng: rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_5eed),
        }
    }
}

fn same_point(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

impl Optimizer for StartAt {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        if let Some(x) = self.first.take() {
            self.asked_first = true;
            return Ok(vec![x]);
        }
        self.asked_first = false;
        let mut xs = self.inner.ask(q)?;
        // Only model-based optimisers are screened; a model-free one (the
        // particle swarm) must be told its own points.
        if self.forward_first {
            use rand::Rng;
            for i in 0..xs.len() {
                let repeat = self.seen.iter().any(|s| same_point(s, &xs[i]))
                    || xs[..i].iter().any(|s| same_point(s, &xs[i]));
                if repeat {
                    xs[i] = (0..xs[i].len()).map(|_| self.rng.random::<f64>()).collect();
                }
            }
        }
        Ok(xs)
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        self.seen.extend(xs.iter().cloned());
        if self.asked_first {
            self.asked_first = false;
            return if self.forward_first {
                self.inner.tell(xs, ys)
            } else {
                Ok(())
            };
        }
        self.inner.tell(xs, ys)
    }
    fn last_ask_seconds(&self) -> f64 {
        if self.asked_first {
            0.0
        } else {
            self.inner.last_ask_seconds()
        }
    }
    fn last_ask_used_model(&self) -> bool {
        !self.asked_first && self.inner.last_ask_used_model()
    }
}

// ------------------------------------------------------------------ workflow

/// What a calibration run reports.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrationSummary {
    /// Output folder.
    pub output: PathBuf,
    /// Land cells of the domain.
    pub land_cells: usize,
    /// Scored (sensitive) cells.
    pub scored_cells: usize,
    /// Calibrated dimensions.
    pub dimensions: usize,
    /// Kappa of the default run on the scored cells.
    pub kappa_default: f64,
    /// Best Kappa on the scored cells.
    pub kappa_best: f64,
    /// Kappa of the default and best runs over all land cells.
    pub kappa_default_all: f64,
    /// Kappa of the best set over all land cells.
    pub kappa_best_all: f64,
    /// Evaluations in the log (the default run included).
    pub evaluations: usize,
    /// Evaluations replayed from an existing log.
    pub replayed: usize,
    /// Failed evaluations.
    pub failed: usize,
    /// Mean seconds per evaluation (batch time divided by its size).
    pub mean_evaluation_seconds: f64,
    /// Mean seconds of a BO iteration that fitted the surrogate.
    pub mean_optimizer_seconds: f64,
    /// Wall time of the whole workflow, seconds.
    pub wall_seconds: f64,
    /// Why the loop stopped.
    pub stop: String,
    /// The validation against boreholes, when the experiment has a `[validation]` table.
    pub validation: Option<super::validation::ValidationBrief>,
}

/// The parameter space of the experiment.
pub fn parameter_space(exp: &Experiment, c: &CalibrationExperiment) -> Result<ParamSpace> {
    space_of(&exp.path, &c.model, c.registry.as_deref(), &c.parameters)
}

/// The parameter space of `parameters` in the registry file (default: the
/// model tables' `parameters.toml`).
pub fn space_of(
    experiment: &Path,
    model: &crate::config::ModelSection,
    registry: Option<&Path>,
    parameters: &ParameterChoice,
) -> Result<ParamSpace> {
    let path = match registry {
        Some(p) => p.to_path_buf(),
        None => super::model::tables_dir(experiment, model)?.join("parameters.toml"),
    };
    let reg = Registry::load(&path)?;
    match parameters {
        ParameterChoice::All => Ok(ParamSpace::all(reg)),
        ParameterChoice::Names(n) => {
            let names: Vec<&str> = n.iter().map(String::as_str).collect();
            ParamSpace::select(reg, &names)
                .map_err(|e| Error::config(experiment, "calibration.parameters", e.to_string()))
        }
    }
}

/// Class codes and margins of `year` for `cells`, from one member of a domain run
/// (failed cells get [`CLASS_NODATA`] and are listed in the error text count).
fn member_map(
    outcomes: &[crate::domain::runner::CellOutcome<CellStats>],
    year: i32,
) -> (Vec<u8>, Vec<f64>, usize) {
    let mut codes = Vec::new();
    let mut margins = Vec::new();
    let mut failed = 0;
    for o in outcomes {
        match o.result.as_ref().ok().and_then(|s| classify(s, year)) {
            Some((c, m)) => {
                codes.push(c);
                margins.push(m);
            }
            None => {
                failed += 1;
                codes.push(CLASS_NODATA);
                margins.push(f64::NAN);
            }
        }
    }
    (codes, margins, failed)
}

/// `values` at `cells` of the grid, `nodata` everywhere else.
fn full_raster<T: RasterValue>(
    grid: &RasterGrid,
    nx: usize,
    cells: &[(usize, usize)],
    values: &[T],
    nodata: T,
) -> Result<Raster<T>> {
    let mut data = vec![nodata; grid.len()];
    for (&(r, c), &v) in cells.iter().zip(values) {
        data[r * nx + c] = v;
    }
    Raster::new(*grid, data, Some(nodata))
}

/// The permafrost margins (C, see [`crate::diagnostics::AnnualDiagnostics`])
/// of `cells` as a Float32 raster, -9999 elsewhere and where a run failed.
fn margin_raster(
    grid: &RasterGrid,
    nx: usize,
    cells: &[(usize, usize)],
    margins: &[f64],
) -> Result<Raster<f32>> {
    let values: Vec<f32> = margins
        .iter()
        .map(|&m| if m.is_finite() { m as f32 } else { -9999.0 })
        .collect();
    full_raster(grid, nx, cells, &values, -9999.0)
}

/// A progress bar over the domain's cell runs (hidden when `quiet`).
pub fn cell_bar(total: usize, label: &str, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>18} [{bar:30}] {pos}/{len} cell runs ({elapsed})",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(label.to_string());
    pb
}

/// The optimiser of `[calibration]` (the default point first, then the
/// optimiser's batches, optionally ending with a compass search) and the
/// loop's options, for a map or a point calibration.
pub fn search_setup(
    sec: &CalibrationSection,
    space: &ParamSpace,
    seed: u64,
) -> Result<(StartAt, CalibrationOptions)> {
    let kind = OptimizerKind::parse(&sec.optimizer)?;
    let inner: Box<dyn Optimizer> = match kind {
        OptimizerKind::Bo => Box::new(BayesOpt::new(
            space.dim(),
            seed,
            BoConfig {
                n_init: sec.n_init,
                kpls_dim: sec.kpls_dim,
                trust_region: sec.trust_region.then(|| {
                    let d = TrustRegion::default();
                    TrustRegion {
                        initial_length: sec.trust_region_length.unwrap_or(d.initial_length),
                        failure_tolerance: sec.trust_region_failures.or(d.failure_tolerance),
                        ..d
                    }
                }),
                ..Default::default()
            },
        )?),
        other => other.build(space.dim(), sec.budget.saturating_sub(1).max(1), seed)?,
    };
    // Optionally end with a local compass search (unit-cube step
    // `local_step`, halved down to 1e-3) from the best point of the global phase.
    let inner: Box<dyn Optimizer> = if sec.local_evaluations > 0 {
        let global_evals = sec.budget.saturating_sub(sec.local_evaluations);
        // The global phase is told the default point only under BO (see StartAt).
        let switch_after = if kind == OptimizerKind::Bo {
            global_evals
        } else {
            global_evals.saturating_sub(1)
        };
        Box::new(ThenCompass::new(
            inner,
            switch_after,
            CompassConfig {
                initial_step: sec.local_step,
                min_step: 1e-3,
                expand: 2.0,
            },
        )?)
    } else {
        inner
    };
    let x0 = space.to_unit(&space.base)?;
    let opt = StartAt::new(x0, inner, kind == OptimizerKind::Bo, seed);
    let opts = CalibrationOptions {
        budget: sec.budget,
        wall_clock: sec
            .wall_clock_minutes
            .map(|m| Duration::from_secs_f64(m * 60.0)),
        stagnation: sec.stagnation,
        q: sec.q,
        seed,
        top_k: sec.top_k,
    };
    Ok((opt, opts))
}

/// Run a calibration experiment end to end (resuming an existing evaluation log).
pub fn run_calibration(
    exp: &Experiment,
    c: &CalibrationExperiment,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<CalibrationSummary> {
    let engine = AnyEngine::Local(LocalEngine::default());
    run_calibration_on(&engine, exp, c, out, quiet)
}

/// [`run_calibration`] with the domain runs (default and best sets, every
/// batch of candidates, the ensemble hindcast) through `engine`. Called by
/// rank 0, which runs the optimiser and writes every file; the other ranks
/// serve through [`super::domain::serve_domain`].
pub fn run_calibration_on(
    engine: &AnyEngine,
    exp: &Experiment,
    c: &CalibrationExperiment,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<CalibrationSummary> {
    let t_start = Instant::now();
    let out = out.unwrap_or_else(|| exp.output.clone());
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let sec = &c.section;
    let scheme = ClassScheme::from_count(sec.classes)?;

    // 1. domain, registry, reference (made from hidden parameters when asked), manifest
    let setup = DomainSetup::from_sections(&exp.path, &c.domain, &c.model, &c.spinup, &c.period)?;
    let space = parameter_space(exp, c)?;
    let land = setup.cells().to_vec();
    let grid = RasterGrid::from_grid(setup.grid())?;
    let nx = setup.grid().nx;
    if !c.reference.exists() {
        match &sec.truth {
            Some(t) => {
                super::demo_truth::make_reference(
                    &setup,
                    &space.registry,
                    t,
                    c.year,
                    &c.reference,
                    quiet,
                )?;
            }
            None => {
                return Err(Error::config(
                    &exp.path,
                    "calibration.reference",
                    format!("{} does not exist", c.reference.display()),
                ))
            }
        }
    }
    let reference: Raster<u8> = read_geotiff(&c.reference)?;
    reference.grid.check_same(&grid).map_err(|e| {
        Error::Grid(format!(
            "reference {} against the domain: {e}",
            c.reference.display()
        ))
    })?;
    let mut manifest = crate::io::manifest::RunManifest::from_config(&exp.raw, Some(exp.seed))?;
    manifest.add_input(&exp.path)?;
    manifest.add_input(&c.reference)?;
    manifest.add_input(&space.registry.path)?;
    manifest.write_to_dir(&out)?;

    // Land cells the reference classifies.
    let ref_at = |&(r, col): &(usize, usize)| reference.data[r * nx + col];
    let land: Vec<(usize, usize)> = land
        .into_iter()
        .filter(|cell| {
            scheme.label(ref_at(cell) as i64).is_some() && !reference.is_nodata(ref_at(cell))
        })
        .collect();
    if land.is_empty() {
        return Err(Error::Other(format!(
            "{}: no land cell of the domain has a reference class",
            c.reference.display()
        )));
    }

    // 2. the default run on every land cell and the sensitive region
    let pb = cell_bar(land.len(), "default run", quiet);
    let bar = pb.clone();
    let progress = move |done: usize, _total: usize| bar.set_position(done as u64);
    let default_runs = setup.run_on(engine, &land, &[Vec::new()], Some(&progress))?;
    pb.finish();
    let (default_codes, default_margins, default_failed) = member_map(&default_runs[0], c.year);
    if default_failed > 0 {
        return Err(Error::Other(format!(
            "the default parameters fail on {default_failed} of {} cells; fix the domain before calibrating",
            land.len()
        )));
    }
    let default_map = full_raster(&grid, nx, &land, &default_codes, CLASS_NODATA)?;
    let land_ref: Vec<u8> = land.iter().map(ref_at).collect();
    let kappa_default_all = score_class_codes(
        &land_ref,
        &default_codes,
        None,
        None,
        None,
        scheme,
        KappaWeights::None,
    )?
    .kappa;
    let cells: Vec<(usize, usize)> = match c.region {
        Region::All => land.clone(),
        Region::Sensitive { neighbourhood } => {
            let mask = disagreement_mask(&reference, &default_map, scheme, neighbourhood)?;
            land.iter()
                .copied()
                .filter(|&(r, col)| mask[r * nx + col])
                .collect()
        }
    };
    if cells.is_empty() {
        return Err(Error::Other(
            "the default run agrees with the reference on every cell: nothing to calibrate (use region = \"all\")".into(),
        ));
    }
    let mut region_map = vec![0u8; grid.len()];
    for &(r, col) in &cells {
        region_map[r * nx + col] = 1;
    }
    write_geotiff(
        out.join("region.tif"),
        &Raster::new(grid.clone(), region_map, None)?,
    )?;
    if !quiet {
        eprintln!(
            "default run: Kappa {kappa_default_all:.4} on {} land cells; calibrating on {} cells, {} dimensions",
            land.len(),
            cells.len(),
            space.dim()
        );
    }

    // 3. the calibration loop; the defaults are evaluation 0
    let indices: Vec<usize> = space.dims.iter().map(|d| d.index).collect();
    let objective = MapKappa {
        setup: &setup,
        space: &space,
        indices: indices.clone(),
        reference: cells.iter().map(ref_at).collect(),
        cells: cells.clone(),
        year: c.year,
        scheme,
        weight: sec.tiebreak_weight,
        smoothing: sec.smoothing,
        progress: None,
        engine: EngineHandle::new(engine),
    };
    let (mut opt, opts) = search_setup(sec, &space, exp.seed)?;
    let res = calibrate(
        &objective,
        &space,
        &mut opt,
        &opts,
        &out.join("evaluations.csv"),
        !quiet,
    )?;
    let best = res
        .best
        .ok_or_else(|| Error::Other("no evaluation succeeded; see evaluations.csv".into()))?;
    let kappa_default = res
        .records
        .first()
        .map(|r| r.evaluation.value)
        .unwrap_or(f64::NAN);

    // 4. best set, top-K members, convergence
    let metric_names = BatchObjective::metric_names(&objective);
    write_all(
        &res,
        &space,
        &metric_names,
        "Kappa",
        &OutputPaths::in_dir(&out),
    )?;
    let model_name = space.registry.model.clone();
    let best_set = &res.records[best].params;
    write_parameter_set(
        &out.join("best_overrides.toml"),
        "best",
        &model_name,
        &flat_overrides(&space.registry, best_set, &indices),
    )?;
    let top_dir = out.join("top");
    std::fs::create_dir_all(&top_dir).map_err(|e| Error::io(&top_dir, e))?;
    for (k, &i) in res.top_k.iter().enumerate() {
        write_parameter_set(
            &top_dir.join(format!("member{}.toml", k + 1)),
            &format!("member{}", k + 1),
            &model_name,
            &flat_overrides(&space.registry, &res.records[i].params, &indices),
        )?;
    }

    // 5. the best set on every land cell; maps
    let pb = cell_bar(land.len(), "best set", quiet);
    let bar = pb.clone();
    let progress = move |done: usize, _total: usize| bar.set_position(done as u64);
    let best_runs = setup.run_on(
        engine,
        &land,
        &[flat_overrides(&space.registry, best_set, &indices)],
        Some(&progress),
    )?;
    pb.finish();
    let (best_codes, best_margins, _) = member_map(&best_runs[0], c.year);
    let best_map = full_raster(&grid, nx, &land, &best_codes, CLASS_NODATA)?;
    let kappa_best_all = score_class_codes(
        &land_ref,
        &best_codes,
        None,
        Some(CLASS_NODATA),
        None,
        scheme,
        KappaWeights::None,
    )?
    .kappa;
    write_maps(&out, c.year, &reference, &default_map, &best_map)?;
    for (name, margins) in [("default", &default_margins), ("best", &best_margins)] {
        write_geotiff(
            out.join(format!("margin_{name}_{}.tif", c.year)),
            &margin_raster(&grid, nx, &land, margins)?,
        )?;
    }

    // 6. the top-K ensemble hindcast: per-member and ensemble-mean products
    if c.ensemble.enabled {
        let members: Vec<(String, Overrides)> = res
            .top_k
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                (
                    format!("member{}", k + 1),
                    flat_overrides(&space.registry, &res.records[i].params, &indices),
                )
            })
            .collect();
        let opts = crate::workflow::hindcast::HindcastOptions {
            quiet,
            seed: Some(exp.seed),
            config: serde_json::to_value(&exp.raw).unwrap_or(serde_json::Value::Null),
            title: format!("calimap top-{} ensemble of {}", members.len(), exp.name),
            ..Default::default()
        };
        crate::workflow::hindcast::run_hindcast_on(
            engine,
            &setup,
            &members,
            &out.join("ensemble"),
            &opts,
        )?;
    }

    // 7. validation against boreholes: the ensemble members and mean, or the best set
    let validation = match &c.validation {
        Some(v) => Some(super::validation::validate_calibration(
            exp,
            c,
            v,
            &setup,
            &space.registry,
            &out,
            &land,
            &best_runs[0],
            quiet,
        )?),
        None => None,
    };

    let failed = res.records.iter().filter(|r| !r.evaluation.is_ok()).count();
    let mean = |v: &[f64]| {
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let summary = CalibrationSummary {
        output: out.clone(),
        land_cells: land.len(),
        scored_cells: cells.len(),
        dimensions: space.dim(),
        kappa_default,
        kappa_best: res.records[best].evaluation.value,
        kappa_default_all,
        kappa_best_all,
        evaluations: res.records.len(),
        replayed: res.replayed,
        failed,
        mean_evaluation_seconds: mean(&res.eval_seconds),
        mean_optimizer_seconds: mean(&res.model_ask_seconds),
        wall_seconds: t_start.elapsed().as_secs_f64(),
        stop: format!("{:?}", res.stop),
        validation,
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&out.join("summary.json"), json.as_bytes())?;
    Ok(summary)
}

/// Reference, default and best class maps and their agreement with the
/// reference, as GeoTIFF and PNG.
fn write_maps(
    out: &Path,
    year: i32,
    reference: &Raster<u8>,
    default: &Raster<u8>,
    best: &Raster<u8>,
) -> Result<()> {
    use crate::report::plot::{categorical_map, class_agreement_map, frozen_ground_classes};
    let classes = frozen_ground_classes();
    write_geotiff(out.join(format!("reference_{year}.tif")), reference)?;
    write_geotiff(out.join(format!("default_{year}.tif")), default)?;
    write_geotiff(out.join(format!("best_{year}.tif")), best)?;
    categorical_map(
        out.join(format!("reference_{year}.png")),
        reference,
        &classes,
        &format!("Reference {year}"),
    )?;
    categorical_map(
        out.join(format!("default_{year}.png")),
        default,
        &classes,
        &format!("Default parameters {year}"),
    )?;
    categorical_map(
        out.join(format!("best_{year}.png")),
        best,
        &classes,
        &format!("Calibrated {year}"),
    )?;
    for (name, sim) in [("default", default), ("best", best)] {
        // Difference of codes (simulated - reference), NaN where either is missing.
        let diff: Vec<f32> = reference
            .data
            .iter()
            .zip(&sim.data)
            .map(|(&a, &b)| {
                if reference.is_nodata(a) || sim.is_nodata(b) {
                    -9999.0
                } else {
                    b as f32 - a as f32
                }
            })
            .collect();
        write_geotiff(
            out.join(format!("difference_{name}_{year}.tif")),
            &Raster::new(reference.grid.clone(), diff, Some(-9999.0f32))?,
        )?;
        class_agreement_map(
            out.join(format!("difference_{name}_{year}.png")),
            reference,
            sim,
            &format!("{name} against the reference, {year}"),
        )?;
    }
    Ok(())
}
