//! The `kind = "calibration"` experiment: `[model]`, `[domain]`, `[spinup]`,
//! `[period]` as for a hindcast, plus `[calibration]`, an optional
//! `[ensemble]` and an optional `[validation]` section.
//!
//! ```toml
//! kind = "calibration"
//! [model]            # as for a point run (tables, physics options)
//! [domain]           # crate::config::domain::DomainSection
//! [spinup]
//! [period]           # spinup = [y0, y1], start, end (the target year lies in start..=end)
//! [calibration]
//! reference = "reference_2002.tif"   # class map (codes 1 permafrost, 2 seasonally frozen, 3 not frozen)
//! year = 2002                        # target year of the simulated map
//! classes = 2                        # 2 (permafrost or not) or 3
//! region = "sensitive"               # "sensitive" (default run disagrees, widened) or "all"
//! neighbourhood = 1                  # widening of the sensitive region, cells
//! parameters = ["bexp", "quartz"]    # registry names, or "all"
//! # screened = "../out/sens/screened.toml"   # instead of `parameters`
//! optimizer = "bo"                   # bo | random | lhs | pso
//! budget = 32                        # evaluations, the default run included
//! q = 4                              # candidates per iteration, run in parallel
//! n_init = 8                         # initial Latin-hypercube design of BO
//! wall_clock_minutes = 30.0          # optional
//! stagnation = 20                    # optional, evaluations without improvement
//! local_evaluations = 0               # optional, last evaluations spent on a compass search
//! top_k = 13
//! tiebreak_weight = 0.01             # per C of permafrost-margin misfit
//! smoothing = 0.0                    # C; > 0: the optimiser is told a smoothed Kappa
//! trust_region = false               # BO proposes inside a box around the best point (TuRBO-style)
//! trust_region_length = 0.8          # optional, first side of that box (unit cube)
//! trust_region_failures = 2          # optional, non-improving batches that halve it (default ceil(max(4, d) / q))
//! kpls_dim = 3                       # optional, BO's GP with partial-least-squares length scales
//! local_step = 0.05                  # first step of the compass phase (unit cube)
//! truth = { seed = 11, spread = 0.3 }  # optional: make a missing reference from hidden parameters
//! [ensemble]
//! enabled = true                     # run the top-K hindcast when the program has one
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::domain::{DomainSection, PeriodSection};
use super::{ModelSection, SpinupSection};
use crate::{Error, Result};

/// Raw `[calibration]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSection {
    /// Reference class map (GeoTIFF, u8 codes 1/2/3), relative to the
    /// experiment file (map calibrations only).
    pub reference: Option<String>,
    /// Target year of the simulated map (map calibrations only).
    pub year: Option<i32>,
    /// 2 or 3 classes.
    #[serde(default = "two")]
    pub classes: u32,
    /// "sensitive" or "all".
    #[serde(default = "sensitive")]
    pub region: String,
    /// Widening of the sensitive region (cells, Chebyshev distance).
    #[serde(default)]
    pub neighbourhood: usize,
    /// Registry names, or the string "all".
    pub parameters: Option<toml::Value>,
    /// A `screened.toml` of a sensitivity study (its `registry_names`).
    pub screened: Option<String>,
    /// Parameter registry (default `<model tables>/parameters.toml`).
    pub registry: Option<String>,
    /// bo | random | lhs | pso.
    #[serde(default = "bo")]
    pub optimizer: String,
    /// Evaluation budget (the default run included).
    #[serde(default = "budget")]
    pub budget: usize,
    /// Candidates per iteration.
    #[serde(default = "q")]
    pub q: usize,
    /// Initial Latin-hypercube design of BO (default max(2d + 1, 5), at most 20).
    pub n_init: Option<usize>,
    /// Wall-clock budget, minutes.
    pub wall_clock_minutes: Option<f64>,
    /// Stop after this many evaluations without improvement.
    pub stagnation: Option<usize>,
    /// The last evaluations of the budget go to a compass search from the
    /// best point found so far (0: the optimiser uses the whole budget).
    #[serde(default)]
    pub local_evaluations: usize,
    /// Ensemble size.
    #[serde(default = "top_k")]
    pub top_k: usize,
    /// Weight (per C) of the permafrost-margin misfit in the surrogate signal.
    #[serde(default = "tiebreak")]
    pub tiebreak_weight: f64,
    /// Width `tau` (C) of the logistic permafrost boundary of the smoothed
    /// Kappa ([`crate::metrics::tiebreak::soft_kappa`]) that the optimiser is
    /// told instead of the hard Kappa (the tie-breaker is still subtracted);
    /// 0 (default) tells the hard Kappa. The evaluation log's `value`, the
    /// ranking and every report stay the hard Kappa.
    #[serde(default)]
    pub smoothing: f64,
    /// Bayesian optimisation proposes each batch inside a box around the best
    /// point, resized by the batches' success
    /// ([`crate::calibrate::optimizer::TrustRegion`], default settings).
    #[serde(default)]
    pub trust_region: bool,
    /// First side of the trust region (unit-cube coordinates; default 0.8).
    pub trust_region_length: Option<f64>,
    /// Non-improving batches in a row that halve the trust region (default
    /// `ceil(max(4, d) / q)`, TuRBO's rule, which suits budgets of thousands).
    pub trust_region_failures: Option<usize>,
    /// Partial-least-squares components of the GP length scales of Bayesian
    /// optimisation (unset: one length scale per dimension).
    pub kpls_dim: Option<usize>,
    /// First step of the compass phase (unit-cube coordinates, in (0, 0.5]).
    #[serde(default = "local_step")]
    pub local_step: f64,
    /// Make the reference from hidden parameters when it does not exist.
    pub truth: Option<TruthSection>,
    /// Point calibrations against ground temperatures and ALT: C of the
    /// objective per m of ALT RMSE (default 1).
    pub alt_weight: Option<f64>,
}

/// How a missing demo reference is made: a seeded perturbation of the registry defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthSection {
    /// Seed of the perturbation.
    #[serde(default = "truth_seed")]
    pub seed: u64,
    /// Half-width of the perturbation in unit-cube coordinates (0-0.5).
    #[serde(default = "spread")]
    pub spread: f64,
    /// Registry names perturbed (default: all but `tbot`, which the domain sets per cell).
    pub parameters: Option<Vec<String>>,
}

/// `[ensemble]`: run the top-K hindcast after the calibration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSection {
    /// Run it.
    #[serde(default)]
    pub enabled: bool,
}

fn two() -> u32 {
    2
}
fn sensitive() -> String {
    "sensitive".into()
}
fn bo() -> String {
    "bo".into()
}
fn budget() -> usize {
    32
}
fn q() -> usize {
    4
}
fn local_step() -> f64 {
    0.05
}
fn top_k() -> usize {
    13
}
fn tiebreak() -> f64 {
    0.01
}
fn truth_seed() -> u64 {
    11
}
fn spread() -> f64 {
    0.3
}

/// Raw calibration experiment file: a map calibration has `[domain]` and
/// `[period]`, a point calibration `[forcing]` and `[observations]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalibration {
    #[allow(dead_code)]
    pub kind: toml::Value,
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    pub output: Option<String>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "super::default_model_section")]
    pub model: ModelSection,
    pub domain: Option<DomainSection>,
    pub forcing: Option<super::PointForcingSection>,
    #[serde(default)]
    pub spinup: SpinupSection,
    pub period: Option<PeriodSection>,
    pub observations: Option<super::PointObservationsSection>,
    pub calibration: CalibrationSection,
    #[serde(default)]
    pub ensemble: EnsembleSection,
    /// Validation at the end of the run.
    pub validation: Option<super::validation::ValidationSection>,
}

/// Which cells are scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// Cells where the default run disagrees with the reference, widened by `neighbourhood`.
    Sensitive {
        /// Widening, cells.
        neighbourhood: usize,
    },
    /// Every land cell with a reference class.
    All,
}

/// Which registry parameters are calibrated.
#[derive(Clone, Debug, PartialEq)]
pub enum ParameterChoice {
    /// Every registry entry.
    All,
    /// These registry names.
    Names(Vec<String>),
}

/// A calibration experiment, resolved and validated.
#[derive(Clone, Debug)]
pub struct CalibrationExperiment {
    pub model: ModelSection,
    pub domain: DomainSection,
    pub spinup: SpinupSection,
    pub period: PeriodSection,
    /// The section as written.
    pub section: CalibrationSection,
    /// Reference map, resolved.
    pub reference: PathBuf,
    /// Target year of the simulated map.
    pub year: i32,
    /// Registry file, resolved (None: next to the model tables).
    pub registry: Option<PathBuf>,
    pub region: Region,
    pub parameters: ParameterChoice,
    pub ensemble: EnsembleSection,
    /// Validation of the ensemble (or the best set) against boreholes at the end of the run.
    pub validation: Option<super::validation::ValidationSettings>,
}

/// A point calibration experiment (`kind = "calibration"` with `[forcing]`):
/// the column at one site fitted to its measured ground temperatures and
/// ALT, resolved and validated.
#[derive(Clone, Debug)]
pub struct PointCalibrationExperiment {
    /// The site's point run: model, forcing, spin-up, observations.
    pub point: super::PointExperiment,
    /// The section as written.
    pub section: CalibrationSection,
    /// Registry file, resolved (None: next to the model tables).
    pub registry: Option<PathBuf>,
    pub parameters: ParameterChoice,
    /// C of the objective per m of ALT RMSE.
    pub alt_weight: f64,
    pub ensemble: EnsembleSection,
}

/// What a calibration file describes.
#[derive(Clone, Debug)]
pub enum CalibrationBody {
    Map(Box<CalibrationExperiment>),
    Point(Box<PointCalibrationExperiment>),
}

/// Keys of `[calibration]` that only a map calibration reads.
const MAP_KEYS: [&str; 8] = [
    "reference",
    "year",
    "classes",
    "region",
    "neighbourhood",
    "tiebreak_weight",
    "smoothing",
    "truth",
];

/// Validate a raw calibration file: a map calibration (`[domain]`) or a
/// point calibration (`[forcing]`); `raw` is the file as parsed TOML.
pub(crate) fn resolve(
    path: &Path,
    raw: &toml::Table,
    r: &RawCalibration,
) -> Result<CalibrationBody> {
    match (&r.domain, &r.forcing) {
        (Some(_), Some(_)) => Err(Error::config(
            path,
            "forcing",
            "give either [domain] (a map calibration) or [forcing] (a point calibration against \
             [observations]), not both",
        )),
        (None, None) => Err(Error::config(
            path,
            "domain",
            "a calibration needs [domain] (gridded, against a reference map) or [forcing] (one \
             site, against its [observations])",
        )),
        (Some(domain), None) => Ok(CalibrationBody::Map(Box::new(resolve_map(
            path, r, domain,
        )?))),
        (None, Some(forcing)) => Ok(CalibrationBody::Point(Box::new(resolve_point(
            path, raw, r, forcing,
        )?))),
    }
}

/// The optimiser settings of `[calibration]` (shared by map and point
/// calibrations): the parameter choice and the registry file.
fn resolve_search(
    path: &Path,
    c: &CalibrationSection,
) -> Result<(ParameterChoice, Option<PathBuf>)> {
    let err = |key: &str, m: String| Error::config(path, format!("calibration.{key}"), m);
    crate::calibrate::optimizer::OptimizerKind::parse(&c.optimizer)
        .map_err(|e| err("optimizer", e.to_string()))?;
    if c.budget < 2 {
        return Err(err(
            "budget",
            format!("{}: need at least 2 evaluations", c.budget),
        ));
    }
    if c.local_evaluations + 2 > c.budget && c.local_evaluations > 0 {
        return Err(err(
            "local_evaluations",
            format!(
                "{} leaves fewer than 2 of the {} evaluations to the optimiser",
                c.local_evaluations, c.budget
            ),
        ));
    }
    if c.q == 0 {
        return Err(err("q", "must be at least 1".into()));
    }
    if c.top_k == 0 {
        return Err(err("top_k", "must be at least 1".into()));
    }
    if !(c.local_step > 0.001 && c.local_step <= 0.5) {
        return Err(err(
            "local_step",
            format!("{} must lie in (0.001, 0.5]", c.local_step),
        ));
    }
    if let Some(l) = c.trust_region_length {
        if !(l > 0.01 && l <= 1.6) {
            return Err(err(
                "trust_region_length",
                format!("{l} must lie in (0.01, 1.6]"),
            ));
        }
    }
    if c.trust_region_failures == Some(0) {
        return Err(err("trust_region_failures", "must be at least 1".into()));
    }
    if (c.trust_region_length.is_some() || c.trust_region_failures.is_some()) && !c.trust_region {
        return Err(err(
            "trust_region_length",
            "trust_region_length and trust_region_failures need trust_region = true".into(),
        ));
    }
    if c.kpls_dim == Some(0) {
        return Err(err("kpls_dim", "must be at least 1".into()));
    }
    if let Some(w) = c.wall_clock_minutes {
        if !(w.is_finite() && w > 0.0) {
            return Err(err("wall_clock_minutes", format!("{w} must be > 0")));
        }
    }
    let parameters = match (&c.parameters, &c.screened) {
        (Some(_), Some(_)) => {
            return Err(err(
                "screened",
                "give either `parameters` or `screened`, not both".into(),
            ))
        }
        (None, None) => ParameterChoice::All,
        (Some(toml::Value::String(s)), None) if s == "all" => ParameterChoice::All,
        (Some(toml::Value::Array(a)), None) => {
            let mut v = Vec::new();
            for x in a {
                match x.as_str() {
                    Some(s) => v.push(s.to_string()),
                    None => return Err(err("parameters", format!("{x} is not a parameter name"))),
                }
            }
            if v.is_empty() {
                return Err(err("parameters", "empty list".into()));
            }
            ParameterChoice::Names(v)
        }
        (Some(other), None) => {
            return Err(err(
                "parameters",
                format!("{other}: use \"all\" or a list of registry names"),
            ))
        }
        (None, Some(s)) => {
            let p = super::resolve(path, "calibration.screened", s)?;
            ParameterChoice::Names(read_screened(&p)?)
        }
    };
    let registry = match &c.registry {
        Some(s) => Some(super::resolve(path, "calibration.registry", s)?),
        None => None,
    };
    Ok((parameters, registry))
}

fn resolve_map(
    path: &Path,
    r: &RawCalibration,
    domain: &DomainSection,
) -> Result<CalibrationExperiment> {
    let c = &r.calibration;
    let err = |key: &str, m: String| Error::config(path, format!("calibration.{key}"), m);
    let period = r.period.as_ref().ok_or_else(|| {
        Error::config(path, "period", "a map calibration needs a [period] section")
    })?;
    if r.observations.is_some() {
        return Err(Error::config(
            path,
            "observations",
            "a map calibration scores against its reference map; [observations] are for a point \
             calibration ([forcing] instead of [domain]); boreholes go in [validation]",
        ));
    }
    if c.alt_weight.is_some() {
        return Err(err(
            "alt_weight",
            "alt_weight weighs the ALT of a point calibration's observations".into(),
        ));
    }
    let reference = c.reference.as_deref().ok_or_else(|| {
        err(
            "reference",
            "missing: the reference class map (GeoTIFF)".into(),
        )
    })?;
    let year = c.year.ok_or_else(|| {
        err(
            "year",
            "missing: the target year of the simulated map".into(),
        )
    })?;
    if !(c.classes == 2 || c.classes == 3) {
        return Err(err("classes", format!("{}: use 2 or 3", c.classes)));
    }
    if year < period.start || year > period.end {
        return Err(err(
            "year",
            format!(
                "{} is outside the transient period {}-{}",
                year, period.start, period.end
            ),
        ));
    }
    let region = match c.region.as_str() {
        "sensitive" => Region::Sensitive {
            neighbourhood: c.neighbourhood,
        },
        "all" => Region::All,
        other => {
            return Err(err(
                "region",
                format!("`{other}`: use \"sensitive\" or \"all\""),
            ))
        }
    };
    if !(c.tiebreak_weight.is_finite() && c.tiebreak_weight >= 0.0) {
        return Err(err(
            "tiebreak_weight",
            format!("{} must be >= 0", c.tiebreak_weight),
        ));
    }
    if !(c.smoothing.is_finite() && c.smoothing >= 0.0) {
        return Err(err(
            "smoothing",
            format!("{} must be a width >= 0 (C)", c.smoothing),
        ));
    }
    if let Some(t) = &c.truth {
        if !(t.spread > 0.0 && t.spread <= 0.5) {
            return Err(err(
                "truth.spread",
                format!("{} must be in (0, 0.5]", t.spread),
            ));
        }
    }
    let (parameters, registry) = resolve_search(path, c)?;
    let reference = super::resolve(path, "calibration.reference", reference)?;
    let validation = match &r.validation {
        Some(v) => Some(v.resolve(
            path,
            &super::validation::ValidationContext {
                static_maps: Some(super::resolve(path, "domain.static", &domain.static_maps)?),
                period: Some((period.start, period.end)),
                has_truth: c.truth.is_some(),
            },
        )?),
        None => None,
    };
    Ok(CalibrationExperiment {
        model: r.model.clone(),
        domain: domain.clone(),
        spinup: r.spinup.clone(),
        period: period.clone(),
        section: c.clone(),
        reference,
        year,
        registry,
        region,
        parameters,
        ensemble: r.ensemble.clone(),
        validation,
    })
}

fn resolve_point(
    path: &Path,
    raw: &toml::Table,
    r: &RawCalibration,
    forcing: &super::PointForcingSection,
) -> Result<PointCalibrationExperiment> {
    let c = &r.calibration;
    let given = raw.get("calibration").and_then(|v| v.as_table());
    if let Some(key) = MAP_KEYS
        .iter()
        .find(|k| given.is_some_and(|t| t.contains_key(**k)))
    {
        return Err(Error::config(
            path,
            format!("calibration.{key}"),
            "a map calibration's key; a point calibration ([forcing]) fits the site's \
             [observations]",
        ));
    }
    for (given, key) in [
        (r.period.is_some(), "period"),
        (r.validation.is_some(), "validation"),
    ] {
        if given {
            return Err(Error::config(
                path,
                key,
                "a point calibration runs the whole forcing after its spin-up and scores \
                 against [observations]; this section is for map calibrations",
            ));
        }
    }
    let (observations, alt_observations) =
        super::resolve_observations(path, r.observations.as_ref())?;
    if observations.is_none() && alt_observations.is_none() {
        return Err(Error::config(
            path,
            "observations",
            "a point calibration needs [observations] with `file` (ground temperatures), \
             `alt_file` (ALT) or both",
        ));
    }
    let alt_weight = c.alt_weight.unwrap_or(1.0);
    if !(alt_weight.is_finite() && alt_weight > 0.0) {
        return Err(Error::config(
            path,
            "calibration.alt_weight",
            format!("{alt_weight} must be > 0 (C per m)"),
        ));
    }
    if c.alt_weight.is_some() && (observations.is_none() || alt_observations.is_none()) {
        return Err(Error::config(
            path,
            "calibration.alt_weight",
            "alt_weight weighs ALT against ground temperatures: give both observations files",
        ));
    }
    forcing.validate(path)?;
    let forcing_path = super::resolve(path, "forcing.path", &forcing.path)?;
    let (parameters, registry) = resolve_search(path, c)?;
    Ok(PointCalibrationExperiment {
        point: super::PointExperiment {
            model: r.model.clone(),
            forcing: forcing.clone(),
            forcing_path,
            spinup: r.spinup.clone(),
            output_options: Default::default(),
            observations,
            alt_observations,
        },
        section: c.clone(),
        registry,
        parameters,
        alt_weight,
        ensemble: r.ensemble.clone(),
    })
}

/// Registry names of a sensitivity study's `screened.toml` (`registry_names`,
/// else `parameters` with any `[class]` suffix removed).
pub fn read_screened(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let t: toml::Table =
        toml::from_str(&text).map_err(|e| Error::parse(path, None, e.to_string()))?;
    let list = t
        .get("registry_names")
        .or_else(|| t.get("parameters"))
        .and_then(|v| v.as_array())
        .ok_or_else(|| Error::config(path, "registry_names", "missing list of parameter names"))?;
    let mut out: Vec<String> = Vec::new();
    for v in list {
        let s = v
            .as_str()
            .ok_or_else(|| Error::config(path, "registry_names", format!("{v} is not a name")))?;
        let base = s.split('[').next().unwrap_or(s).to_string();
        if !out.contains(&base) {
            out.push(base);
        }
    }
    if out.is_empty() {
        return Err(Error::config(
            path,
            "registry_names",
            "no parameter was screened in",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::config::{Body, Experiment};
    use std::path::Path;

    const TWIN: &str = include_str!("../../experiments/twin-calibration.toml");

    fn with(key_line: &str) -> crate::Result<Experiment> {
        let text = TWIN.replacen(
            "[calibration]\n",
            &format!("[calibration]\n{key_line}\n"),
            1,
        );
        Experiment::parse(Path::new("experiments/twin-calibration.toml"), &text)
    }

    #[test]
    fn optimiser_signal_keys_are_validated() {
        // The twin file itself: hinge weight 30 and the trust region.
        let e = Experiment::parse(Path::new("experiments/twin-calibration.toml"), TWIN).unwrap();
        match &e.body {
            Body::Calibration(c) => {
                assert!(c.section.trust_region);
                assert_eq!(c.section.trust_region_failures, Some(2));
                assert_eq!(c.section.tiebreak_weight, 30.0);
                assert_eq!(c.section.smoothing, 0.0);
                assert_eq!(c.section.local_step, 0.05);
                assert_eq!(c.section.kpls_dim, None);
            }
            _ => panic!("not a calibration"),
        }
        assert!(with("smoothing = 0.2").is_ok());
        assert!(with("kpls_dim = 3").is_ok());
        assert!(with("trust_region_length = 0.4").is_ok());
        // The twin file's trust_region_failures = 2: zero is refused, and so
        // is any trust-region setting without the trust region.
        for (from, to, key) in [
            (
                "trust_region_failures = 2",
                "trust_region_failures = 0",
                "calibration.trust_region_failures",
            ),
            (
                "trust_region = true",
                "trust_region = false",
                "calibration.trust_region_length",
            ),
        ] {
            assert!(TWIN.contains(from));
            let text = TWIN.replace(from, to);
            let e = Experiment::parse(Path::new("x.toml"), &text).unwrap_err();
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
        for (line, key) in [
            ("smoothing = -0.1", "calibration.smoothing"),
            ("local_step = 0.9", "calibration.local_step"),
            ("kpls_dim = 0", "calibration.kpls_dim"),
            (
                "trust_region_length = 2.0",
                "calibration.trust_region_length",
            ),
        ] {
            let msg = with(line).unwrap_err().to_string();
            assert!(msg.contains(key), "{line}: {msg}");
        }
    }
}
