//! The sensitivity workflow: a Morris or Sobol study of the column model over
//! a gridded domain, with the parameters and ranges of the model's registry.
//!
//! Recipe:
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

use super::domain::DomainSetup;
use crate::calibrate::registry::{ParamSpace, Registry};
use crate::config::domain::{DomainSection, PeriodSection};
use crate::config::{ModelSection, SpinupSection};
use crate::diagnostics::annual::annual_diagnostics;
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

/// A sensitivity experiment, resolved.
#[derive(Clone, Debug)]
pub struct SensitivityExperiment {
    pub model: ModelSection,
    pub domain: DomainSection,
    pub spinup: SpinupSection,
    pub period: PeriodSection,
    pub reference: Option<ReferenceSection>,
    pub section: SensitivitySection,
}

/// Outputs the objective can return.
pub const OUTPUTS: [&str; 5] = ["kappa", "mean_alt", "magt", "gt10m", "permafrost_area"];

/// Scalar outputs of one domain run (one member), in the order of `names`.
pub fn domain_outputs(
    names: &[String],
    stats: &[Option<&Vec<crate::diagnostics::AnnualProfileStats>>],
    year: i32,
    reference: Option<(&[u8], Option<u8>, ClassScheme)>,
    cell_index: &[usize],
    n_grid: usize,
) -> Result<Vec<f64>> {
    let mut classes = Vec::with_capacity(stats.len());
    let (mut alt_sum, mut alt_n, mut magt_sum, mut gt_sum, mut n_ok, mut n_pf) =
        (0.0, 0usize, 0.0, 0.0, 0usize, 0usize);
    for s in stats {
        let Some(s) = s else {
            classes.push(None);
            continue;
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
        return Err(Error::Other("every cell failed".into()));
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

/// Run a sensitivity experiment.
pub fn run_sensitivity(
    experiment: &Path,
    s: &SensitivityExperiment,
    seed: u64,
    out: &Path,
    quiet: bool,
) -> Result<StudyResults> {
    // 1. domain, registry, parameter space
    let setup = DomainSetup::from_sections(experiment, &s.domain, &s.model, &s.spinup, &s.period)?;
    let reg_path = setup.tables.dir.join("parameters.toml");
    let registry = Registry::load(&reg_path)?;
    let space = match &s.section.parameters {
        Some(names) => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            ParamSpace::select(registry.clone(), &names)
                .map_err(|e| Error::config(experiment, "sensitivity.parameters", e.to_string()))?
        }
        None => ParamSpace::all(registry.clone()),
    };
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
        .unwrap_or(s.period.end);
    if !(s.period.start..=s.period.end).contains(&year) {
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
                let stats: Vec<Option<&Vec<_>>> =
                    member.iter().map(|o| o.result.as_ref().ok()).collect();
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
