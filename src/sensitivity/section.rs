//! The `[sensitivity]` section of an experiment file (`kind = "sensitivity"`):
//! the user-facing, flat form of a [`StudySpec`].
//!
//! ```toml
//! [sensitivity]
//! method = "morris"              # or "sobol"
//! parameters = ["bexp", "quartz"] # registry names (all classes); default: whole registry
//! outputs = ["kappa", "mean_alt"] # scalar diagnostics computed per parameter set
//! levels = 4                      # Morris grid levels (even)
//! trajectories = 20               # Morris trajectories kept
//! candidates = 100                # Morris candidates for the spread optimisation
//! n = 512                         # Sobol base samples (a power of two)
//! sampling = "sobol"              # Sobol base sampling: "sobol" or "random"
//! second_order = false            # Sobol second-order indices
//! bootstrap = 1000                # bootstrap resamples for the intervals
//! confidence = 0.95
//! screen_threshold = 0.05         # mu* share (Morris) or ST (Sobol) for screened.toml
//! batch = 1                       # parameter sets per model call
//! ```
//!
//! The experiment's `seed` seeds the design and the bootstrap.

use std::path::Path;

use serde::Deserialize;

use super::morris::{MorrisAnalyzeOptions, MorrisOptions};
use super::saltelli::BaseSampling;
use super::sobol::SobolOptions;
use super::study::{Method, ScreenMetric, ScreenRule, StudySpec};
use crate::{Error, Result};

/// Sensitivity method named in the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodName {
    Morris,
    Sobol,
}

/// Base sampling named in the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingName {
    Sobol,
    Random,
}

/// The raw `[sensitivity]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivitySection {
    pub method: MethodName,
    /// Registry parameter names to vary; `None` means every registry parameter.
    pub parameters: Option<Vec<String>>,
    pub outputs: Vec<String>,
    #[serde(default = "d_levels")]
    pub levels: usize,
    #[serde(default = "d_trajectories")]
    pub trajectories: usize,
    #[serde(default = "d_candidates")]
    pub candidates: usize,
    #[serde(default = "d_n")]
    pub n: usize,
    #[serde(default = "d_sampling")]
    pub sampling: SamplingName,
    #[serde(default)]
    pub second_order: bool,
    #[serde(default = "d_bootstrap")]
    pub bootstrap: usize,
    #[serde(default = "d_confidence")]
    pub confidence: f64,
    #[serde(default = "d_threshold")]
    pub screen_threshold: f64,
    #[serde(default = "d_batch")]
    pub batch: usize,
}

fn d_levels() -> usize {
    4
}
fn d_trajectories() -> usize {
    20
}
fn d_candidates() -> usize {
    100
}
fn d_n() -> usize {
    256
}
fn d_sampling() -> SamplingName {
    SamplingName::Sobol
}
fn d_bootstrap() -> usize {
    1000
}
fn d_confidence() -> f64 {
    0.95
}
fn d_threshold() -> f64 {
    0.05
}
fn d_batch() -> usize {
    1
}

impl SensitivitySection {
    /// Read the `[sensitivity]` table of a parsed experiment file at `path`.
    pub fn from_experiment(path: &Path, raw: &toml::Table) -> Result<Self> {
        let value = raw
            .get("sensitivity")
            .ok_or_else(|| Error::config(path, "sensitivity", "missing [sensitivity] section"))?;
        let section: Self = value.clone().try_into().map_err(|e: toml::de::Error| {
            Error::config(path, "sensitivity", e.message().to_string())
        })?;
        section.validate(path)?;
        Ok(section)
    }

    /// Check values; errors name the offending key.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let key = |k: &str| format!("sensitivity.{k}");
        if self.outputs.is_empty() {
            return Err(Error::config(
                path,
                key("outputs"),
                "list at least one output",
            ));
        }
        if self.method == MethodName::Morris {
            if self.levels < 2 || !self.levels.is_multiple_of(2) {
                return Err(Error::config(
                    path,
                    key("levels"),
                    format!("must be even and >= 2, got {}", self.levels),
                ));
            }
            if self.trajectories < 2 {
                return Err(Error::config(
                    path,
                    key("trajectories"),
                    "need at least 2 trajectories for sigma",
                ));
            }
        } else if self.n < 2 {
            return Err(Error::config(
                path,
                key("n"),
                format!("need at least 2 base samples, got {}", self.n),
            ));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::config(
                path,
                key("confidence"),
                format!("must lie in (0, 1), got {}", self.confidence),
            ));
        }
        if !(self.screen_threshold.is_finite() && self.screen_threshold >= 0.0) {
            return Err(Error::config(
                path,
                key("screen_threshold"),
                "must be finite and >= 0",
            ));
        }
        if self.batch == 0 {
            return Err(Error::config(path, key("batch"), "must be at least 1"));
        }
        Ok(())
    }

    /// The study spec for the expanded parameter dimensions `dims` (registry
    /// order, `name` or `name[class]`) and the experiment's `seed`.
    pub fn to_spec(&self, dims: Vec<String>, seed: u64) -> StudySpec {
        let method = match self.method {
            MethodName::Morris => Method::Morris {
                design: MorrisOptions {
                    levels: self.levels,
                    trajectories: self.trajectories,
                    candidates: Some(self.candidates),
                    seed,
                },
                analysis: MorrisAnalyzeOptions {
                    bootstrap: self.bootstrap,
                    confidence: self.confidence,
                    seed,
                },
            },
            MethodName::Sobol => Method::Sobol {
                n: self.n,
                sampling: match self.sampling {
                    SamplingName::Sobol => BaseSampling::Sobol {
                        skip: 0,
                        shift_seed: None,
                    },
                    SamplingName::Random => BaseSampling::Random { seed },
                },
                analysis: SobolOptions {
                    second_order: self.second_order,
                    standardize: true,
                    bootstrap: self.bootstrap,
                    confidence: self.confidence,
                    seed,
                },
            },
        };
        let metric = match self.method {
            MethodName::Morris => ScreenMetric::MuStarShare,
            MethodName::Sobol => ScreenMetric::TotalOrder,
        };
        StudySpec {
            parameters: dims,
            outputs: self.outputs.clone(),
            method,
            screen: ScreenRule {
                metric,
                threshold: self.screen_threshold,
            },
            batch: self.batch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitivity::study::Study;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn morris_section_becomes_a_study() {
        let t = table("kind = \"sensitivity\"\n[sensitivity]\nmethod = \"morris\"\noutputs = [\"kappa\"]\ntrajectories = 6\ncandidates = 20\n");
        let s = SensitivitySection::from_experiment(Path::new("e.toml"), &t).unwrap();
        let spec = s.to_spec(vec!["bexp[1]".into(), "bexp[2]".into(), "quartz".into()], 7);
        let study = Study::new(spec).unwrap();
        assert_eq!(study.design().len(), 6 * 4);
    }

    #[test]
    fn errors_name_the_key() {
        let t = table("[sensitivity]\nmethod = \"morris\"\noutputs = [\"kappa\"]\nlevels = 5\n");
        let e = SensitivitySection::from_experiment(Path::new("e.toml"), &t).unwrap_err();
        assert!(e.to_string().contains("sensitivity.levels"), "{e}");
        let t = table("[sensitivity]\nmethod = \"sobol\"\noutputs = [\"kappa\"]\nsamples = 5\n");
        let e = SensitivitySection::from_experiment(Path::new("e.toml"), &t).unwrap_err();
        assert!(e.to_string().contains("samples"), "{e}");
        let t = table("[sensitivity]\nmethod = \"fast\"\noutputs = [\"kappa\"]\n");
        let e = SensitivitySection::from_experiment(Path::new("e.toml"), &t).unwrap_err();
        assert!(e.to_string().contains("fast"), "{e}");
    }
}
