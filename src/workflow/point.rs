//! The point workflow: one column at one site, spin-up then the transient run.
//!
//! Recipe:
//! 1. read the forcing (Noah ASCII, CSV or netCDF point series, SI units);
//! 2. build the column from the model tables, the forcing file's site values
//!    and the experiment's options and parameter overrides;
//! 3. set the initial state (the forcing file's profile, or an equilibrium
//!    estimate) and spin up by recycling the first years of forcing;
//! 4. run the whole forcing, aggregating daily means and annual statistics;
//! 5. write `daily.csv`, `annual.csv`, `spinup.csv` and `summary.json`
//!    atomically, after the run manifest written before the run started.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::model::{column_config, tables_dir, ColumnSite, ModelTables};
use crate::column::config::{ColumnConfig, LowerBoundary};
use crate::column::model::{ColumnModel, ColumnState, InitialCondition, StepFluxes};
use crate::column::run::{run, spin_up, SpinupOptions, SpinupReport, SpinupStart};
use crate::config::{Experiment, PointExperiment};
use crate::diagnostics::annual::try_annual_diagnostics;
use crate::diagnostics::{AnnualDiagnostics, AnnualProfileStats};
use crate::forcing::noah_ascii::{read_noah_ascii, NoahHeader};
use crate::forcing::{CfForcingSpec, GriddedForcing, PointForcing};
use crate::io::atomic::write_bytes_atomic;
use crate::io::manifest::RunManifest;
use crate::metrics::stats::{decadal_trend, DecadalTrend};
use crate::physics::thermal::T_FREEZE;
use crate::validate::ground::{
    check_depths, compare_alt, compare_ground, read_alt_observations, read_ground_temperatures,
    AltComparison, DepthScores, GroundComparison, GroundPair,
};
use crate::{Error, Result};

/// What a point run produced.
#[derive(Clone, Debug, Serialize)]
pub struct PointSummary {
    /// Output folder.
    pub output: PathBuf,
    /// Spin-up cycles used.
    pub spinup_cycles: usize,
    /// Simulated spin-up years.
    pub spinup_years: f64,
    /// Residual of the last spin-up cycle (K).
    pub spinup_residual: f64,
    /// Whether the spin-up reached its tolerance.
    pub spinup_converged: bool,
    /// Largest change of any layer's cycle-mean enthalpy in the last spin-up
    /// cycle, in kelvin of the layer's thawed heat capacity (NaN without one).
    pub spinup_enthalpy_residual: f64,
    /// Transient steps run.
    pub steps: usize,
    /// Mean energy imbalance of the transient run (W m-2).
    pub energy_imbalance_w_m2: f64,
    /// Water imbalance of the transient run (mm per year).
    pub water_imbalance_mm_per_year: f64,
    /// Deep soil temperature TBOT of the run (K; null with a geothermal flux).
    pub tbot_k: Option<f64>,
    /// What the forcing held, to check its units and period at a glance.
    pub forcing: ForcingSummary,
    /// Linear trends of the annual diagnostics over the transient run's
    /// whole years (per decade; null with fewer than three finite years).
    pub trends: AnnualTrends,
    /// The comparison with measured ground temperatures (`[observations] file`).
    pub observed: Option<ObservedSummary>,
    /// The comparison with measured ALT (`[observations] alt_file`).
    pub observed_alt: Option<AltComparison>,
    /// Annual diagnostics.
    pub annual: Vec<AnnualDiagnostics>,
}

/// Scores of a point run against measured ground temperatures.
#[derive(Clone, Debug, Serialize)]
pub struct ObservedSummary {
    pub file: PathBuf,
    /// Observations on days the run did not simulate.
    pub outside_run: usize,
    /// Rows without a value.
    pub missing: usize,
    /// n, RMSE, bias, MAE, r per depth.
    pub depths: Vec<DepthScores>,
}

/// The date as a year with its fraction (2008-07-02 is 2008.5).
fn decimal_year(d: NaiveDate) -> f64 {
    use chrono::Datelike;
    let len = if d.leap_year() { 366.0 } else { 365.0 };
    f64::from(d.year()) + f64::from(d.ordinal0()) / len
}

/// `observed_scatter.png` (every pair against the 1:1 line) and
/// `observed_series.png` (observed and simulated daily temperatures at each
/// depth, up to six depths).
fn observed_plots(out: &Path, c: &GroundComparison) -> Result<()> {
    use crate::report::plot::{line_plot, scatter_one_to_one, Series};
    let sim: Vec<f64> = c.pairs.iter().map(|p| p.simulated_c).collect();
    let obs: Vec<f64> = c.pairs.iter().map(|p| p.observed_c).collect();
    scatter_one_to_one(
        out.join("observed_scatter.png"),
        &sim,
        &obs,
        "Daily ground temperature, simulated against observed",
        "C",
    )?;
    let mut series = Vec::new();
    for d in c.depths.iter().take(6) {
        let at: Vec<_> = c.pairs.iter().filter(|p| p.depth_m == d.depth_m).collect();
        for (what, value) in [
            (
                "observed",
                (|p: &GroundPair| p.observed_c) as fn(&GroundPair) -> f64,
            ),
            ("simulated", |p: &GroundPair| p.simulated_c),
        ] {
            series.push(Series {
                name: format!("{what} {} m", d.depth_m),
                points: at
                    .iter()
                    .map(|p| (decimal_year(p.date), value(p)))
                    .collect(),
            });
        }
    }
    line_plot(
        out.join("observed_series.png"),
        &series,
        "Daily ground temperature at the observed depths",
        "year",
        "temperature (C)",
    )
}

/// Means of a point forcing over its whole length.
#[derive(Clone, Debug, Serialize)]
pub struct ForcingSummary {
    /// Where the series came from.
    pub source: String,
    /// Start of the first step.
    pub start: String,
    /// End of the last step.
    pub end: String,
    /// Step length (s).
    pub step_seconds: f64,
    /// Steps.
    pub steps: usize,
    /// Site latitude and longitude (degrees).
    pub lat: f64,
    pub lon: f64,
    /// Mean air temperature (C).
    pub mean_air_temperature_c: f64,
    /// Precipitation (mm per year).
    pub precipitation_mm_per_year: f64,
    /// Mean downward shortwave and longwave radiation (W m-2).
    pub mean_sw_down_w_m2: f64,
    pub mean_lw_down_w_m2: f64,
    /// Mean wind speed (m s-1), specific humidity (g/kg) and surface pressure (hPa).
    pub mean_wind_m_s: f64,
    pub mean_specific_humidity_g_kg: f64,
    pub mean_pressure_hpa: f64,
}

impl ForcingSummary {
    /// The means of `f`.
    pub fn of(f: &PointForcing) -> Self {
        let n = f.steps.len().max(1) as f64;
        let mean =
            |g: fn(&crate::forcing::ForcingStep) -> f64| f.steps.iter().map(g).sum::<f64>() / n;
        Self {
            source: f.source.clone(),
            start: f.start.format("%Y-%m-%d %H:%M").to_string(),
            end: f.time(f.steps.len()).format("%Y-%m-%d %H:%M").to_string(),
            step_seconds: f.dt,
            steps: f.steps.len(),
            lat: f.lat,
            lon: f.lon,
            mean_air_temperature_c: mean(|s| s.t_air) - T_FREEZE,
            precipitation_mm_per_year: mean(|s| s.precip) * 365.25 * 86400.0,
            mean_sw_down_w_m2: mean(|s| s.sw_down),
            mean_lw_down_w_m2: mean(|s| s.lw_down),
            mean_wind_m_s: mean(|s| s.wind),
            mean_specific_humidity_g_kg: 1000.0 * mean(|s| s.q_air),
            mean_pressure_hpa: mean(|s| s.p_air) / 100.0,
        }
    }
}

/// Decadal trends of the annual diagnostics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AnnualTrends {
    /// Active-layer thickness (m per decade), over the years with an ALT.
    pub alt_m: Option<DecadalTrend>,
    /// TTOP (K per decade), over the years with a TTOP.
    pub ttop_k: Option<DecadalTrend>,
    /// GT10m (K per decade).
    pub gt10m_k: Option<DecadalTrend>,
    /// MAGT (K per decade).
    pub magt_k: Option<DecadalTrend>,
}

impl AnnualTrends {
    /// OLS and Sen's slopes of each diagnostic against the year.
    pub fn of(annual: &[AnnualDiagnostics]) -> Self {
        let trend = |get: &dyn Fn(&AnnualDiagnostics) -> Option<f64>| {
            let (years, values): (Vec<f64>, Vec<f64>) = annual
                .iter()
                .filter_map(|a| {
                    get(a)
                        .filter(|v| v.is_finite())
                        .map(|v| (f64::from(a.year), v))
                })
                .unzip();
            if years.len() < 3 {
                return None;
            }
            decadal_trend(&years, &values).ok()
        };
        Self {
            alt_m: trend(&|a| a.alt),
            ttop_k: trend(&|a| a.ttop),
            gt10m_k: trend(&|a| Some(a.gt10m)),
            magt_k: trend(&|a| Some(a.magt)),
        }
    }

    /// One line per trend, for the console.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, unit, t) in [
            ("ALT", "m", &self.alt_m),
            ("TTOP", "K", &self.ttop_k),
            ("GT10m", "K", &self.gt10m_k),
            ("MAGT", "K", &self.magt_k),
        ] {
            if let Some(t) = t {
                let se = t
                    .ols_se_per_decade
                    .map_or(String::new(), |se| format!(", s.e. {se:.3}"));
                let p = t.mann_kendall_p.map_or(String::new(), |p| match p < 0.001 {
                    true => "; Mann-Kendall p < 0.001".to_string(),
                    false => format!("; Mann-Kendall p = {p:.3}"),
                });
                out.push(format!(
                    "{name} trend: {:+.3} {unit} per decade (OLS{se}; Sen {:+.3}{p}; {} years)",
                    t.ols_per_decade, t.sen_per_decade, t.n
                ));
            }
        }
        out
    }
}

/// `ground_temperature.png`: the daily layer temperatures of the run as a
/// time-depth section, averaged over bins of consecutive days so that a
/// long run has at most 1,200 columns.
fn ground_temperature_section(
    out: &std::path::Path,
    daily: &DailyWriter,
    thickness: &[f64],
) -> Result<()> {
    let (nd, m) = (daily.days.len(), thickness.len());
    if nd == 0 || m == 0 {
        return Ok(());
    }
    let per_bin = nd.div_ceil(1200);
    let mut x = Vec::new();
    let mut values = Vec::new();
    for start in (0..nd).step_by(per_bin) {
        let end = (start + per_bin).min(nd);
        x.push(decimal_year(daily.days[start]));
        for k in 0..m {
            let sum: f64 = (start..end).map(|d| daily.temps[d * m + k]).sum();
            values.push(sum / (end - start) as f64);
        }
    }
    // The last bin ends where the day after the last day begins.
    let last = daily.days[nd - 1];
    x.push(
        last.succ_opt()
            .map_or(decimal_year(last) + 1.0 / 365.0, decimal_year),
    );
    let mut depth = vec![0.0];
    for dz in thickness {
        depth.push(depth[depth.len() - 1] + dz);
    }
    let bin = if per_bin == 1 {
        "daily means".to_string()
    } else {
        format!("{per_bin}-day means")
    };
    crate::report::plot::depth_time_section(
        out.join("ground_temperature.png"),
        &x,
        &depth,
        &values,
        &format!("Ground temperature ({bin})"),
        "year",
        "temperature (C)",
    )
}

/// `spinup.png`: the spin-up residuals after each cycle against the
/// simulated years, on a log scale, with the tolerance.
fn spinup_plot(out: &std::path::Path, report: &SpinupReport, tolerance: f64) -> Result<()> {
    use crate::report::plot::{line_plot_log_y, Series};
    let years = |i: usize| (i + 1) as f64 * report.cycle_years;
    let series = |name: &str, v: &[f64]| Series {
        name: name.into(),
        points: v.iter().enumerate().map(|(i, &r)| (years(i), r)).collect(),
    };
    let temperature = series("annual-mean temperature", &report.history);
    let enthalpy = series("annual-mean enthalpy", &report.enthalpy_history);
    if !temperature.points.iter().any(|p| p.1 > 0.0) {
        return Ok(());
    }
    let last = years(report.history.len().saturating_sub(1));
    let tol = Series {
        name: format!("tolerance {tolerance} K"),
        points: vec![(report.cycle_years, tolerance), (last, tolerance)],
    };
    line_plot_log_y(
        out.join("spinup.png"),
        &[temperature, enthalpy, tol],
        "Spin-up: largest change of any layer between cycles",
        "simulated years",
        "change (K)",
    )
}

/// `annual.png`: ALT (left) and the annual ground temperatures of the run.
fn annual_plots(
    out: &std::path::Path,
    annual: &[AnnualDiagnostics],
    observed: Option<&AltComparison>,
) -> Result<()> {
    use crate::report::plot::{line_plot, Series};
    let year = |a: &AnnualDiagnostics| f64::from(a.year);
    let alt: Vec<(f64, f64)> = annual
        .iter()
        .filter_map(|a| a.alt.map(|v| (year(a), v)))
        .collect();
    if !alt.is_empty() {
        let mut series = vec![Series {
            name: if observed.is_some() {
                "simulated ALT"
            } else {
                "ALT"
            }
            .into(),
            points: alt,
        }];
        if let Some(c) = observed.filter(|c| !c.pairs.is_empty()) {
            series.push(Series {
                name: "observed ALT".into(),
                points: c
                    .pairs
                    .iter()
                    .map(|p| (f64::from(p.year), p.observed_m))
                    .collect(),
            });
        }
        line_plot(
            out.join("annual_alt.png"),
            &series,
            "Active-layer thickness",
            "year",
            "ALT (m)",
        )?;
    }
    let series = |name: &str, get: &dyn Fn(&AnnualDiagnostics) -> Option<f64>| Series {
        name: name.into(),
        points: annual
            .iter()
            .map(|a| (year(a), get(a).unwrap_or(f64::NAN)))
            .collect(),
    };
    let temps = [
        series("TTOP", &|a| a.ttop),
        series("GT10m", &|a| Some(a.gt10m)),
        series("MAGT", &|a| Some(a.magt)),
    ];
    if temps
        .iter()
        .any(|s| s.points.iter().any(|p| p.1.is_finite()))
    {
        line_plot(
            out.join("annual_temperature.png"),
            &temps,
            "Annual mean ground temperatures",
            "year",
            "temperature (C)",
        )?;
    }
    Ok(())
}

/// Forcing and site of a point experiment.
pub struct PointInputs {
    pub forcing: PointForcing,
    pub header: Option<NoahHeader>,
    /// The files read (for the run manifest).
    pub files: Vec<PathBuf>,
}

/// Read a point experiment's forcing.
pub fn read_point_forcing(experiment: &Path, p: &PointExperiment) -> Result<PointInputs> {
    match p.forcing.format.as_str() {
        "noah-ascii" => {
            let f = read_noah_ascii(&p.forcing_path)?;
            Ok(PointInputs {
                forcing: f.forcing,
                header: Some(f.header),
                files: vec![p.forcing_path.clone()],
            })
        }
        "csv" => Ok(PointInputs {
            forcing: crate::forcing::csv::read_csv_forcing(&p.forcing_path)?,
            header: None,
            files: vec![p.forcing_path.clone()],
        }),
        "netcdf" => read_netcdf_point(experiment, p),
        other => Err(Error::config(
            experiment,
            "forcing.format",
            format!("`{other}` is not a point format here; use noah-ascii, csv or netcdf"),
        )),
    }
}

/// The netCDF variables of a point experiment's `[forcing]` section: a
/// preset's files in the folder `path`, or the `custom` mapping with file
/// names relative to it.
pub fn point_forcing_spec(experiment: &Path, p: &PointExperiment) -> Result<CfForcingSpec> {
    let dir = &p.forcing_path;
    let cfg_err = |key: &str, m: String| Error::config(experiment, format!("forcing.{key}"), m);
    if !dir.is_dir() {
        return Err(cfg_err(
            "path",
            format!(
                "{} is not a folder (netcdf takes the folder of the forcing files)",
                dir.display()
            ),
        ));
    }
    match (p.forcing.preset.as_deref(), &p.forcing.spec) {
        (Some("era5"), _) => Ok(CfForcingSpec::era5(dir)),
        (Some("cmfd"), _) => CfForcingSpec::cmfd(dir),
        (Some("custom"), Some(v)) => {
            let spec: CfForcingSpec = v
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| cfg_err("spec", e.message().to_string()))?;
            spec.resolve(dir)
        }
        _ => Err(cfg_err(
            "preset",
            "one of era5, cmfd (or custom with [forcing.spec])".into(),
        )),
    }
}

/// Read a point experiment's netCDF forcing: the files' only cell, or on a
/// grid the `cell` or the one containing `lat`, `lon`.
fn read_netcdf_point(experiment: &Path, p: &PointExperiment) -> Result<PointInputs> {
    let spec = point_forcing_spec(experiment, p)?;
    let g = GriddedForcing::open(&spec)?;
    let grid = g.grid().clone();
    let cfg_err = |key: &str, m: String| Error::config(experiment, format!("forcing.{key}"), m);
    let (row, col) = match (p.forcing.cell, p.forcing.lat.zip(p.forcing.lon)) {
        (Some([r, c]), _) => {
            if r >= grid.ny || c >= grid.nx {
                return Err(cfg_err(
                    "cell",
                    format!(
                        "[{r}, {c}] is outside the forcing grid of {} rows x {} columns",
                        grid.ny, grid.nx
                    ),
                ));
            }
            (r, c)
        }
        (None, Some((lat, lon))) if grid.n_cells() > 1 => grid.locate(lat, lon).ok_or_else(|| {
            cfg_err(
                "lat",
                format!(
                    "({lat}, {lon}) lies outside the forcing grid (north edge {}, west edge {}, {} x {} cells of {} x {} degrees)",
                    grid.lat0, grid.lon0, grid.ny, grid.nx, grid.dlat, grid.dlon
                ),
            )
        })?,
        _ if grid.n_cells() == 1 => (0, 0),
        _ => {
            return Err(cfg_err(
                "cell",
                format!(
                    "the forcing files hold a grid of {} rows x {} columns; give cell = [row, col] or lat and lon",
                    grid.ny, grid.nx
                ),
            ))
        }
    };
    let forcing = g.read_point(row, col)?;
    Ok(PointInputs {
        forcing,
        header: None,
        files: g.files(),
    })
}

/// The point experiment's `model.parameters` file (a parameter set such as
/// a calibration's `best_overrides.toml`), resolved.
pub fn point_parameter_file(experiment: &Path, p: &PointExperiment) -> Result<Option<PathBuf>> {
    let Some(f) = p.model.parameters.as_deref() else {
        return Ok(None);
    };
    let path = crate::config::resolve(experiment, "model.parameters", f)?;
    if !path.is_file() {
        return Err(Error::config(
            experiment,
            "model.parameters",
            format!("no parameter-set file at {}", path.display()),
        ));
    }
    Ok(Some(path))
}

/// What a point experiment's column models are built from, read once: its
/// tables, the forcing file's site, the values of `model.parameters`, and
/// the column's soil and vegetation classes. A sensitivity study builds one
/// model per parameter set from it.
pub struct PointModelBuilder<'a> {
    experiment: &'a Path,
    p: &'a PointExperiment,
    inputs: &'a PointInputs,
    tables: ModelTables,
    site: ColumnSite,
    file_values: Vec<(String, f64)>,
    soil_classes: Vec<usize>,
    veg_class: usize,
}

impl<'a> PointModelBuilder<'a> {
    /// Read the tables and the parameter-set file and find the column's classes.
    pub fn new(
        experiment: &'a Path,
        p: &'a PointExperiment,
        inputs: &'a PointInputs,
    ) -> Result<Self> {
        let tables = ModelTables::load(&tables_dir(experiment, &p.model)?)?;
        let f = &inputs.forcing;
        let mut site = match &inputs.header {
            Some(h) => ColumnSite::from_noah_header(h),
            None => ColumnSite {
                latitude: f.lat,
                ..Default::default()
            },
        };
        site.z_temp = f.z_temp;
        site.z_wind = f.z_wind;
        if p.model.tbot_mean_air() {
            site.tbot = Some(mean_air_temperature(
                f,
                p.spinup.recycle_years.max(1) as usize,
            ));
        }
        let file_values = match point_parameter_file(experiment, p)? {
            Some(path) => super::hindcast::read_parameter_set(&path)?.1,
            None => Vec::new(),
        };
        let mut b = Self {
            experiment,
            p,
            inputs,
            tables,
            site,
            file_values,
            soil_classes: Vec::new(),
            veg_class: 0,
        };
        let plain = b.config(&b.site, &[])?;
        b.soil_classes = plain.soil.iter().map(|c| c.index).collect();
        b.veg_class = plain.veg.index;
        Ok(b)
    }

    /// The soil class of each layer, top down.
    pub fn soil_classes(&self) -> &[usize] {
        &self.soil_classes
    }

    /// The column's vegetation class.
    pub fn veg_class(&self) -> usize {
        self.veg_class
    }

    /// The values of the experiment's `model.parameters` file.
    pub fn file_values(&self) -> &[(String, f64)] {
        &self.file_values
    }

    fn config(&self, site: &ColumnSite, values: &[(String, f64)]) -> Result<ColumnConfig> {
        column_config(
            self.experiment,
            &self.p.model,
            &self.tables,
            site,
            self.inputs.header.as_ref(),
            values,
        )
    }

    /// The column model and its initial state with the parameter-set file's
    /// values and then `overrides` (`ColumnConfig::set` keys, class-indexed
    /// as in a parameter-set file; a class-indexed value applies where its
    /// class is the column's).
    pub fn build(&self, overrides: &[(String, f64)]) -> Result<(ColumnModel, ColumnState)> {
        let (experiment, p, inputs) = (self.experiment, self.p, self.inputs);
        let mut all = self.file_values.clone();
        all.retain(|(k, _)| !overrides.iter().any(|(q, _)| q == k));
        all.extend(overrides.iter().cloned());
        let mut all = super::domain::cell_overrides(&all, &self.soil_classes, self.veg_class);
        let mut site = self.site.clone();
        super::domain::take_tbot_offset(&mut all, &mut site);
        let cfg = self.config(&site, &all)?;
        let model =
            ColumnModel::new(cfg).map_err(|e| Error::config(experiment, "model", e.to_string()))?;
        let init = match (&inputs.header, p.spinup.start.as_str()) {
            (Some(h), _) if h.soil_temperature.len() == model.thickness().len() => {
                InitialCondition::Profile {
                    t_soil: h.soil_temperature.clone(),
                    smc: h.soil_moisture.clone(),
                    t_skin: h.skin_temperature,
                    swe: h.snow_equivalent,
                    snow_depth: h.snow_depth,
                    canopy_water: h.canopy_water,
                    liquid: Some(h.soil_liquid.clone()),
                }
            }
            (_, "initial") => return Err(Error::config(
                experiment,
                "spinup.start",
                "`initial` needs a forcing file with an initial profile for every layer (Noah ASCII)",
            )),
            _ => InitialCondition::Equilibrium {
                t_surface: first_year_mean_air_temperature(&inputs.forcing),
                saturation: 0.5,
            },
        };
        model.check_initial(&init).map_err(|e| {
            Error::config(experiment, "forcing.path", format!("initial state: {e}"))
        })?;
        let state = model.initial_state(&init);
        Ok((model, state))
    }
}

/// Build the column model and its initial state for a point experiment (see
/// [`PointModelBuilder::build`]).
pub fn build_point_model(
    experiment: &Path,
    p: &PointExperiment,
    inputs: &PointInputs,
    overrides: &[(String, f64)],
) -> Result<(ColumnModel, ColumnState)> {
    PointModelBuilder::new(experiment, p, inputs)?.build(overrides)
}

/// Mean air temperature (K) of the first 365 days of forcing (or all of it).
pub fn first_year_mean_air_temperature(f: &PointForcing) -> f64 {
    mean_air_temperature(f, 1)
}

/// Mean air temperature (K) of the first `years` x 365 days of forcing (or all of it).
pub fn mean_air_temperature(f: &PointForcing, years: usize) -> f64 {
    let n =
        ((years as f64 * 365.0 * 86400.0 / f.dt).round() as usize).clamp(1, f.steps.len().max(1));
    f.steps.iter().take(n).map(|s| s.t_air).sum::<f64>() / n as f64
}

/// Spin-up options of a point experiment.
pub fn spinup_options(p: &PointExperiment) -> SpinupOptions {
    SpinupOptions {
        years: p.spinup.recycle_years as usize,
        tol: p.spinup.tolerance,
        max_cycles: p.spinup.max_cycles as usize,
        start: if p.spinup.start == "equilibrium" {
            SpinupStart::Equilibrium
        } else {
            SpinupStart::AsGiven
        },
        criterion: p.spinup.spinup_criterion(),
    }
}

/// Daily means of the transient run.
struct DailyWriter {
    rows: Vec<u8>,
    day: Option<NaiveDate>,
    n: usize,
    sums: Vec<f64>,
    layers: usize,
    /// The days written, and their layer temperatures (C), day by day.
    days: Vec<NaiveDate>,
    temps: Vec<f64>,
}

impl DailyWriter {
    fn new(layers: usize) -> Self {
        let mut rows = Vec::new();
        let mut head = String::from(
            "date,t_skin_c,snow_depth_m,swe_mm,sensible_w_m2,latent_w_m2,ground_w_m2,sw_net_w_m2,lw_net_w_m2",
        );
        for k in 1..=layers {
            head.push_str(&format!(",t{k}_c"));
        }
        for k in 1..=layers {
            head.push_str(&format!(",liq{k}_m3m3"));
        }
        for k in 1..=layers {
            head.push_str(&format!(",ice{k}_m3m3"));
        }
        head.push('\n');
        rows.extend_from_slice(head.as_bytes());
        Self {
            rows,
            day: None,
            n: 0,
            sums: vec![0.0; 8 + 3 * layers],
            layers,
            days: Vec::new(),
            temps: Vec::new(),
        }
    }

    fn add(&mut self, t: NaiveDateTime, st: &ColumnState, fl: &StepFluxes) {
        let day = t.date();
        if self.day != Some(day) {
            self.flush();
            self.day = Some(day);
        }
        let v = &mut self.sums;
        v[0] += st.t_skin - T_FREEZE;
        v[1] += st.snow_depth;
        v[2] += st.swe;
        v[3] += fl.sensible;
        v[4] += fl.latent;
        v[5] += fl.ground;
        v[6] += fl.sw_net;
        v[7] += fl.lw_net;
        let n = self.layers;
        for k in 0..n {
            v[8 + k] += st.t_soil[k] - T_FREEZE;
            v[8 + n + k] += st.sh2o[k];
            v[8 + 2 * n + k] += (st.smc[k] - st.sh2o[k]).max(0.0);
        }
        self.n += 1;
    }

    fn flush(&mut self) {
        if let (Some(day), true) = (self.day, self.n > 0) {
            self.days.push(day);
            let n = self.n as f64;
            self.temps
                .extend(self.sums[8..8 + self.layers].iter().map(|t| t / n));
            let _ = write!(self.rows, "{day}");
            for (i, s) in self.sums.iter_mut().enumerate() {
                let mean = *s / self.n as f64;
                let digits = if i >= 8 + self.layers { 4 } else { 3 };
                let _ = write!(self.rows, ",{mean:.digits$}");
                *s = 0.0;
            }
            self.rows.push(b'\n');
        }
        self.n = 0;
    }
}

/// Write `annual.csv`.
pub fn annual_csv(annual: &[AnnualDiagnostics]) -> String {
    let mut s = String::from("year,alt_m,ttop_c,gt10m_c,magt_c,class,margin_c\n");
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.3}")
        } else {
            String::new()
        }
    };
    for a in annual {
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            a.year,
            opt(a.alt),
            opt(a.ttop),
            num(a.gt10m),
            num(a.magt),
            a.class.code(),
            num(a.margin)
        ));
    }
    s
}

/// Diagnostics of every whole year of a run (a partial year shorter than 360
/// days is left out; the preceding year feeds the two-year permafrost rule).
pub fn diagnostics_of(stats: &[AnnualProfileStats]) -> Result<Vec<AnnualDiagnostics>> {
    let mut out = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        if s.seconds < 360.0 * 86400.0 {
            continue;
        }
        let prev = if i > 0 { stats.get(i - 1) } else { None };
        out.push(try_annual_diagnostics(s, prev, None)?);
    }
    Ok(out)
}

fn write_spinup_csv(report: &SpinupReport) -> String {
    let mut s = String::from("cycle,simulated_years,residual_k,enthalpy_residual_k\n");
    let cell = |r: f64| {
        if r.is_finite() {
            format!("{r:.6}")
        } else {
            String::new()
        }
    };
    for (i, (r, h)) in report
        .history
        .iter()
        .zip(&report.enthalpy_history)
        .enumerate()
    {
        s.push_str(&format!(
            "{},{:.2},{},{}\n",
            i + 1,
            (i + 1) as f64 * report.cycle_years,
            cell(*r),
            cell(*h)
        ));
    }
    s
}

/// Run a point experiment; `out` overrides the experiment's output folder.
pub fn run_point(
    exp: &Experiment,
    p: &PointExperiment,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<PointSummary> {
    let out = out.unwrap_or_else(|| exp.output.clone());
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;

    // 1. forcing, and the manifest before anything long starts
    let inputs = read_point_forcing(&exp.path, p)?;
    let mut manifest = RunManifest::from_config(&exp.raw, Some(exp.seed))?;
    manifest.add_input(&exp.path)?;
    for f in &inputs.files {
        manifest.add_input(f)?;
    }
    if let Some(f) = point_parameter_file(&exp.path, p)? {
        manifest.add_input(&f)?;
    }
    // Observations are read before the run, so that a bad file fails at once.
    let observations = match &p.observations {
        Some(f) => {
            manifest.add_input(f)?;
            Some((f.clone(), read_ground_temperatures(f)?))
        }
        None => None,
    };
    let alt_observations = match &p.alt_observations {
        Some(f) => {
            manifest.add_input(f)?;
            Some(read_alt_observations(f)?)
        }
        None => None,
    };

    // 2-3. model, initial state, spin-up
    let (model, mut state) = build_point_model(&exp.path, p, &inputs, &[])?;
    if let Some((file, obs)) = &observations {
        check_depths(file, obs, &model.layer_midpoints())?;
    }
    manifest.write_to_dir(&out)?;
    let report = spin_up(&model, &mut state, &inputs.forcing, &spinup_options(p))?;
    if !quiet && report.cycles == 0 {
        eprintln!("spin-up: none (max_cycles = 0); the run starts from the initial state");
    } else if !quiet {
        eprintln!(
            "spin-up: {} cycles ({:.0} simulated years), residual {:.4} K{}",
            report.cycles,
            report.simulated_years,
            report.residual,
            if report.converged {
                ""
            } else {
                " (tolerance not reached)"
            }
        );
        let dh = report.enthalpy_residual();
        if report.converged && dh >= p.spinup.tolerance {
            eprintln!(
                "warning: the layers' annual-mean temperatures settled but their enthalpy still \
                 changes by {dh:.4} K a cycle (ice melting or growing at 0 C, the zero curtain); \
                 [spinup] criterion = \"enthalpy\" spins up until that settles too"
            );
        }
    }

    // 4. transient run
    let mut daily = DailyWriter::new(model.thickness().len());
    let (mut e_sum, mut w_sum, mut steps) = (0.0, 0.0, 0usize);
    let want_daily = p.output_options.daily || p.output_options.plots || observations.is_some();
    let stats = run(&model, &mut state, &inputs.forcing, &mut |t, st, fl| {
        if want_daily {
            daily.add(t, st, fl);
        }
        e_sum += fl.energy_residual;
        w_sum += fl.water_residual;
        steps += 1;
    })?;
    daily.flush();
    let annual = diagnostics_of(&stats)?;
    let years = steps as f64 * inputs.forcing.dt / (365.25 * 86400.0);

    // 5. outputs
    if p.output_options.daily {
        write_bytes_atomic(out.join("daily.csv"), &daily.rows)?;
    }
    let annual_text = annual_csv(&annual);
    write_bytes_atomic(out.join("annual.csv"), annual_text.as_bytes())?;
    let spin_text = write_spinup_csv(&report);
    write_bytes_atomic(out.join("spinup.csv"), spin_text.as_bytes())?;
    let observed_alt = alt_observations.map(|(obs, missing)| {
        let sim: Vec<(i32, Option<f64>)> = annual.iter().map(|a| (a.year, a.alt)).collect();
        compare_alt(&obs, missing, &sim)
    });
    if let Some(c) = &observed_alt {
        write_bytes_atomic(out.join("observed_alt.csv"), c.pairs_csv().as_bytes())?;
        if !quiet {
            let s = c.scores.as_ref().map_or(String::new(), |x| {
                format!(
                    ": RMSE {:.2} m, bias {:+.2} m, r {:.2}",
                    x.rmse, x.bias, x.r
                )
            });
            eprintln!(
                "observed ALT: {} years paired ({} outside the run, {} without simulated permafrost, \
                 {} without a value){s}",
                c.pairs.len(),
                c.outside_run,
                c.no_simulated_alt,
                c.missing
            );
        }
    }
    let observed = match &observations {
        Some((file, obs)) => {
            let mids = model.layer_midpoints();
            let c = compare_ground(file, obs, &daily.days, &daily.temps, &mids)?;
            write_bytes_atomic(out.join("observed_pairs.csv"), c.pairs_csv().as_bytes())?;
            write_bytes_atomic(out.join("observed_scores.csv"), c.scores_csv().as_bytes())?;
            if p.output_options.plots && !c.pairs.is_empty() {
                observed_plots(&out, &c)?;
            }
            if !quiet {
                eprintln!(
                    "observed ground temperatures: {} pairs ({} on days outside the run, {} without a value)",
                    c.pairs.len(),
                    c.outside_run,
                    c.missing
                );
                for d in &c.depths {
                    let x = &d.scores;
                    eprintln!(
                        "  at {} m: n {}, RMSE {:.2} K, bias {:+.2} K, r {:.2}",
                        d.depth_m, x.n, x.rmse, x.bias, x.r
                    );
                }
            }
            Some(ObservedSummary {
                file: file.clone(),
                outside_run: c.outside_run,
                missing: c.missing,
                depths: c.depths,
            })
        }
        None => None,
    };
    let summary = PointSummary {
        output: out.clone(),
        spinup_cycles: report.cycles,
        spinup_years: report.simulated_years,
        spinup_residual: report.residual,
        spinup_converged: report.converged,
        spinup_enthalpy_residual: report.enthalpy_residual(),
        steps,
        energy_imbalance_w_m2: if steps > 0 { e_sum / steps as f64 } else { 0.0 },
        water_imbalance_mm_per_year: if years > 0.0 { w_sum / years } else { 0.0 },
        tbot_k: match model.config().options.lower_boundary {
            LowerBoundary::FixedTemperature { tbot, .. } => Some(tbot),
            LowerBoundary::GeothermalFlux { .. } => None,
        },
        forcing: ForcingSummary::of(&inputs.forcing),
        trends: AnnualTrends::of(&annual),
        observed,
        observed_alt,
        annual,
    };
    if p.output_options.plots {
        annual_plots(&out, &summary.annual, summary.observed_alt.as_ref())?;
        spinup_plot(&out, &report, p.spinup.tolerance)?;
        ground_temperature_section(&out, &daily, model.thickness())?;
    }
    if !quiet {
        for line in summary.trends.lines() {
            eprintln!("{line}");
        }
    }
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Other(e.to_string()))?;
    write_bytes_atomic(out.join("summary.json"), &json)?;
    Ok(summary)
}
