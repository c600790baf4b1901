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
//!
//! The cells travel as groups of neighbouring cells through a
//! [`crate::domain::distributed::Engine`] ([`DomainSetup::run_on`]): rayon
//! in this process, or MPI ranks that each read their groups' forcing from
//! the files themselves and run them with rayon, while rank 0 gathers the
//! outcomes in cell order. The other ranks take part through
//! [`serve_domain`] until rank 0 calls [`stop_workers`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{column_config, tables_dir, ColumnSite, ModelTables};
use crate::column::model::{ColumnModel, InitialCondition};
use crate::column::run::{run, spin_up, SpinupOptions, SpinupStart};
use crate::config::domain::{DomainSection, PeriodSection};
use crate::config::{ModelSection, SpinupSection};
use crate::diagnostics::AnnualProfileStats;
use crate::domain::distributed::{Engine, LocalEngine};
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
    cache: Mutex<ForcingCache>,
}

/// Forcing of cell groups kept between runs of the same cells (calibration
/// batches rerun them), up to the tile memory budget.
#[derive(Default)]
struct ForcingCache {
    groups: HashMap<Vec<(usize, usize)>, Arc<Vec<PointForcing>>>,
    bytes: usize,
}

/// What rank 0 asks the other ranks to do (see [`serve_domain`]).
#[derive(Serialize, Deserialize)]
enum Job {
    /// Run the groups of cells rank 0 hands out for these members; keep their
    /// forcing in the cache when `cache`.
    Run {
        members: Vec<Overrides>,
        cache: bool,
    },
    /// No more runs.
    Stop,
}

/// A group's outcomes `[cell][member]` (a failed run carries its message),
/// or why the group could not run at all (its forcing could not be read, or
/// the rank could not open the domain).
type GroupOutput = std::result::Result<Vec<Vec<std::result::Result<CellStats, String>>>, String>;

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
                criterion: spinup.spinup_criterion(),
            },
            period: period.clone(),
            t0,
            nt,
            tile_bytes: domain.tile_memory_mb.max(1) * 1024 * 1024,
            cache: Mutex::new(ForcingCache::default()),
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

    /// Run `cells` for every parameter set in `members` on this machine
    /// (rayon); returns outcomes indexed `[member][cell]` in the order given.
    pub fn run(
        &self,
        cells: &[(usize, usize)],
        members: &[Overrides],
        progress: Option<&ProgressFn>,
    ) -> Result<Vec<Vec<CellOutcome<CellStats>>>> {
        self.run_on(&LocalEngine::default(), cells, members, progress)
    }

    /// [`DomainSetup::run`] through `engine`, called by rank 0 (the other
    /// ranks of an MPI engine run their share inside [`serve_domain`]).
    ///
    /// The cells are cut into groups of neighbouring cells (one memory tile
    /// per group on one machine; several groups per rank under MPI, so
    /// uneven cells balance); whoever runs a group reads its forcing and runs
    /// its (cell, member) pairs in parallel. A failed pair is an outcome
    /// carrying its message; a group whose forcing cannot be read fails the
    /// whole run (the first such group in cell order is reported).
    /// `progress` gets (pairs done, pairs total) as this rank finishes groups
    /// and once at the end.
    pub fn run_on<E: Engine + ?Sized>(
        &self,
        engine: &E,
        cells: &[(usize, usize)],
        members: &[Overrides],
        progress: Option<&(dyn Fn(usize, usize) + Sync)>,
    ) -> Result<Vec<Vec<CellOutcome<CellStats>>>> {
        let nm = members.len();
        let total = cells.len() * nm;
        let mut out: Vec<Vec<CellOutcome<CellStats>>> =
            (0..nm).map(|_| Vec::with_capacity(cells.len())).collect();
        if total == 0 {
            return Ok(out);
        }
        let per_tile = GriddedForcing::cells_per_tile(self.tile_bytes, self.nt).max(1);
        // Keep the forcing when all cells fit one tile (calibration loops rerun them).
        let cache = cells.len() <= per_tile;
        if engine.size() > 1 {
            engine.broadcast(Some(Job::Run {
                members: members.to_vec(),
                cache,
            }))?;
        }
        let g = self.group_cells(cells.len(), engine.size());
        let groups: Vec<Vec<(usize, usize)>> = cells.chunks(g).map(<[_]>::to_vec).collect();
        let done = AtomicUsize::new(0);
        let run_group = |group: &Vec<(usize, usize)>| -> GroupOutput {
            let r = self.run_group(group, members, cache);
            let d = done.fetch_add(group.len() * nm, Ordering::SeqCst) + group.len() * nm;
            if let Some(p) = progress {
                p(d, total);
            }
            r
        };
        // A message carries one group per thread of a rank, so every thread of
        // a worker has a group (threads per rank are taken to be rank 0's).
        let per_message = if engine.size() > 1 {
            rayon::current_num_threads().max(1)
        } else {
            1
        };
        let results = engine
            .map(&groups, per_message, &run_group)?
            .ok_or_else(|| Error::Other("the domain run gave no outcomes on rank 0".into()))?;
        for (k, group) in results.into_iter().enumerate() {
            let outcomes = group.map_err(Error::Other)?;
            for (i, per_member) in outcomes.into_iter().enumerate() {
                for (m, result) in per_member.into_iter().enumerate().take(nm) {
                    out[m].push(CellOutcome {
                        index: k * g + i,
                        result,
                    });
                }
            }
        }
        if out.iter().any(|m| m.len() != cells.len()) {
            return Err(Error::Other(format!(
                "the domain run returned outcomes for {} cells of {}",
                out.iter().map(Vec::len).min().unwrap_or(0),
                cells.len()
            )));
        }
        if let Some(p) = progress {
            p(total, total);
        }
        Ok(out)
    }

    /// Cells per group: at most a memory tile shared by this rank's threads;
    /// on one machine one group per tile, under MPI about four groups per
    /// thread of every rank so that uneven cells balance. Results never
    /// depend on it.
    fn group_cells(&self, n_cells: usize, ranks: usize) -> usize {
        let threads = rayon::current_num_threads().max(1);
        let per_tile = GriddedForcing::cells_per_tile(self.tile_bytes, self.nt).max(1);
        let cap = (per_tile / threads).max(1);
        let want = if ranks > 1 {
            n_cells.div_ceil(4 * ranks * threads)
        } else {
            n_cells
        };
        want.clamp(1, cap)
    }

    /// The forcing of a group, from the cache or the files.
    fn group_forcing(
        &self,
        cells: &[(usize, usize)],
        cache: bool,
    ) -> Result<Arc<Vec<PointForcing>>> {
        let poisoned = || Error::Other("forcing cache poisoned".into());
        if cache {
            let guard = self.cache.lock().map_err(|_| poisoned())?;
            if let Some(f) = guard.groups.get(cells) {
                return Ok(Arc::clone(f));
            }
        }
        let f = Arc::new(self.read_forcing(cells)?);
        if cache {
            let bytes = cells.len() * self.nt * std::mem::size_of::<crate::forcing::ForcingStep>();
            let mut guard = self.cache.lock().map_err(|_| poisoned())?;
            if guard.bytes + bytes <= self.tile_bytes {
                guard.bytes += bytes;
                guard.groups.insert(cells.to_vec(), Arc::clone(&f));
            }
        }
        Ok(f)
    }

    /// Read a group's forcing and run its (cell, member) pairs in parallel.
    fn run_group(
        &self,
        cells: &[(usize, usize)],
        members: &[Overrides],
        cache: bool,
    ) -> GroupOutput {
        let forcing = self
            .group_forcing(cells, cache)
            .map_err(|e| e.to_string())?;
        let nm = members.len();
        let flat: Vec<std::result::Result<CellStats, String>> = (0..cells.len() * nm)
            .into_par_iter()
            .map(|k| {
                let (i, m) = (k / nm, k % nm);
                self.run_cell(cells[i], &forcing[i], &members[m])
                    .map_err(|e| format!("cell ({}, {}): {e}", cells[i].0, cells[i].1))
            })
            .collect();
        let mut it = flat.into_iter();
        Ok((0..cells.len())
            .map(|_| it.by_ref().take(nm).collect())
            .collect())
    }
}

/// The part of a rank other than 0 in the domain runs of an MPI run: wait
/// for rank 0's jobs and run the groups of cells it hands out, until rank 0
/// calls [`stop_workers`]. The domain is opened with `open` when the first
/// job arrives (rank 0 has prepared the files by then); when it cannot be
/// opened, every group sent here comes back as that error, and rank 0
/// reports it. Writes nothing and prints nothing; returns the number of jobs
/// served.
pub fn serve_domain<E: Engine + ?Sized>(
    engine: &E,
    open: &dyn Fn() -> Result<DomainSetup>,
) -> Result<usize> {
    let mut setup: Option<std::result::Result<DomainSetup, String>> = None;
    let mut jobs = 0;
    loop {
        match engine.broadcast::<Job>(None)? {
            Job::Stop => return Ok(jobs),
            Job::Run { members, cache } => {
                let s = &*setup.get_or_insert_with(|| {
                    open().map_err(|e| {
                        format!("rank {} could not open the domain: {e}", engine.rank())
                    })
                });
                let run_group = |group: &Vec<(usize, usize)>| -> GroupOutput {
                    match s {
                        Ok(s) => s.run_group(group, &members, cache),
                        Err(e) => Err(e.clone()),
                    }
                };
                // A failed map is reported on rank 0, which decides what comes next.
                let _ = engine.map(&[], 1, &run_group);
                jobs += 1;
            }
        }
    }
}

/// Rank 0: tell the other ranks that no more domain runs come (they leave
/// [`serve_domain`]). Nothing to do on a single rank.
pub fn stop_workers<E: Engine + ?Sized>(engine: &E) -> Result<()> {
    if engine.size() > 1 && engine.is_root() {
        engine.broadcast(Some(Job::Stop))?;
    }
    Ok(())
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
