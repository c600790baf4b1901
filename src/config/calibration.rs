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
    /// Reference class map (GeoTIFF, u8 codes 1/2/3), relative to the experiment file.
    pub reference: String,
    /// Target year of the simulated map.
    pub year: i32,
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

/// Raw calibration experiment file.
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
    pub domain: DomainSection,
    #[serde(default)]
    pub spinup: SpinupSection,
    pub period: PeriodSection,
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
    /// Registry file, resolved (None: next to the model tables).
    pub registry: Option<PathBuf>,
    pub region: Region,
    pub parameters: ParameterChoice,
    pub ensemble: EnsembleSection,
    /// Validation of the ensemble (or the best set) against boreholes at the end of the run.
    pub validation: Option<super::validation::ValidationSettings>,
}

/// Validate a raw calibration file.
pub(crate) fn resolve(path: &Path, r: &RawCalibration) -> Result<CalibrationExperiment> {
    let c = &r.calibration;
    let err = |key: &str, m: String| Error::config(path, format!("calibration.{key}"), m);
    if !(c.classes == 2 || c.classes == 3) {
        return Err(err("classes", format!("{}: use 2 or 3", c.classes)));
    }
    if c.year < r.period.start || c.year > r.period.end {
        return Err(err(
            "year",
            format!(
                "{} is outside the transient period {}-{}",
                c.year, r.period.start, r.period.end
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
    if let Some(t) = &c.truth {
        if !(t.spread > 0.0 && t.spread <= 0.5) {
            return Err(err(
                "truth.spread",
                format!("{} must be in (0, 0.5]", t.spread),
            ));
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
    let reference = super::resolve(path, "calibration.reference", &c.reference)?;
    let registry = match &c.registry {
        Some(s) => Some(super::resolve(path, "calibration.registry", s)?),
        None => None,
    };
    let validation = match &r.validation {
        Some(v) => Some(v.resolve(
            path,
            &super::validation::ValidationContext {
                static_maps: Some(super::resolve(
                    path,
                    "domain.static",
                    &r.domain.static_maps,
                )?),
                period: Some((r.period.start, r.period.end)),
                has_truth: c.truth.is_some(),
            },
        )?),
        None => None,
    };
    Ok(CalibrationExperiment {
        model: r.model.clone(),
        domain: r.domain.clone(),
        spinup: r.spinup.clone(),
        period: r.period.clone(),
        section: c.clone(),
        reference,
        registry,
        region,
        parameters,
        ensemble: r.ensemble.clone(),
        validation,
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
