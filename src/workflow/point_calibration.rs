//! The calibration of the column at one site against its measured ground
//! temperatures and active-layer thickness (`kind = "calibration"` with
//! `[forcing]` and `[observations]`): the borehole calibration that column
//! modellers otherwise do by hand.
//!
//! Recipe of [`run_point_calibration`]:
//! 1. read the forcing and the observations (a bad file fails before any
//!    run), build the default column, keep the calibrated values that reach
//!    it (its soil and vegetation classes), write the manifest;
//! 2. calibrate: the default point is evaluation 0, then the optimiser's
//!    batches, each parameter set spun up and run over the whole forcing in
//!    parallel; the objective, minimised, is the RMSE (C) of every paired
//!    daily ground temperature, plus `alt_weight` (C per m) times the RMSE
//!    (m) of the annual ALT; a year of a measured ALT that the run leaves
//!    without permafrost counts with the column's depth as its ALT; every
//!    evaluation is appended to `evaluations.csv` (fsynced, resumable);
//! 3. rank, write `best_overrides.toml` (with any `[model] parameters`
//!    file's values it does not replace, so that it is the whole set), the
//!    top-K members (`top/member<k>.toml`), the convergence table and plot;
//! 4. run the default and the best set as point runs with every output and
//!    plot (`default/`, `best/`), and the per-depth scores of both
//!    (`fit.csv`);
//! 5. with `[ensemble] enabled`, run the top-K members and write their
//!    annual diagnostics and the ensemble's mean and spread
//!    (`ensemble/annual_members.csv`, `ensemble/annual.csv`,
//!    `ensemble/alt.png`);
//! 6. write `summary.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use super::calibration::{flat_overrides, search_setup, space_of, write_parameter_set};
use super::point::{
    diagnostics_of, read_point_forcing, run_point, spinup_options, PointInputs, PointModelBuilder,
    PointSummary,
};
use super::sensitivity::restrict_to_column;
use crate::calibrate::outputs::{write_all, OutputPaths};
use crate::calibrate::registry::{write_atomic, ParamSet, ParamSpace};
use crate::calibrate::run::{calibrate, Direction, Evaluation, PointObjective};
use crate::column::run::{run, spin_up, SpinupOptions};
use crate::config::calibration::PointCalibrationExperiment;
use crate::config::{Experiment, PointExperiment};
use crate::diagnostics::AnnualDiagnostics;
use crate::physics::thermal::T_FREEZE;
use crate::validate::ground::{
    check_depths, compare_alt, compare_ground, read_alt_observations, read_ground_temperatures,
    AltObservation, GroundObservations,
};
use crate::{Error, Result};

/// How well one parameter set fits the observations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fit {
    /// The objective (C): temperature RMSE + alt_weight x ALT RMSE.
    pub objective: f64,
    /// RMSE (C) of every paired daily ground temperature.
    pub temperature_rmse: Option<f64>,
    /// Mean simulated minus observed ground temperature (C).
    pub temperature_bias: Option<f64>,
    /// Paired ground temperatures.
    pub temperature_pairs: usize,
    /// RMSE (m) of the annual ALT (years without simulated permafrost at the column's depth).
    pub alt_rmse: Option<f64>,
    /// Mean simulated minus observed ALT (m).
    pub alt_bias: Option<f64>,
    /// Paired years.
    pub alt_years: usize,
    /// Paired years the run leaves without permafrost.
    pub alt_years_without_permafrost: usize,
}

/// RMSE and bias of simulated-observed pairs.
fn rmse_bias(pairs: impl Iterator<Item = (f64, f64)>) -> Option<(f64, f64, usize)> {
    let (mut n, mut sq, mut sum) = (0usize, 0.0, 0.0);
    for (sim, obs) in pairs {
        let d = sim - obs;
        n += 1;
        sq += d * d;
        sum += d;
    }
    (n > 0).then(|| ((sq / n as f64).sqrt(), sum / n as f64, n))
}

/// The observations a point calibration fits, read and checked once.
pub struct SiteObservations {
    /// The ground-temperature file and its rows.
    pub ground: Option<(PathBuf, GroundObservations)>,
    /// The ALT rows and the number of rows without a value.
    pub alt: Option<(Vec<AltObservation>, usize)>,
    /// C of the objective per m of ALT RMSE.
    pub alt_weight: f64,
}

impl SiteObservations {
    /// Read the point experiment's observation files.
    pub fn read(p: &PointExperiment, alt_weight: f64) -> Result<Self> {
        let ground = match &p.observations {
            Some(f) => Some((f.clone(), read_ground_temperatures(f)?)),
            None => None,
        };
        let alt = match &p.alt_observations {
            Some(f) => Some(read_alt_observations(f)?),
            None => None,
        };
        Ok(Self {
            ground,
            alt,
            alt_weight,
        })
    }

    /// Score a run: its days and their daily mean layer temperatures (C,
    /// day-major), the layer midpoints (m), its annual diagnostics and the
    /// column's depth (m).
    pub fn fit(
        &self,
        days: &[NaiveDate],
        temps: &[f64],
        mids: &[f64],
        annual: &[AnnualDiagnostics],
        depth: f64,
    ) -> Result<Fit> {
        let mut fit = Fit {
            objective: 0.0,
            temperature_rmse: None,
            temperature_bias: None,
            temperature_pairs: 0,
            alt_rmse: None,
            alt_bias: None,
            alt_years: 0,
            alt_years_without_permafrost: 0,
        };
        if let Some((file, obs)) = &self.ground {
            let c = compare_ground(file, obs, days, temps, mids)?;
            let (rmse, bias, n) = rmse_bias(c.pairs.iter().map(|p| (p.simulated_c, p.observed_c)))
                .ok_or_else(|| {
                    Error::Other(format!(
                        "{}: no observation falls on a day of the run",
                        file.display()
                    ))
                })?;
            fit.temperature_rmse = Some(rmse);
            fit.temperature_bias = Some(bias);
            fit.temperature_pairs = n;
            fit.objective += rmse;
        }
        if let Some((obs, missing)) = &self.alt {
            let sim: Vec<(i32, Option<f64>)> = annual
                .iter()
                .map(|a| (a.year, Some(a.alt.unwrap_or(depth))))
                .collect();
            let c = compare_alt(obs, *missing, &sim);
            let (rmse, bias, n) = rmse_bias(c.pairs.iter().map(|p| (p.simulated_m, p.observed_m)))
                .ok_or_else(|| {
                    Error::Other("no measured ALT falls in a whole year of the run".into())
                })?;
            fit.alt_years_without_permafrost = c
                .pairs
                .iter()
                .filter(|p| annual.iter().any(|a| a.year == p.year && a.alt.is_none()))
                .count();
            fit.alt_rmse = Some(rmse);
            fit.alt_bias = Some(bias);
            fit.alt_years = n;
            let w = if self.ground.is_some() {
                self.alt_weight
            } else {
                1.0
            };
            fit.objective += w * rmse;
        }
        Ok(fit)
    }

    /// The objective's name with its unit, for plots and the log.
    pub fn objective_label(&self) -> String {
        match (&self.ground, &self.alt) {
            (Some(_), None) => "ground-temperature RMSE (C)".into(),
            (None, Some(_)) => "ALT RMSE (m)".into(),
            _ => format!(
                "ground-temperature RMSE + {} x ALT RMSE (C)",
                self.alt_weight
            ),
        }
    }
}

/// Daily mean layer temperatures (C) of a run.
#[derive(Default)]
struct DailyMeans {
    days: Vec<NaiveDate>,
    temps: Vec<f64>,
    day: Option<NaiveDate>,
    sums: Vec<f64>,
    n: usize,
}

impl DailyMeans {
    fn add(&mut self, day: NaiveDate, t_soil: &[f64]) {
        if self.day != Some(day) {
            self.flush();
            self.day = Some(day);
            self.sums.clear();
            self.sums.resize(t_soil.len(), 0.0);
        }
        for (s, t) in self.sums.iter_mut().zip(t_soil) {
            *s += t - T_FREEZE;
        }
        self.n += 1;
    }

    fn flush(&mut self) {
        if let (Some(day), true) = (self.day, self.n > 0) {
            self.days.push(day);
            let n = self.n as f64;
            self.temps.extend(self.sums.iter().map(|s| s / n));
        }
        self.n = 0;
    }
}

/// One parameter set spun up and run over the whole forcing: its daily
/// mean layer temperatures (when `daily`) and annual diagnostics.
fn simulate(
    builder: &PointModelBuilder,
    inputs: &PointInputs,
    options: &SpinupOptions,
    overrides: &[(String, f64)],
    daily: bool,
) -> Result<(DailyMeans, Vec<AnnualDiagnostics>, Vec<f64>, f64)> {
    let (model, mut state) = builder.build(overrides)?;
    spin_up(&model, &mut state, &inputs.forcing, options)?;
    let mut means = DailyMeans::default();
    let stats = run(&model, &mut state, &inputs.forcing, &mut |t, st, _| {
        if daily {
            means.add(t.date(), &st.t_soil);
        }
    })?;
    means.flush();
    let depth = model.thickness().iter().sum();
    Ok((
        means,
        diagnostics_of(&stats)?,
        model.layer_midpoints(),
        depth,
    ))
}

/// The objective of a point calibration.
struct SiteFit<'a> {
    builder: &'a PointModelBuilder<'a>,
    inputs: &'a PointInputs,
    options: SpinupOptions,
    space: &'a ParamSpace,
    observations: &'a SiteObservations,
}

impl SiteFit<'_> {
    fn fit(&self, overrides: &[(String, f64)]) -> Result<Fit> {
        let daily = self.observations.ground.is_some();
        let (means, annual, mids, depth) =
            simulate(self.builder, self.inputs, &self.options, overrides, daily)?;
        self.observations
            .fit(&means.days, &means.temps, &mids, &annual, depth)
    }
}

const METRICS: [&str; 4] = [
    "temperature_rmse",
    "temperature_bias",
    "alt_rmse",
    "alt_bias",
];

impl PointObjective for SiteFit<'_> {
    fn direction(&self) -> Direction {
        Direction::Minimise
    }
    fn metric_names(&self) -> Vec<String> {
        METRICS.iter().map(|s| s.to_string()).collect()
    }
    fn evaluate(&self, set: &ParamSet) -> Result<Evaluation> {
        self.space.check(set)?;
        let f = self.fit(&self.space.dim_overrides(set))?;
        let mut e = Evaluation::ok(f.objective);
        let nan = f64::NAN;
        e.metrics = vec![
            f.temperature_rmse.unwrap_or(nan),
            f.temperature_bias.unwrap_or(nan),
            f.alt_rmse.unwrap_or(nan),
            f.alt_bias.unwrap_or(nan),
        ];
        Ok(e)
    }
}

/// The top-K ensemble of a point calibration.
#[derive(Clone, Debug, Serialize)]
pub struct PointEnsembleSummary {
    /// Members run.
    pub members: usize,
    /// Per whole year: the members' mean ALT (m) over those with permafrost.
    pub alt_mean: Vec<(i32, Option<f64>)>,
    /// Folder of the ensemble products.
    pub output: PathBuf,
}

/// What a point calibration reports.
#[derive(Clone, Debug, Serialize)]
pub struct PointCalibrationSummary {
    /// Output folder.
    pub output: PathBuf,
    /// What is minimised.
    pub objective: String,
    /// Calibrated values.
    pub dimensions: usize,
    /// Registry values left out because they do not reach this column.
    pub left_out: Vec<String>,
    /// The default parameters' fit.
    pub default: Fit,
    /// The best set's fit.
    pub best: Fit,
    /// Evaluations in the log (the default run included).
    pub evaluations: usize,
    /// Evaluations replayed from an existing log.
    pub replayed: usize,
    /// Failed evaluations.
    pub failed: usize,
    /// Mean seconds per evaluation.
    pub mean_evaluation_seconds: f64,
    /// Wall time of the whole workflow, seconds.
    pub wall_seconds: f64,
    /// Why the loop stopped.
    pub stop: String,
    /// The top-K ensemble, with `[ensemble] enabled`.
    pub ensemble: Option<PointEnsembleSummary>,
}

/// Run a point calibration end to end (resuming an existing evaluation log).
pub fn run_point_calibration(
    exp: &Experiment,
    c: &PointCalibrationExperiment,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<PointCalibrationSummary> {
    let t_start = Instant::now();
    let out = out.unwrap_or_else(|| exp.output.clone());
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let p = &c.point;
    let sec = &c.section;

    // 1. forcing, observations, the default column and the values that reach it
    let inputs = read_point_forcing(&exp.path, p)?;
    let observations = SiteObservations::read(p, c.alt_weight)?;
    let builder = PointModelBuilder::new(&exp.path, p, &inputs)?;
    let (model, _) = builder.build(&[])?;
    if let Some((file, obs)) = &observations.ground {
        check_depths(file, obs, &model.layer_midpoints())?;
    }
    let mut space = space_of(&exp.path, &p.model, c.registry.as_deref(), &c.parameters)?;
    let left_out = restrict_to_column(&mut space, builder.soil_classes(), builder.veg_class());
    if space.dim() == 0 {
        let mut classes = builder.soil_classes().to_vec();
        classes.sort_unstable();
        classes.dedup();
        return Err(Error::config(
            &exp.path,
            "calibration.parameters",
            format!(
                "none of the parameters' values reaches this column (soil classes {classes:?}, \
                 vegetation class {})",
                builder.veg_class()
            ),
        ));
    }
    let mut manifest = crate::io::manifest::RunManifest::from_config(&exp.raw, Some(exp.seed))?;
    manifest.add_input(&exp.path)?;
    for f in inputs
        .files
        .iter()
        .chain(&p.observations)
        .chain(&p.alt_observations)
    {
        manifest.add_input(f)?;
    }
    if let Some(f) = super::point::point_parameter_file(&exp.path, p)? {
        manifest.add_input(&f)?;
    }
    manifest.add_input(&space.registry.path)?;
    manifest.write_to_dir(&out)?;
    if !quiet {
        eprintln!(
            "point calibration: {} values ({}), objective {}{}",
            space.dim(),
            space.names().join(", "),
            observations.objective_label(),
            if left_out.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} values of classes not in the column left out",
                    left_out.len()
                )
            }
        );
    }

    // 2. the calibration loop; the defaults are evaluation 0
    let objective = SiteFit {
        builder: &builder,
        inputs: &inputs,
        options: spinup_options(p),
        space: &space,
        observations: &observations,
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

    // 3. best set, top-K members, convergence
    let label = observations.objective_label();
    write_all(
        &res,
        &space,
        &PointObjective::metric_names(&objective),
        &label,
        &OutputPaths::in_dir(&out),
    )?;
    let indices: Vec<usize> = space.dims.iter().map(|d| d.index).collect();
    let whole_set = |set: &ParamSet| {
        let dims = flat_overrides(&space.registry, set, &indices);
        let mut all: Vec<(String, f64)> = builder
            .file_values()
            .iter()
            .filter(|(k, _)| !dims.iter().any(|(q, _)| q == k))
            .cloned()
            .collect();
        all.extend(dims);
        all
    };
    let model_name = space.registry.model.clone();
    let best_path = out.join("best_overrides.toml");
    write_parameter_set(
        &best_path,
        "best",
        &model_name,
        &whole_set(&res.records[best].params),
    )?;
    let top_dir = out.join("top");
    std::fs::create_dir_all(&top_dir).map_err(|e| Error::io(&top_dir, e))?;
    let mut member_files = Vec::new();
    for (k, &i) in res.top_k.iter().enumerate() {
        let f = top_dir.join(format!("member{}.toml", k + 1));
        write_parameter_set(
            &f,
            &format!("member{}", k + 1),
            &model_name,
            &whole_set(&res.records[i].params),
        )?;
        member_files.push(f);
    }

    // 4. the default and the best set as full point runs
    let with_file = |file: Option<&Path>| -> Result<PointExperiment> {
        let mut q = p.clone();
        if let Some(f) = file {
            let abs = std::path::absolute(f).map_err(|e| Error::io(f, e))?;
            q.model.parameters = Some(abs.to_string_lossy().into_owned());
        }
        Ok(q)
    };
    if !quiet {
        eprintln!("default and best sets: full point runs");
    }
    let default_run = run_point(exp, &with_file(None)?, Some(out.join("default")), true)?;
    let best_run = run_point(
        exp,
        &with_file(Some(&best_path))?,
        Some(out.join("best")),
        true,
    )?;
    write_atomic(
        &out.join("fit.csv"),
        fit_csv(&default_run, &best_run).as_bytes(),
    )?;
    let fit_of = |overrides: &[(String, f64)]| objective.fit(overrides);
    let default_fit = fit_of(&[])?;
    let best_fit = fit_of(&space.dim_overrides(&res.records[best].params))?;

    // 5. the top-K ensemble
    let ensemble = if c.ensemble.enabled {
        Some(run_point_ensemble(
            &builder,
            &inputs,
            &spinup_options(p),
            &res.top_k
                .iter()
                .map(|&i| space.dim_overrides(&res.records[i].params))
                .collect::<Vec<_>>(),
            &observations,
            &out.join("ensemble"),
        )?)
    } else {
        None
    };

    // 6. summary
    let failed = res.records.iter().filter(|r| !r.evaluation.is_ok()).count();
    let mean_eval = if res.eval_seconds.is_empty() {
        f64::NAN
    } else {
        res.eval_seconds.iter().sum::<f64>() / res.eval_seconds.len() as f64
    };
    let summary = PointCalibrationSummary {
        output: out.clone(),
        objective: label,
        dimensions: space.dim(),
        left_out,
        default: default_fit,
        best: best_fit,
        evaluations: res.records.len(),
        replayed: res.replayed,
        failed,
        mean_evaluation_seconds: mean_eval,
        wall_seconds: t_start.elapsed().as_secs_f64(),
        stop: format!("{:?}", res.stop),
        ensemble,
    };
    if !quiet {
        let line = |name: &str, f: &Fit| {
            let mut s = format!("{name}: objective {:.3}", f.objective);
            if let (Some(r), Some(b)) = (f.temperature_rmse, f.temperature_bias) {
                s.push_str(&format!(
                    "; ground temperature RMSE {r:.2} C, bias {b:+.2} C ({} pairs)",
                    f.temperature_pairs
                ));
            }
            if let (Some(r), Some(b)) = (f.alt_rmse, f.alt_bias) {
                s.push_str(&format!(
                    "; ALT RMSE {r:.2} m, bias {b:+.2} m ({} years)",
                    f.alt_years
                ));
            }
            s
        };
        eprintln!("{}", line("default", &summary.default));
        eprintln!("{}", line("best", &summary.best));
    }
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&out.join("summary.json"), json.as_bytes())?;
    Ok(summary)
}

/// `fit.csv`: per observed depth (and ALT), the default and the best set's
/// n, RMSE and bias.
fn fit_csv(default: &PointSummary, best: &PointSummary) -> String {
    let mut s = String::from("depth_m,n,rmse_default,rmse_best,bias_default,bias_best\n");
    if let (Some(d), Some(b)) = (&default.observed, &best.observed) {
        for (x, y) in d.depths.iter().zip(&b.depths) {
            s.push_str(&format!(
                "{},{},{:.4},{:.4},{:.4},{:.4}\n",
                x.depth_m, x.scores.n, x.scores.rmse, y.scores.rmse, x.scores.bias, y.scores.bias
            ));
        }
    }
    if let (Some(d), Some(b)) = (
        default
            .observed_alt
            .as_ref()
            .and_then(|c| c.scores.as_ref()),
        best.observed_alt.as_ref().and_then(|c| c.scores.as_ref()),
    ) {
        s.push_str(&format!(
            "alt,{},{:.4},{:.4},{:.4},{:.4}\n",
            d.n, d.rmse, b.rmse, d.bias, b.bias
        ));
    }
    s
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// Run the members and write their annual diagnostics and the ensemble's.
fn run_point_ensemble(
    builder: &PointModelBuilder,
    inputs: &PointInputs,
    options: &SpinupOptions,
    members: &[Vec<(String, f64)>],
    observations: &SiteObservations,
    dir: &Path,
) -> Result<PointEnsembleSummary> {
    use crate::report::plot::{line_plot, Series};
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let runs: Vec<Vec<AnnualDiagnostics>> = members
        .par_iter()
        .map(|o| simulate(builder, inputs, options, o, false).map(|r| r.1))
        .collect::<Result<_>>()?;
    let fmt = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
    let finite = |x: f64| x.is_finite().then_some(x);
    let mut per_member = String::from("member,year,alt_m,ttop_c,gt10m_c,magt_c,class\n");
    for (k, annual) in runs.iter().enumerate() {
        for a in annual {
            per_member.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                k + 1,
                a.year,
                fmt(a.alt),
                fmt(a.ttop),
                fmt(finite(a.gt10m)),
                fmt(finite(a.magt)),
                a.class.code()
            ));
        }
    }
    write_atomic(&dir.join("annual_members.csv"), per_member.as_bytes())?;
    let years: Vec<i32> = runs
        .first()
        .map_or(Vec::new(), |r| r.iter().map(|a| a.year).collect());
    let mut table = String::from(
        "year,members,permafrost_members,alt_mean_m,alt_sd_m,alt_min_m,alt_max_m,ttop_mean_c,ttop_sd_c,gt10m_mean_c,gt10m_sd_c,magt_mean_c,magt_sd_c\n",
    );
    let mut alt_mean = Vec::new();
    let (mut mean_pts, mut lo_pts, mut hi_pts) = (Vec::new(), Vec::new(), Vec::new());
    for (i, &year) in years.iter().enumerate() {
        let of = |get: &dyn Fn(&AnnualDiagnostics) -> Option<f64>| -> Vec<f64> {
            runs.iter().filter_map(|r| r.get(i).and_then(get)).collect()
        };
        let alt = of(&|a| a.alt);
        let ttop = of(&|a| a.ttop);
        let gt10 = of(&|a| finite(a.gt10m));
        let magt = of(&|a| finite(a.magt));
        let cell = |v: &[f64]| {
            if v.is_empty() {
                ",".to_string()
            } else {
                let (m, sd) = mean_sd(v);
                format!("{m:.3},{sd:.3}")
            }
        };
        let (lo, hi) = alt
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        table.push_str(&format!(
            "{year},{},{},{},{},{},{},{}\n",
            runs.len(),
            alt.len(),
            cell(&alt),
            if alt.is_empty() {
                ",".to_string()
            } else {
                format!("{lo:.3},{hi:.3}")
            },
            cell(&ttop),
            cell(&gt10),
            cell(&magt)
        ));
        let m = (!alt.is_empty()).then(|| mean_sd(&alt).0);
        alt_mean.push((year, m));
        if let Some(m) = m {
            let y = f64::from(year);
            mean_pts.push((y, m));
            lo_pts.push((y, lo));
            hi_pts.push((y, hi));
        }
    }
    write_atomic(&dir.join("annual.csv"), table.as_bytes())?;
    if !mean_pts.is_empty() {
        let mut series = vec![
            Series {
                name: "ensemble mean".into(),
                points: mean_pts,
            },
            Series {
                name: "member minimum".into(),
                points: lo_pts,
            },
            Series {
                name: "member maximum".into(),
                points: hi_pts,
            },
        ];
        if let Some((obs, _)) = &observations.alt {
            series.push(Series {
                name: "observed".into(),
                points: obs.iter().map(|o| (f64::from(o.year), o.alt)).collect(),
            });
        }
        line_plot(
            dir.join("alt.png"),
            &series,
            &format!("Active-layer thickness, top-{} ensemble", runs.len()),
            "year",
            "ALT (m)",
        )?;
    }
    Ok(PointEnsembleSummary {
        members: runs.len(),
        alt_mean,
        output: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmse_and_bias_of_pairs() {
        // Differences +1, -1, +3: RMSE sqrt(11/3), bias 1.
        let (r, b, n) = rmse_bias([(1.0, 0.0), (0.0, 1.0), (5.0, 2.0)].into_iter()).unwrap();
        assert_eq!(n, 3);
        assert!((r - (11.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((b - 1.0).abs() < 1e-15);
        assert!(rmse_bias(std::iter::empty()).is_none());
    }

    #[test]
    fn daily_means_average_each_day() {
        let d1 = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let mut m = DailyMeans::default();
        m.add(d1, &[T_FREEZE + 1.0, T_FREEZE]);
        m.add(d1, &[T_FREEZE + 3.0, T_FREEZE - 2.0]);
        m.add(d2, &[T_FREEZE - 1.0, T_FREEZE + 4.0]);
        m.flush();
        assert_eq!(m.days, vec![d1, d2]);
        let want = [2.0, -1.0, -1.0, 4.0];
        for (a, b) in m.temps.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
