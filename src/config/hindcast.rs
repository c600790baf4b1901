//! The hindcast experiment kind: a gridded run over a domain, optionally for
//! an ensemble of parameter sets.
//!
//! ```toml
//! kind = "hindcast"
//! [model]      # as for every column-model experiment
//! [domain]     # forcing, static maps, soil layering (see `config::domain`)
//! [spinup]     # tolerance, max_cycles, start
//! [period]     # spinup = [first, last], start, end
//! [ensemble]   # optional
//! members = ["sets/a.toml", "sets/b.toml"]   # parameter-set files
//! [outputs]    # optional switches, all true by default
//! geotiff = true
//! netcdf = true
//! png = true
//! [validation] # optional: validate hindcast.nc against boreholes at the end
//! observations = "boreholes.csv"   # see `config::validation`
//! ```
//!
//! A parameter-set file is a flat `[values]` table of `ColumnConfig::set`
//! keys and values (`"soil.bb[7]" = 5.1`); a member is named after its file
//! stem.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::domain::{DomainSection, PeriodSection};
use super::{ModelSection, SpinupSection};
use crate::{Error, Result};

/// The name reserved for the ensemble mean in products.
pub const ENSEMBLE_MEAN: &str = "ensemble-mean";

/// The `[ensemble]` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSection {
    /// Parameter-set files, one per member (relative to the experiment file).
    #[serde(default)]
    pub members: Vec<String>,
}

/// The `[outputs]` switches of a hindcast.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HindcastOutputSection {
    /// One GeoTIFF per year of the class map (and agreement / spread maps).
    #[serde(default = "yes")]
    pub geotiff: bool,
    /// `hindcast.nc`, the CF-1.8 netCDF of every annual field.
    #[serde(default = "yes")]
    pub netcdf: bool,
    /// PNG maps of the last year.
    #[serde(default = "yes")]
    pub png: bool,
}

impl Default for HindcastOutputSection {
    fn default() -> Self {
        Self {
            geotiff: true,
            netcdf: true,
            png: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHindcast {
    #[allow(dead_code)]
    pub kind: super::ExperimentKind,
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    pub output: Option<String>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "super::default_model_section")]
    pub model: ModelSection,
    pub domain: DomainSection,
    #[serde(default)]
    pub spinup: SpinupSection,
    pub period: PeriodSection,
    #[serde(default)]
    pub ensemble: EnsembleSection,
    #[serde(default)]
    pub outputs: HindcastOutputSection,
    pub validation: Option<super::validation::ValidationSection>,
}

/// A hindcast experiment, resolved.
#[derive(Clone, Debug)]
pub struct HindcastExperiment {
    pub model: ModelSection,
    pub domain: DomainSection,
    pub spinup: SpinupSection,
    pub period: PeriodSection,
    /// Members: (name, parameter-set file), in file order; empty for a single
    /// run with the model's parameters.
    pub members: Vec<(String, PathBuf)>,
    pub outputs: HindcastOutputSection,
    /// Validation of the products against boreholes at the end of the run.
    pub validation: Option<super::validation::ValidationSettings>,
}

/// Resolve and check a raw hindcast body.
pub(super) fn resolve_hindcast(path: &Path, r: &RawHindcast) -> Result<HindcastExperiment> {
    super::validate_model(path, &r.model)?;
    super::validate_spinup(path, &r.spinup)?;
    let mut members: Vec<(String, PathBuf)> = Vec::new();
    for (i, m) in r.ensemble.members.iter().enumerate() {
        let key = format!("ensemble.members[{i}]");
        let p = super::resolve(path, &key, m)?;
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config(path, &key, format!("`{m}` has no file name")))?;
        if name == ENSEMBLE_MEAN {
            return Err(Error::config(
                path,
                &key,
                format!("the member name `{ENSEMBLE_MEAN}` is reserved for the ensemble mean; rename the file"),
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::config(
                path,
                &key,
                format!("member name `{name}` (the file stem) may hold only letters, digits, `-`, `_` and `.`"),
            ));
        }
        if members.iter().any(|(n, _)| *n == name) {
            return Err(Error::config(
                path,
                &key,
                format!("two members are named `{name}` (member names are the files' stems)"),
            ));
        }
        members.push((name, p));
    }
    if r.period.spinup[1] < r.period.spinup[0] || r.period.end < r.period.start {
        return Err(Error::config(
            path,
            "period",
            "years must be given first to last",
        ));
    }
    let validation = match &r.validation {
        Some(v) => {
            let ctx = super::validation::ValidationContext {
                static_maps: Some(super::resolve(
                    path,
                    "domain.static",
                    &r.domain.static_maps,
                )?),
                period: Some((r.period.start, r.period.end)),
                has_truth: false,
            };
            let s = v.resolve(path, &ctx)?;
            if s.product.is_none() && !r.outputs.netcdf {
                return Err(Error::config(
                    path,
                    "validation",
                    "validates hindcast.nc: set outputs.netcdf = true (or name a `product`)",
                ));
            }
            Some(s)
        }
        None => None,
    };
    Ok(HindcastExperiment {
        model: r.model.clone(),
        domain: r.domain.clone(),
        spinup: r.spinup.clone(),
        period: r.period.clone(),
        members,
        outputs: r.outputs.clone(),
        validation,
    })
}
