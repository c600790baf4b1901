//! A gridded domain ready to run: forcing opened for streaming, static maps,
//! active cells, the model's tables, and the rule that turns a cell and a
//! parameter set into a column.
//!
//! Recipe of [`DomainSetup::run`] for a list of cells and parameter sets
//! ("members"):
//! 1. split the cells into tiles whose forcing fits the memory budget;
//! 2. read one tile's forcing (spin-up and transient years) from the netCDF
//!    files, or take it from the in-memory cache when the same cells ran before;
//! 3. for every (cell, member) pair of the tile, in parallel: build the column
//!    (the cell's soil and vegetation classes, the member's parameter values),
//!    start from the equilibrium estimate of the cell's mean air temperature,
//!    spin up on the recycled spin-up years, run the transient years, and keep
//!    the annual temperature statistics;
//! 4. a failing pair is recorded with its message, never aborting the run.
//!
//! Every pair is a pure function of its inputs, so results are identical for
//! any thread count, tile size or machine split.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rayon::prelude::*;

use super::model::{column_config, tables_dir, ColumnSite, ModelTables};
use crate::column::model::{ColumnModel, InitialCondition};
use crate::column::run::{run, spin_up, SpinupOptions, SpinupStart};
use crate::config::domain::{DomainSection, PeriodSection};
use crate::config::{ModelSection, SpinupSection};
use crate::diagnostics::AnnualProfileStats;
use crate::domain::runner::CellOutcome;
use crate::domain::Grid;
use crate::forcing::netcdf::{CfForcingSpec, GriddedForcing};
use crate::forcing::synthetic::{
    read_static_maps, write_synthetic_domain, StaticMaps, SyntheticSpec, MASK_LAND,
};
use crate::forcing::PointForcing;
use crate::{Error, Result};

/// Parameter values of one member, as `ColumnConfig::set` keys and values.
pub type Overrides = Vec<(String, f64)>;

/// Per-cell annual statistics of one run.
pub type CellStats = Vec<AnnualProfileStats>;

/// Progress callback: (runs done, runs total), a run being one (cell, member) pair.
pub type ProgressFn = dyn Fn(usize, usize) + Sync;

/// The overrides that apply to one cell: keys without a class index apply
/// everywhere; `soil.<field>[k]` only where class `k` is in the cell's soil
/// profile; any other indexed key (`veg.<field>[k]`, `max_snow_albedo[k]`)
/// only where `k` is the cell's vegetation class (and is passed on without
/// the index).
pub fn cell_overrides(
    overrides: &[(String, f64)],
    soil_profile: &[usize],
    veg_class: usize,
) -> Overrides {
    let mut out = Vec::with_capacity(overrides.len());
    for (key, v) in overrides {
        let indexed = key
            .strip_suffix(']')
            .and_then(|k| k.split_once('['))
            .and_then(|(base, idx)| idx.parse::<usize>().ok().map(|i| (base, i)));
        match indexed {
            Some((base, k)) if !base.starts_with("soil.") => {
                if k == veg_class {
                    out.push((base.to_string(), *v));
                }
            }
            Some((base, k)) if base.starts_with("soil.") => {
                if soil_profile.contains(&k) {
                    out.push((key.clone(), *v));
                }
            }
            _ => out.push((key.clone(), *v)),
        }
    }
    out
}

/// Remove a `tbot_offset` override (K) and add it to the site's TBOT.
pub fn take_tbot_offset(overrides: &mut Overrides, site: &mut ColumnSite) {
    let mut offset = 0.0;
    overrides.retain(|(k, v)| {
        if k == "tbot_offset" {
            offset += v;
            false
        } else {
            true
        }
    });
    if let Some(t) = site.tbot.as_mut() {
        *t += offset;
    }
}

/// How TBOT is set per cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TbotRule {
    /// The cell's mean air temperature over the spin-up years.
    MeanAir,
    /// A constant (K).
    Constant(f64),
}

/// A domain ready to run.
pub struct DomainSetup {
    /// The experiment file (for error messages).
    pub experiment: PathBuf,
    /// The model section.
    pub model: ModelSection,
    /// The model's tables.
    pub tables: ModelTables,
    /// Forcing, opened for streaming.
    pub forcing: GriddedForcing,
    /// Static maps on the forcing grid.
    pub maps: StaticMaps,
    /// The static maps file.
    pub static_file: PathBuf,
    /// Active land cells, row-major (row 0 north).
    cells: Vec<(usize, usize)>,
    /// Layer thicknesses (m).
    pub layers: Vec<f64>,
    /// Number of top layers taking the mapped soil class.
    pub soil_layers: usize,
    /// Classes of the deeper layers.
    pub deep_soil: Vec<usize>,
    /// TBOT rule.
    pub tbot: TbotRule,
    /// Spin-up settings.
    pub spinup: SpinupOptions,
    /// The period.
    pub period: PeriodSection,
    /// Forcing step index and count covering spin-up and transient years.
    t0: usize,
    nt: usize,
    /// Memory budget of a forcing tile (bytes).
    pub tile_bytes: usize,
    cache: Mutex<Option<(Vec<(usize, usize)>, Arc<Vec<PointForcing>>)>>,
}

fn year_start(y: i32) -> Result<chrono::NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| Error::Other(format!("year {y} is out of range")))
}

impl DomainSetup {
    /// Resolve, open and check a domain from an experiment's sections.
    pub fn from_sections(
        experiment: &Path,
        domain: &DomainSection,
        model: &ModelSection,
        spinup: &SpinupSection,
        period: &PeriodSection,
    ) -> Result<Self> {
        let cfg_err = |key: &str, m: String| Error::config(experiment, key, m);
        let static_file = crate::config::resolve(experiment, "domain.static", &domain.static_maps)?;
        let forcing_dir = match &domain.forcing_dir {
            Some(d) => Some(crate::config::resolve(experiment, "domain.forcing_dir", d)?),
            None => None,
        };
        // Generate the synthetic domain on first use when asked to.
        if !static_file.exists() {
            match &domain.generate {
                Some(g) => {
                    let dir = static_file.parent().unwrap_or(Path::new(".")).to_path_buf();
                    let dt = crate::cmd::demo::parse_step(&g.step)
                        .map_err(|e| cfg_err("domain.generate.step", e.to_string()))?;
                    let mut spec = SyntheticSpec::demo(g.nx, g.ny, g.years, dt, g.seed)?;
                    spec.start_year = g.start_year;
                    eprintln!("generating the synthetic domain in {} ...", dir.display());
                    write_synthetic_domain(&dir, &spec)?;
                }
                None => {
                    return Err(cfg_err(
                        "domain.static",
                        format!("{} does not exist", static_file.display()),
                    ))
                }
            }
        }
        let spec = match domain.forcing.as_str() {
            "cmfd" => CfForcingSpec::cmfd(forcing_dir.as_deref().ok_or_else(|| {
                cfg_err("domain.forcing_dir", "required for the cmfd preset".into())
            })?)?,
            "era5" => CfForcingSpec::era5(forcing_dir.as_deref().ok_or_else(|| {
                cfg_err("domain.forcing_dir", "required for the era5 preset".into())
            })?),
            "custom" => {
                let v = domain.forcing_spec.clone().ok_or_else(|| {
                    cfg_err(
                        "domain.forcing_spec",
                        "required when forcing = \"custom\"".into(),
                    )
                })?;
                let spec: CfForcingSpec = v
                    .try_into()
                    .map_err(|e: toml::de::Error| cfg_err("domain.forcing_spec", e.to_string()))?;
                spec.resolve(experiment.parent().unwrap_or(Path::new(".")))?
            }
            other => {
                return Err(cfg_err(
                    "domain.forcing",
                    format!("unknown preset `{other}`; one of cmfd, era5, custom"),
                ))
            }
        };
        let forcing = GriddedForcing::open(&spec)?;
        let maps = read_static_maps(&static_file)?;
        forcing.grid().check_same(
            &maps.grid,
            &format!("static maps {}", static_file.display()),
        )?;

        let tables = ModelTables::load(&tables_dir(experiment, model)?)?;
        let layers = model
            .layers
            .clone()
            .unwrap_or_else(|| crate::column::config::DEFAULT_LAYERS.to_vec());
        if domain.soil_layers > layers.len() {
            return Err(cfg_err(
                "domain.soil_layers",
                format!("{} exceeds the {} layers", domain.soil_layers, layers.len()),
            ));
        }
        if domain.soil_layers + domain.deep_soil.len() != layers.len() {
            return Err(cfg_err(
                "domain.deep_soil",
                format!(
                    "{} mapped layers + {} deep classes != {} layers",
                    domain.soil_layers,
                    domain.deep_soil.len(),
                    layers.len()
                ),
            ));
        }
        for &k in &domain.deep_soil {
            tables
                .soil
                .class(k as usize)
                .map_err(|e| cfg_err("domain.deep_soil", e.to_string()))?;
        }
        let tbot = match &domain.tbot {
            toml::Value::String(s) if s == "mean-air" => TbotRule::MeanAir,
            toml::Value::Float(x) => TbotRule::Constant(*x),
            toml::Value::Integer(x) => TbotRule::Constant(*x as f64),
            other => {
                return Err(cfg_err(
                    "domain.tbot",
                    format!("`{other}`: use \"mean-air\" or a temperature in K"),
                ))
            }
        };
        if let TbotRule::Constant(t) = tbot {
            if !(150.0..350.0).contains(&t) {
                return Err(cfg_err(
                    "domain.tbot",
                    format!("{t} is not a temperature in K"),
                ));
            }
        }

        // Period: spin-up and transient years must lie inside the forcing.
        if period.spinup[1] < period.spinup[0] || period.end < period.start {
            return Err(cfg_err(
                "period",
                "years must be given first to last".into(),
            ));
        }
        let first = period.spinup[0].min(period.start);
        let last = period.spinup[1].max(period.end);
        let t_first = year_start(first)?;
        let t_end = year_start(last + 1)?;
        let t0 = forcing.time_index(t_first).ok_or_else(|| {
            cfg_err(
                "period",
                format!("the forcing starts at {}, after {t_first}", forcing.start()),
            )
        })?;
        let nt = ((t_end - t_first).num_seconds() as f64 / forcing.dt()).round() as usize;
        if t0 + nt > forcing.n_time() {
            return Err(cfg_err(
                "period",
                format!(
                    "the forcing ends at {}, before the end of {last}",
                    forcing.time(forcing.n_time() - 1)
                ),
            ));
        }

        // Cells: land cells (or the subset), row-major.
        let grid = forcing.grid().clone();
        let cells: Vec<(usize, usize)> = match &domain.cells {
            Some(list) => {
                let mut v = Vec::new();
                for &[r, c] in list {
                    let i = grid.index(r, c).ok_or_else(|| {
                        cfg_err(
                            "domain.cells",
                            format!(
                                "cell [{r}, {c}] is outside the {} x {} grid",
                                grid.ny, grid.nx
                            ),
                        )
                    })?;
                    if maps.mask[i] != MASK_LAND {
                        return Err(cfg_err(
                            "domain.cells",
                            format!("cell [{r}, {c}] is masked (lake or glacier)"),
                        ));
                    }
                    v.push((r, c));
                }
                v
            }
            None => (0..grid.ny)
                .flat_map(|r| (0..grid.nx).map(move |c| (r, c)))
                .filter(|&(r, c)| maps.mask[r * grid.nx + c] == MASK_LAND)
                .collect(),
        };

        Ok(Self {
            experiment: experiment.to_path_buf(),
            model: model.clone(),
            tables,
            forcing,
            maps,
            static_file,
            cells,
            layers,
            soil_layers: domain.soil_layers,
            deep_soil: domain.deep_soil.iter().map(|&k| k as usize).collect(),
            tbot,
            spinup: SpinupOptions {
                years: (period.spinup[1] - period.spinup[0] + 1) as usize,
                tol: spinup.tolerance,
                max_cycles: spinup.max_cycles as usize,
                start: if spinup.start == "equilibrium" {
                    SpinupStart::Equilibrium
                } else {
                    SpinupStart::AsGiven
                },
            },
            period: period.clone(),
            t0,
            nt,
            tile_bytes: domain.tile_memory_mb.max(1) * 1024 * 1024,
            cache: Mutex::new(None),
        })
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        self.forcing.grid()
    }

    /// Active land cells, row-major.
    pub fn cells(&self) -> &[(usize, usize)] {
        &self.cells
    }

    /// Years of the transient run.
    pub fn years(&self) -> Vec<i32> {
        (self.period.start..=self.period.end).collect()
    }

    /// Soil class of each layer of a cell.
    pub fn soil_profile(&self, cell: (usize, usize)) -> Vec<usize> {
        let k = self.maps.soil[cell.0 * self.grid().nx + cell.1] as usize;
        let mut v = vec![k; self.soil_layers];
        v.extend_from_slice(&self.deep_soil);
        v
    }

    /// Read the forcing of `cells` over the spin-up and transient years.
    pub fn read_forcing(&self, cells: &[(usize, usize)]) -> Result<Vec<PointForcing>> {
        let series = self.forcing.read_tile(cells, self.t0, self.nt)?;
        let grid = self.grid();
        Ok(cells
            .iter()
            .zip(series)
            .map(|(&(r, c), steps)| {
                let (lat, lon) = grid.centre(r, c);
                PointForcing {
                    source: format!("cell ({r}, {c})"),
                    start: self.forcing.time(self.t0),
                    dt: self.forcing.dt(),
                    steps,
                    lat,
                    lon,
                    z_temp: 2.0,
                    z_wind: 10.0,
                }
            })
            .collect())
    }

    /// Run one cell with one parameter set: spin-up, then the transient years.
    pub fn run_cell(
        &self,
        cell: (usize, usize),
        forcing: &PointForcing,
        overrides: &[(String, f64)],
    ) -> Result<CellStats> {
        let spin = forcing.window(
            year_start(self.period.spinup[0])?,
            year_start(self.period.spinup[1] + 1)?,
        )?;
        let transient = forcing.window(
            year_start(self.period.start)?,
            year_start(self.period.end + 1)?,
        )?;
        let mean_air =
            spin.steps.iter().map(|s| s.t_air).sum::<f64>() / spin.steps.len().max(1) as f64;
        let i = cell.0 * self.grid().nx + cell.1;
        let mut site = ColumnSite {
            layers: Some(self.layers.clone()),
            soil_classes: Some(self.soil_profile(cell)),
            veg_class: Some(self.maps.vegetation[i] as usize),
            latitude: forcing.lat,
            tbot: Some(match self.tbot {
                TbotRule::MeanAir => mean_air,
                TbotRule::Constant(t) => t,
            }),
            z_temp: forcing.z_temp,
            z_wind: forcing.z_wind,
        };
        let mut model_section = self.model.clone();
        // The map decides the layers' classes, not the model section.
        model_section.soil_classes = None;
        model_section.veg_class = None;
        let profile = site.soil_classes.clone().unwrap_or_default();
        let mut local = cell_overrides(overrides, &profile, self.maps.vegetation[i] as usize);
        take_tbot_offset(&mut local, &mut site);
        let cfg = column_config(
            &self.experiment,
            &model_section,
            &self.tables,
            &site,
            None,
            &local,
        )?;
        let model = ColumnModel::new(cfg)?;
        let mut state = model.initial_state(&InitialCondition::Equilibrium {
            t_surface: mean_air,
            saturation: 0.5,
        });
        spin_up(&model, &mut state, &spin, &self.spinup)?;
        let stats = run(&model, &mut state, &transient, &mut |_, _, _| {})?;
        Ok(stats)
    }

    /// Run `cells` for every parameter set in `members`; returns outcomes
    /// indexed `[member][cell]` in the order given.
    pub fn run(
        &self,
        cells: &[(usize, usize)],
        members: &[Overrides],
        progress: Option<&ProgressFn>,
    ) -> Result<Vec<Vec<CellOutcome<CellStats>>>> {
        let nm = members.len();
        let total = cells.len() * nm;
        let mut out: Vec<Vec<CellOutcome<CellStats>>> =
            (0..nm).map(|_| Vec::with_capacity(cells.len())).collect();
        if total == 0 {
            return Ok(out);
        }
        let per_tile = GriddedForcing::cells_per_tile(self.tile_bytes, self.nt).max(1);
        // Cache the forcing when all cells fit one tile (calibration loops rerun them).
        let cached = {
            let guard = self
                .cache
                .lock()
                .map_err(|_| Error::Other("forcing cache poisoned".into()))?;
            guard
                .as_ref()
                .filter(|(c, _)| c.as_slice() == cells)
                .map(|(_, f)| Arc::clone(f))
        };
        let mut done = 0usize;
        for (t, tile) in cells.chunks(per_tile).enumerate() {
            let forcing: Arc<Vec<PointForcing>> = match &cached {
                Some(f) => Arc::clone(f),
                None => {
                    let f = Arc::new(self.read_forcing(tile)?);
                    if cells.len() <= per_tile {
                        *self
                            .cache
                            .lock()
                            .map_err(|_| Error::Other("forcing cache poisoned".into()))? =
                            Some((cells.to_vec(), Arc::clone(&f)));
                    }
                    f
                }
            };
            let base = t * per_tile;
            let n = tile.len();
            let results: Vec<(usize, usize, std::result::Result<CellStats, String>)> = (0..n * nm)
                .into_par_iter()
                .map(|k| {
                    let (i, m) = (k / nm, k % nm);
                    let r = self
                        .run_cell(tile[i], &forcing[i], &members[m])
                        .map_err(|e| format!("cell ({}, {}): {e}", tile[i].0, tile[i].1));
                    (i, m, r)
                })
                .collect();
            for (i, m, r) in results {
                out[m].push(CellOutcome {
                    index: base + i,
                    result: r,
                });
            }
            done += n * nm;
            if let Some(p) = progress {
                p(done, total);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn overrides_follow_the_cell_classes() {
        let o = vec![
            ("general.csoil".to_string(), 2.1e6),
            ("soil.bb[7]".to_string(), 5.0),
            ("soil.bb[9]".to_string(), 4.0),
            ("veg.rsmin[7]".to_string(), 40.0),
            ("veg.rsmin[19]".to_string(), 900.0),
        ];
        let c = super::cell_overrides(&o, &[7, 7, 13], 19);
        assert_eq!(
            c,
            vec![
                ("general.csoil".to_string(), 2.1e6),
                ("soil.bb[7]".to_string(), 5.0),
                ("veg.rsmin".to_string(), 900.0),
            ]
        );
    }

    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn setup_is_send_and_sync() {
        assert_send_sync::<super::DomainSetup>();
    }
}
