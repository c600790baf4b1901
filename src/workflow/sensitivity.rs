//! The sensitivity workflow: a Morris or Sobol study of the column model over
//! a gridded domain or at one point, with the parameters and ranges of the
//! model's registry.
//!
//! A point study (`[forcing]` as in a point experiment instead of `[domain]`
//! and `[period]`) varies only the values that reach the column: the soil
//! classes of its layers and its vegetation class. Each parameter set is spun
//! up and run over the whole forcing as a point run would be, and its outputs
//! are means over the run's whole years: `alt` (m) and `ttop` (C) over the
//! years with permafrost, `gt10m`, `magt` and `margin` (C; the permafrost
//! margin of [`crate::diagnostics::AnnualDiagnostics::margin`], negative with
//! permafrost, continuous across its loss) and `permafrost_years` (the share
//! of years classed permafrost). A set whose run has no permafrost year has
//! no `alt` and `ttop`: where some sets do, a Morris study analyses those two
//! on the trajectories without such a set and a Sobol study leaves them out
//! (the other outputs are analysed either way); `margin` and
//! `permafrost_years` tell how the parameters move the site towards losing
//! its permafrost.
//!
//! A domain study, step by step:
//! 1. open the domain and the registry; the study's parameters are registry
//!    names (per-class parameters vary every class separately);
//! 2. the study runner draws the design (seeded) and hands rows in batches to
//!    the objective, checkpointing every evaluated row so a rerun resumes;
//! 3. the objective maps each row from the unit cube to physical values,
//!    runs every cell of the domain for all rows of the batch in parallel, and
//!    returns the requested scalar outputs of the last simulated year:
//!    `kappa` (against `[reference]`), `mean_alt` (m, over permafrost cells),
//!    `magt` and `gt10m` (C, domain means) and `permafrost_area` (fraction);
//! 4. indices, ranked bar charts and `screened.toml` are written by the study.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::domain::{cell_overrides, DomainSetup};
use super::model::tables_dir;
use super::point::{diagnostics_of, read_point_forcing, spinup_options, PointModelBuilder};
use crate::calibrate::registry::{ParamSpace, Registry};
use crate::column::run::{run, spin_up};
use crate::config::domain::{DomainSection, PeriodSection};
use crate::config::{ModelSection, SpinupSection};
use crate::config::{PointExperiment, PointForcingSection};
use crate::diagnostics::annual::annual_diagnostics;
use crate::diagnostics::AnnualDiagnostics;
use crate::diagnostics::FrozenClass;
use crate::io::geotiff::{read_geotiff, RasterGrid};
use crate::metrics::kappa::{score_class_codes, ClassScheme, KappaWeights};
use crate::sensitivity::section::SensitivitySection;
use crate::sensitivity::study::{RunOptions, Study, StudyResults};
use crate::{Error, Result};

/// A reference map to score simulated maps against.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSection {
    /// The reference class map (GeoTIFF, codes 1 permafrost, 2 seasonally
    /// frozen, 3 non-frozen; its nodata honoured), on the domain's grid.
    pub map: String,
    /// The simulated year compared with it (default: the last year).
    pub year: Option<i32>,
    /// 2 (permafrost or not) or 3 classes.
    #[serde(default = "two")]
    pub classes: u32,
}

fn two() -> u32 {
    2
}

/// What a sensitivity study runs.
#[derive(Clone, Debug)]
pub enum StudyTarget {
    /// Every cell of a gridded domain over a period.
    Domain {
        domain: DomainSection,
        period: PeriodSection,
    },
    /// One column on point forcing (as a point experiment's `[forcing]`).
    Point {
        forcing: PointForcingSection,
        /// The forcing path, resolved.
        forcing_path: PathBuf,
    },
}

/// A sensitivity experiment, resolved.
#[derive(Clone, Debug)]
pub struct SensitivityExperiment {
    pub model: ModelSection,
    pub target: StudyTarget,
    pub spinup: SpinupSection,
    pub reference: Option<ReferenceSection>,
    pub section: SensitivitySection,
}

/// Outputs the objective of a domain study can return.
pub const OUTPUTS: [&str; 5] = ["kappa", "mean_alt", "magt", "gt10m", "permafrost_area"];

/// Outputs the objective of a point study can return.
pub const POINT_OUTPUTS: [&str; 6] = ["alt", "ttop", "gt10m", "magt", "margin", "permafrost_years"];

/// Scalar outputs of one point run, in the order of `names`: means over its
/// whole years (`alt` and `ttop` over the years with permafrost, NaN
/// without one).
pub fn point_outputs(names: &[String], annual: &[AnnualDiagnostics]) -> Result<Vec<f64>> {
    if annual.is_empty() {
        return Err(Error::Other("the run has no whole year".into()));
    }
    // NaN without a value.
    let mean_of = |v: Vec<f64>| match v.len() {
        0 => f64::NAN,
        n => v.iter().sum::<f64>() / n as f64,
    };
    names
        .iter()
        .map(|name| match name.as_str() {
            "alt" => Ok(mean_of(annual.iter().filter_map(|a| a.alt).collect())),
            "ttop" => Ok(mean_of(annual.iter().filter_map(|a| a.ttop).collect())),
            "gt10m" => Ok(mean_of(annual.iter().map(|a| a.gt10m).collect())),
            "magt" => Ok(mean_of(annual.iter().map(|a| a.magt).collect())),
            "margin" => Ok(mean_of(annual.iter().map(|a| a.margin).collect())),
            "permafrost_years" => Ok(annual
                .iter()
                .filter(|a| a.class == FrozenClass::Permafrost)
                .count() as f64
                / annual.len() as f64),
            other => Err(Error::Other(format!(
                "unknown output `{other}`; one of {}",
                POINT_OUTPUTS.join(", ")
            ))),
        })
        .collect()
}

/// Scalar outputs of one domain run (one member), in the order of `names`.
pub fn domain_outputs(
    names: &[String],
    stats: &[std::result::Result<&Vec<crate::diagnostics::AnnualProfileStats>, &String>],
    year: i32,
    reference: Option<(&[u8], Option<u8>, ClassScheme)>,
    cell_index: &[usize],
    n_grid: usize,
) -> Result<Vec<f64>> {
    let mut classes = Vec::with_capacity(stats.len());
    let mut first_error: Option<String> = None;
    let (mut alt_sum, mut alt_n, mut magt_sum, mut gt_sum, mut n_ok, mut n_pf) =
        (0.0, 0usize, 0.0, 0.0, 0usize, 0usize);
    for s in stats {
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                first_error.get_or_insert_with(|| (*e).clone());
                classes.push(None);
                continue;
            }
        };
        let t = s
            .iter()
            .position(|a| a.year == year)
            .ok_or_else(|| Error::Other(format!("year {year} was not simulated")))?;
        let d = annual_diagnostics(&s[t], if t > 0 { Some(&s[t - 1]) } else { None });
        if d.class == FrozenClass::Permafrost {
            n_pf += 1;
            if let Some(a) = d.alt {
                alt_sum += a;
                alt_n += 1;
            }
        }
        magt_sum += d.magt;
        gt_sum += d.gt10m;
        n_ok += 1;
        classes.push(Some(d.class.code()));
    }
    if n_ok == 0 {
        return Err(Error::Other(format!(
            "every cell failed; the first: {}",
            first_error.unwrap_or_default()
        )));
    }
    names
        .iter()
        .map(|name| match name.as_str() {
            "kappa" => {
                let (refmap, nodata, scheme) = reference
                    .ok_or_else(|| Error::Other("output `kappa` needs a [reference] map".into()))?;
                let mut sim = vec![255u8; n_grid];
                let mut mask = vec![false; n_grid];
                for (k, &gi) in cell_index.iter().enumerate() {
                    if let Some(c) = classes[k] {
                        sim[gi] = c;
                        mask[gi] = true;
                    }
                }
                Ok(score_class_codes(
                    refmap,
                    &sim,
                    nodata,
                    Some(255),
                    Some(&mask),
                    scheme,
                    KappaWeights::None,
                )?
                .kappa)
            }
            "mean_alt" => Ok(if alt_n > 0 {
                alt_sum / alt_n as f64
            } else {
                0.0
            }),
            "magt" => Ok(magt_sum / n_ok as f64),
            "gt10m" => Ok(gt_sum / n_ok as f64),
            "permafrost_area" => Ok(n_pf as f64 / n_ok as f64),
            other => Err(Error::Other(format!(
                "unknown output `{other}`; one of {}",
                OUTPUTS.join(", ")
            ))),
        })
        .collect()
}

/// The study's parameter space: the named registry parameters, or all.
fn study_space(
    experiment: &Path,
    s: &SensitivityExperiment,
    registry: Registry,
) -> Result<ParamSpace> {
    match &s.section.parameters {
        Some(names) => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            ParamSpace::select(registry, &names)
                .map_err(|e| Error::config(experiment, "sensitivity.parameters", e.to_string()))
        }
        None => Ok(ParamSpace::all(registry)),
    }
}

/// Run a sensitivity experiment.
pub fn run_sensitivity(
    experiment: &Path,
    s: &SensitivityExperiment,
    seed: u64,
    out: &Path,
    quiet: bool,
) -> Result<StudyResults> {
    match &s.target {
        StudyTarget::Domain { domain, period } => {
            run_domain_sensitivity(experiment, s, domain, period, seed, out, quiet)
        }
        StudyTarget::Point {
            forcing,
            forcing_path,
        } => {
            let p = PointExperiment {
                model: s.model.clone(),
                forcing: forcing.clone(),
                forcing_path: forcing_path.clone(),
                spinup: s.spinup.clone(),
                output_options: Default::default(),
                observations: None,
                alt_observations: None,
            };
            run_point_sensitivity(experiment, s, &p, seed, out, quiet)
        }
    }
}

/// Keep only the dimensions whose values reach a column with these soil
/// classes and this vegetation class; the names of those left out.
pub fn restrict_to_column(
    space: &mut ParamSpace,
    soil_classes: &[usize],
    veg_class: usize,
) -> Vec<String> {
    let all = space.base.domain_overrides(&space.registry);
    let reaches = |index: usize| {
        all.get(index).is_some_and(|kv| {
            !cell_overrides(std::slice::from_ref(kv), soil_classes, veg_class).is_empty()
        })
    };
    let (kept, dropped): (Vec<_>, Vec<_>) = std::mem::take(&mut space.dims)
        .into_iter()
        .partition(|d| reaches(d.index));
    space.dims = kept;
    dropped.into_iter().map(|d| d.name).collect()
}

fn run_point_sensitivity(
    experiment: &Path,
    s: &SensitivityExperiment,
    p: &PointExperiment,
    seed: u64,
    out: &Path,
    quiet: bool,
) -> Result<StudyResults> {
    // 1. forcing, the default column, registry, the space of its classes
    for o in &s.section.outputs {
        if !POINT_OUTPUTS.contains(&o.as_str()) {
            return Err(Error::config(
                experiment,
                "sensitivity.outputs",
                format!(
                    "unknown output `{o}` for a point study; one of {}",
                    POINT_OUTPUTS.join(", ")
                ),
            ));
        }
    }
    let inputs = read_point_forcing(experiment, p)?;
    let builder = PointModelBuilder::new(experiment, p, &inputs)?;
    // The default column must build before its study starts.
    builder.build(&[])?;
    let (soil_classes, veg_class) = (builder.soil_classes().to_vec(), builder.veg_class());
    let registry = Registry::load(&tables_dir(experiment, &s.model)?.join("parameters.toml"))?;
    let mut space = study_space(experiment, s, registry)?;
    let dropped = restrict_to_column(&mut space, &soil_classes, veg_class);
    let mut classes = soil_classes.clone();
    classes.sort_unstable();
    classes.dedup();
    if space.dim() == 0 {
        return Err(Error::config(
            experiment,
            "sensitivity.parameters",
            format!(
                "none of the parameters' values reaches this column (soil classes {classes:?}, \
                 vegetation class {veg_class})"
            ),
        ));
    }
    if !quiet {
        eprintln!(
            "point study: {} values varied (soil classes {classes:?}, vegetation class \
             {veg_class}){}",
            space.dim(),
            if dropped.is_empty() {
                String::new()
            } else {
                format!("; {} of classes not in the column left out", dropped.len())
            }
        );
    }

    // 2-3. the study; each row is a point run (rows run in parallel)
    let study = Study::new(s.section.to_spec(space.names(), seed))?;
    let options = spinup_options(p);
    let one = |u: &[f64]| -> Result<Vec<f64>> {
        let set = space.to_physical(u)?;
        space.check(&set)?;
        let (model, mut state) = builder.build(&space.dim_overrides(&set))?;
        spin_up(&model, &mut state, &inputs.forcing, &options)?;
        let stats = run(&model, &mut state, &inputs.forcing, &mut |_, _, _| {})?;
        point_outputs(&s.section.outputs, &diagnostics_of(&stats)?)
    };
    let objective =
        |rows: &[Vec<f64>]| -> Vec<Result<Vec<f64>>> { rows.iter().map(|u| one(u)).collect() };
    study.run(out, objective, &RunOptions { quiet })
}

fn run_domain_sensitivity(
    experiment: &Path,
    s: &SensitivityExperiment,
    domain: &DomainSection,
    period: &PeriodSection,
    seed: u64,
    out: &Path,
    quiet: bool,
) -> Result<StudyResults> {
    // 1. domain, registry, parameter space
    let setup = DomainSetup::from_sections(experiment, domain, &s.model, &s.spinup, period)?;
    let reg_path = setup.tables.dir.join("parameters.toml");
    let registry = Registry::load(&reg_path)?;
    let space = study_space(experiment, s, registry)?;
    for o in &s.section.outputs {
        if !OUTPUTS.contains(&o.as_str()) {
            return Err(Error::config(
                experiment,
                "sensitivity.outputs",
                format!("unknown output `{o}`; one of {}", OUTPUTS.join(", ")),
            ));
        }
        if o == "kappa" && s.reference.is_none() {
            return Err(Error::config(
                experiment,
                "reference",
                "output `kappa` needs a [reference] map",
            ));
        }
    }
    let grid = setup.grid().clone();
    let reference = match &s.reference {
        Some(r) => {
            let path: PathBuf = crate::config::resolve(experiment, "reference.map", &r.map)?;
            let raster = read_geotiff::<u8>(&path)?;
            RasterGrid::from_grid(&grid)?.check_same(&raster.grid)?;
            let scheme = ClassScheme::from_count(r.classes)
                .map_err(|e| Error::config(experiment, "reference.classes", e.to_string()))?;
            Some((raster, scheme))
        }
        None => None,
    };
    let year = s
        .reference
        .as_ref()
        .and_then(|r| r.year)
        .unwrap_or(period.end);
    if !(period.start..=period.end).contains(&year) {
        return Err(Error::config(
            experiment,
            "reference.year",
            format!("{year} is outside the simulated years"),
        ));
    }
    let cells = setup.cells().to_vec();
    let cell_index: Vec<usize> = cells.iter().map(|&(r, c)| r * grid.nx + c).collect();

    // 2-3. the study with the domain objective
    let study = Study::new(s.section.to_spec(space.names(), seed))?;
    let objective = |rows: &[Vec<f64>]| -> Vec<Result<Vec<f64>>> {
        let sets: Vec<Result<Vec<(String, f64)>>> = rows
            .iter()
            .map(|u| {
                let set = space.to_physical(u)?;
                space.check(&set)?;
                Ok(space.dim_overrides(&set))
            })
            .collect();
        let members: Vec<Vec<(String, f64)>> = sets
            .iter()
            .map(|r| r.as_ref().cloned().unwrap_or_default())
            .collect();
        let runs = match setup.run(&cells, &members, None) {
            Ok(r) => r,
            Err(e) => {
                return rows
                    .iter()
                    .map(|_| Err(Error::Other(e.to_string())))
                    .collect()
            }
        };
        sets.into_iter()
            .zip(runs)
            .map(|(set, member)| {
                set?;
                let stats: Vec<std::result::Result<&Vec<_>, &String>> =
                    member.iter().map(|o| o.result.as_ref()).collect();
                domain_outputs(
                    &s.section.outputs,
                    &stats,
                    year,
                    reference
                        .as_ref()
                        .map(|(r, sch)| (r.data.as_slice(), r.nodata, *sch)),
                    &cell_index,
                    grid.n_cells(),
                )
            })
            .collect()
    };
    study.run(out, objective, &RunOptions { quiet })
}
