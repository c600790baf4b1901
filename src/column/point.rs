//! A point experiment: build the column from the model tables and the forcing
//! file's namelist, spin up, run the transient period, and write daily.csv and
//! annual.csv atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::config::{ColumnConfig, LowerBoundary, DEFAULT_LAYERS};
use super::model::{ColumnModel, ColumnState, InitialCondition, StepFluxes};
use super::run::{run, spin_up, SpinupOptions, SpinupReport, SpinupStart};
use super::tables::{read_toml, GeneralParams, SoilTable, VegTable};
use crate::config::{resolve, PointExperiment};
use crate::diagnostics::{try_annual_diagnostics, AnnualDiagnostics};
use crate::forcing::{read_csv_forcing, read_noah_ascii, NoahHeader, PointForcing};
use crate::io::write_atomic;
use crate::physics::thermal::T_FREEZE;
use crate::{Error, Result};

/// Outcome of a point run.
#[derive(Clone, Debug)]
pub struct PointRunSummary {
    /// Spin-up report.
    pub spinup: SpinupReport,
    /// Annual diagnostics of the transient run.
    pub years: Vec<AnnualDiagnostics>,
    /// Mean energy imbalance of the transient run (W m-2).
    pub energy_closure: f64,
    /// Water imbalance of the transient run (mm per year).
    pub water_closure: f64,
    /// Files written.
    pub outputs: Vec<PathBuf>,
}

/// The folder of a model's tables: `model.tables` resolved against the
/// experiment, else `models/<name>` next to the crate (or the current folder).
pub fn tables_dir(exp_path: &Path, p: &PointExperiment) -> Result<PathBuf> {
    if let Some(t) = &p.model.tables {
        return resolve(exp_path, "model.tables", t);
    }
    let cands = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(&p.model.name),
        PathBuf::from("models").join(&p.model.name),
    ];
    cands
        .into_iter()
        .find(|c| c.join("soil.toml").is_file())
        .ok_or_else(|| {
            Error::config(
                exp_path,
                "model.tables",
                format!("tables of model `{}` not found", p.model.name),
            )
        })
}

/// Build the column configuration and initial condition of a point experiment.
pub fn build_point(
    exp_path: &Path,
    p: &PointExperiment,
) -> Result<(ColumnConfig, InitialCondition, PointForcing)> {
    let dir = tables_dir(exp_path, p)?;
    let soil: SoilTable = read_toml(&dir.join("soil.toml"))?;
    let veg: VegTable = read_toml(&dir.join("vegetation.toml"))?;
    let gen: GeneralParams = read_toml(&dir.join("general.toml"))?;
    let (header, forcing): (Option<NoahHeader>, PointForcing) = match p.forcing.format.as_str() {
        "noah-ascii" => {
            let f = read_noah_ascii(&p.forcing_path)?;
            (Some(f.header), f.forcing)
        }
        "csv" => (None, read_csv_forcing(&p.forcing_path)?),
        other => {
            return Err(Error::config(
                exp_path,
                "forcing.format",
                format!("`{other}` is not supported for point runs (noah-ascii, csv)"),
            ))
        }
    };
    let missing = |k: &str| {
        Error::config(
            exp_path,
            k,
            "required when the forcing file has no Noah namelist",
        )
    };
    let layers: Vec<f64> = match (&p.model.layers, &header) {
        (Some(l), _) => l.clone(),
        (None, Some(h)) => h.soil_layer_thickness.clone(),
        (None, None) => DEFAULT_LAYERS.to_vec(),
    };
    let classes: Vec<usize> = match (&p.model.soil_classes, &header) {
        (Some(c), _) => c.iter().map(|&x| x as usize).collect(),
        (None, Some(h)) => h.soil_htype.iter().map(|&x| x as usize).collect(),
        (None, None) => return Err(missing("model.soil_classes")),
    };
    let veg_class = match (p.model.veg_class, &header) {
        (Some(v), _) => v as usize,
        (None, Some(h)) => h.vegetation_type_index as usize,
        (None, None) => return Err(missing("model.veg_class")),
    };
    let tbot = header
        .as_ref()
        .map(|h| h.deep_soil_temperature)
        .unwrap_or(273.15);
    let mut cfg = ColumnConfig::from_tables(
        &soil,
        &veg,
        &gen,
        &layers,
        &classes,
        veg_class,
        forcing.lat,
        tbot,
    )
    .map_err(|e| Error::config(exp_path, "model", e.to_string()))?;
    cfg.z_temp = forcing.z_temp;
    cfg.z_wind = forcing.z_wind;
    let opt = |k: &str, v: &str, c: &mut ColumnConfig| {
        let czil = c.general.czil;
        c.options
            .set(k, v, czil)
            .map_err(|e| Error::config(exp_path, format!("model.{k}"), e.to_string()))
    };
    opt("freeze_curve", &p.model.freeze_curve, &mut cfg)?;
    opt("thermal_roughness", &p.model.thermal_roughness, &mut cfg)?;
    if p.model.lower_boundary == "geothermal" {
        cfg.options.lower_boundary = LowerBoundary::GeothermalFlux {
            flux: p.model.geothermal_flux.unwrap_or(0.06),
        };
    }
    if let Some(h) = &header {
        cfg.slope_class = h.slope_type_index.max(1) as usize;
        if let Some(a) = h.max_snow_albedo {
            cfg.max_snow_albedo = a;
        }
        if let (Some(lo), Some(hi)) = (h.green_vegetation_min, h.green_vegetation_max) {
            cfg.green_min = lo;
            cfg.green_max = hi;
        }
        cfg.monthly.green_fraction = h.shdfac_monthly;
        if h.usemonalb {
            cfg.monthly.albedo = h.albedo_monthly;
        }
    }
    if let Some(pf) = &p.model.parameters {
        let path = resolve(exp_path, "model.parameters", pf)?;
        let table: toml::Table = read_toml(&path)?;
        for (k, v) in &table {
            let x = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or_else(|| Error::config(&path, k, "not a number"))?;
            cfg.set(k, x)
                .map_err(|e| Error::config(&path, k, e.to_string()))?;
        }
    }
    let init = match &header {
        Some(h) => InitialCondition::Profile {
            t_soil: h.soil_temperature.clone(),
            smc: h.soil_moisture.clone(),
            t_skin: h.skin_temperature,
            swe: h.snow_equivalent * 1000.0,
            snow_depth: h.snow_depth,
            canopy_water: h.canopy_water * 1000.0,
        },
        None => InitialCondition::Equilibrium {
            t_surface: forcing.steps.iter().map(|s| s.t_air).sum::<f64>()
                / forcing.steps.len().max(1) as f64,
            saturation: 0.5,
        },
    };
    Ok((cfg, init, forcing))
}

/// Daily means of the quantities written to daily.csv.
struct DailyWriter<W: Write> {
    w: W,
    day: Option<NaiveDate>,
    n: f64,
    sums: Vec<f64>,
}

impl<W: Write> DailyWriter<W> {
    fn header(w: &mut W, n: usize, path: &Path) -> Result<()> {
        let mut cols = vec!["date".to_string()];
        for kind in ["t_soil_c", "liquid_m3m3", "ice_m3m3"] {
            for i in 1..=n {
                cols.push(format!("{kind}_{i}"));
            }
        }
        for c in [
            "snow_depth_m",
            "swe_mm",
            "t_skin_c",
            "sensible_wm2",
            "latent_wm2",
            "ground_wm2",
        ] {
            cols.push(c.into());
        }
        writeln!(w, "{}", cols.join(",")).map_err(|e| Error::io(path, e))
    }

    fn add(&mut self, day: NaiveDate, st: &ColumnState, f: &StepFluxes, path: &Path) -> Result<()> {
        if self.day.is_some_and(|d| d != day) {
            self.flush(path)?;
        }
        self.day = Some(day);
        let n = st.t_soil.len();
        if self.sums.is_empty() {
            self.sums = vec![0.0; 3 * n + 6];
        }
        for i in 0..n {
            self.sums[i] += st.t_soil[i] - T_FREEZE;
            self.sums[n + i] += st.sh2o[i];
            self.sums[2 * n + i] += (st.smc[i] - st.sh2o[i]).max(0.0);
        }
        let tail = [
            st.snow_depth,
            st.swe,
            st.t_skin - T_FREEZE,
            f.sensible,
            f.latent,
            f.ground,
        ];
        for (k, v) in tail.iter().enumerate() {
            self.sums[3 * n + k] += v;
        }
        self.n += 1.0;
        Ok(())
    }

    fn flush(&mut self, path: &Path) -> Result<()> {
        if let Some(d) = self.day {
            let mut line = d.format("%Y-%m-%d").to_string();
            for s in &self.sums {
                line.push_str(&format!(",{:.5}", s / self.n));
            }
            writeln!(self.w, "{line}").map_err(|e| Error::io(path, e))?;
        }
        self.sums.iter_mut().for_each(|s| *s = 0.0);
        self.n = 0.0;
        self.day = None;
        Ok(())
    }
}

/// Run a point experiment into `out_dir`: spin-up, transient run, daily.csv
/// (if asked) and annual.csv. Files appear only when complete.
pub fn run_point(exp_path: &Path, p: &PointExperiment, out_dir: &Path) -> Result<PointRunSummary> {
    let (cfg, init, forcing) = build_point(exp_path, p)?;
    let m = ColumnModel::new(cfg).map_err(|e| Error::config(exp_path, "model", e.to_string()))?;
    m.check_initial(&init)?;
    let mut st = m.initial_state(&init);
    let opts = SpinupOptions {
        years: p.spinup.recycle_years as usize,
        tol: p.spinup.tolerance,
        max_cycles: p.spinup.max_cycles as usize,
        start: if p.spinup.start == "initial" {
            SpinupStart::AsGiven
        } else {
            SpinupStart::Equilibrium
        },
    };
    let spin = spin_up(&m, &mut st, &forcing, &opts)?;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let daily_path = out_dir.join("daily.csv");
    let h0 = m.column_enthalpy(&st);
    let w0 = m.column_water(&st);
    let (mut e_in, mut w_in) = (0.0, 0.0);
    let dt = forcing.dt;
    let mut account = |f: &StepFluxes| {
        e_in += (f.ground - f.bottom_heat + f.water_heat) * dt;
        w_in += (f.rain + f.snowfall + f.dew
            - f.soil_evap
            - f.canopy_evap
            - f.transpiration
            - f.sublimation
            - f.surface_runoff
            - f.drainage
            + f.water_source)
            * dt;
    };
    let mut outputs = Vec::new();
    let stats = if p.output_options.daily {
        let mut stats = Vec::new();
        write_atomic(&daily_path, |w| {
            DailyWriter::header(w, m.thickness().len(), &daily_path)?;
            let mut dw = DailyWriter {
                w,
                day: None,
                n: 0.0,
                sums: Vec::new(),
            };
            let mut err = None;
            stats = run(&m, &mut st, &forcing, &mut |t, s, f| {
                account(f);
                if err.is_none() {
                    if let Err(e) = dw.add(t.date(), s, f, &daily_path) {
                        err = Some(e);
                    }
                }
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            dw.flush(&daily_path)
        })?;
        outputs.push(daily_path);
        stats
    } else {
        run(&m, &mut st, &forcing, &mut |_, _, f| account(f))?
    };
    let secs = forcing.steps.len() as f64 * dt;
    let energy_closure = (m.column_enthalpy(&st) - h0 - e_in) / secs;
    let water_closure = (m.column_water(&st) - w0 - w_in) / (secs / (365.25 * 86400.0));
    let mut years = Vec::new();
    for (i, cur) in stats.iter().enumerate() {
        let prev = if i > 0 { stats.get(i - 1) } else { None };
        years.push(try_annual_diagnostics(cur, prev, Some(10.0))?);
    }
    let annual_path = out_dir.join("annual.csv");
    write_atomic(&annual_path, |w| {
        let io = |e| Error::io(&annual_path, e);
        writeln!(
            w,
            "year,seconds,alt_m,magt10m_c,ttop_c,gt10m_c,class,margin_c"
        )
        .map_err(io)?;
        for (y, s) in years.iter().zip(&stats) {
            let opt = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_default();
            writeln!(
                w,
                "{},{:.0},{},{:.4},{},{:.4},{},{:.4}",
                y.year,
                s.seconds,
                opt(y.alt),
                y.magt,
                opt(y.ttop),
                y.gt10m,
                y.class.code(),
                y.margin
            )
            .map_err(|e| Error::io(&annual_path, e))?;
        }
        Ok(())
    })?;
    outputs.push(annual_path);
    Ok(PointRunSummary {
        spinup: spin,
        years,
        energy_closure,
        water_closure,
        outputs,
    })
}
