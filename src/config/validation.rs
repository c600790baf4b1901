//! The `[validation]` section, shared by calibration and hindcast experiments
//! (and read by `calimap validate --experiment`).
//!
//! ```toml
//! [validation]
//! observations = "boreholes.csv"   # observation CSV (see `validate::obs`), or
//! synthetic = true                 # sample boreholes from the hidden truth (demo)
//! sites = 30                       # synthetic: number of sites (default 30)
//! truth = "truth.toml"             # synthetic: hidden parameter set (default:
//!                                  #   the calibration's `truth` perturbation)
//! noise = { alt = 0.1, ttop = 0.2, gt10m = 0.2 }   # synthetic: noise sd (m, K, K)
//! seed = 7                         # synthetic: sampling seed (default: experiment seed)
//! method = "nearest"               # "nearest" (default) or "bilinear"
//! lapse_rate = -0.0065             # K/m: elevation correction of temperatures
//! elevation = "static.nc"          # cell elevations: enables the correction (with a
//!                                  #   lapse rate and no map: the domain's static maps)
//! elevation_variable = "elevation" # variable name in a netCDF elevation file
//! years = [2001, 2002]             # validate only observations inside these years
//! sensitive = "region.tif"         # sites in it are not independent (default for a
//!                                  #   calibration: its own sensitive region)
//! product = "out/annual.nc"        # default: the product the experiment writes
//! output = "out/validation"        # default: <experiment output>/validation
//! magt_depth = 15.0                # depth (m) of the product's `magt` field
//! depth_tolerance = 0.25           # m
//! plots = true
//! ```
//!
//! The raw table ([`ValidationSection`]) rejects unknown keys (the error names
//! the file and line, since it is deserialised as part of the experiment
//! file); [`ValidationSection::resolve`] checks the values once and resolves
//! every path against the experiment file into [`ValidationSettings`].

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::resolve;
use crate::validate::matching::MatchMethod;
use crate::validate::run::ValidationConfig;
use crate::validate::synthetic::SyntheticNoise;
use crate::{Error, Result};

/// Default number of synthetic boreholes.
pub const DEFAULT_SYNTHETIC_SITES: usize = 30;

/// File name of the synthetic observations in the validation folder.
pub const SYNTHETIC_OBSERVATIONS: &str = "synthetic_boreholes.csv";

/// Noise of synthetic observations: one standard deviation per variable.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSection {
    /// Active-layer thickness noise (m).
    pub alt: Option<f64>,
    /// TTOP noise (K).
    pub ttop: Option<f64>,
    /// GT10m noise (K).
    pub gt10m: Option<f64>,
}

/// The raw `[validation]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSection {
    /// Observation CSV.
    pub observations: Option<String>,
    /// Sample synthetic boreholes from the hidden-truth run instead.
    #[serde(default)]
    pub synthetic: bool,
    /// Number of synthetic sites.
    pub sites: Option<usize>,
    /// Parameter-set file of the hidden truth (synthetic only).
    pub truth: Option<String>,
    /// Noise of synthetic observations.
    pub noise: Option<NoiseSection>,
    /// Seed of the synthetic sampling.
    pub seed: Option<u64>,
    /// Annual product (netCDF); default given by the experiment.
    pub product: Option<String>,
    /// Output folder; default `<experiment output>/validation`.
    pub output: Option<String>,
    /// `nearest` or `bilinear`.
    #[serde(default)]
    pub method: MatchMethod,
    /// Cell elevation map (m a.s.l.).
    pub elevation: Option<String>,
    /// Variable name in a netCDF elevation file (default `elevation`).
    pub elevation_variable: Option<String>,
    /// Lapse rate (K/m).
    pub lapse_rate: Option<f64>,
    /// First and last year of the observations validated.
    pub years: Option<[i32; 2]>,
    /// Sensitive-region mask or cell list.
    pub sensitive: Option<String>,
    /// Depth (m) of the product's `magt` field.
    pub magt_depth: Option<f64>,
    /// Depth tolerance (m) for MAGT observations.
    pub depth_tolerance: Option<f64>,
    /// Draw scatter plots (default true).
    pub plots: Option<bool>,
}

/// Where the observations come from.
#[derive(Clone, Debug, PartialEq)]
pub enum ObservationSource {
    /// An observation CSV (resolved path).
    File(PathBuf),
    /// Synthetic boreholes sampled from the hidden-truth run.
    Synthetic(SyntheticSource),
}

/// How synthetic boreholes are made.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSource {
    /// Number of sites (distinct land cells).
    pub sites: usize,
    /// Parameter-set file of the hidden truth; `None`: the calibration's
    /// `truth` perturbation.
    pub truth: Option<PathBuf>,
    /// Noise standard deviations.
    pub noise: SyntheticNoise,
    /// Sampling seed; `None`: the experiment seed.
    pub seed: Option<u64>,
}

/// What the experiment around a `[validation]` table provides.
#[derive(Clone, Debug, Default)]
pub struct ValidationContext {
    /// The domain's static maps (cell elevations), for a gridded experiment.
    pub static_maps: Option<PathBuf>,
    /// The transient period (first, last year), for a gridded experiment.
    pub period: Option<(i32, i32)>,
    /// Whether the experiment has a hidden truth of its own (a calibration's
    /// `truth`), so `synthetic = true` needs no `truth` file.
    pub has_truth: bool,
}

/// A `[validation]` table, checked and with its paths resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationSettings {
    /// Observations.
    pub source: ObservationSource,
    /// The product to validate; `None`: the one the experiment writes.
    pub product: Option<PathBuf>,
    /// Output folder; `None`: `<experiment output>/validation`.
    pub output: Option<PathBuf>,
    /// Nearest cell or bilinear.
    pub method: MatchMethod,
    /// Cell elevation map; `None` without a lapse-rate correction.
    pub elevation: Option<PathBuf>,
    /// Variable name of the elevation in a netCDF file.
    pub elevation_variable: String,
    /// Lapse rate (K/m); `None`: no correction.
    pub lapse_rate: Option<f64>,
    /// First and last year of the observations validated.
    pub years: Option<(i32, i32)>,
    /// Sensitive region; `None`: the calibration's own (or none).
    pub sensitive: Option<PathBuf>,
    /// Depth (m) of the product's `magt` field.
    pub magt_depth: Option<f64>,
    /// Depth tolerance (m) for MAGT observations.
    pub depth_tolerance: Option<f64>,
    /// Draw scatter plots.
    pub plots: bool,
}

impl ValidationSection {
    /// Check the values and resolve the paths against the experiment file
    /// `experiment`. Errors name the file and the `validation.<key>`.
    pub fn resolve(
        &self,
        experiment: &Path,
        ctx: &ValidationContext,
    ) -> Result<ValidationSettings> {
        let key = |k: &str| format!("validation.{k}");
        let err = |k: &str, m: String| Error::config(experiment, key(k), m);
        let path = |k: &str, v: &Option<String>| -> Result<Option<PathBuf>> {
            v.as_deref()
                .map(|p| resolve(experiment, &key(k), p))
                .transpose()
        };
        let source = match (&self.observations, self.synthetic) {
            (Some(_), true) => {
                return Err(err(
                    "synthetic",
                    "give either `observations` or `synthetic = true`, not both".into(),
                ))
            }
            (None, false) => {
                return Err(err(
                    "observations",
                    "name an observation CSV, or set `synthetic = true` to sample boreholes \
                     from the hidden truth"
                        .into(),
                ))
            }
            (Some(o), false) => {
                for (k, given) in [
                    ("sites", self.sites.is_some()),
                    ("truth", self.truth.is_some()),
                    ("noise", self.noise.is_some()),
                    ("seed", self.seed.is_some()),
                ] {
                    if given {
                        return Err(err(k, "only used with `synthetic = true`".into()));
                    }
                }
                ObservationSource::File(resolve(experiment, &key("observations"), o)?)
            }
            (None, true) => {
                let sites = self.sites.unwrap_or(DEFAULT_SYNTHETIC_SITES);
                if sites == 0 {
                    return Err(err("sites", "need at least one site".into()));
                }
                let truth = path("truth", &self.truth)?;
                if truth.is_none() && !ctx.has_truth {
                    return Err(err(
                        "truth",
                        "synthetic boreholes need the hidden truth: a parameter-set file, or a \
                         calibration with a `truth` perturbation"
                            .into(),
                    ));
                }
                let d = SyntheticNoise::default();
                let n = self.noise.clone().unwrap_or(NoiseSection {
                    alt: None,
                    ttop: None,
                    gt10m: None,
                });
                let noise = SyntheticNoise {
                    alt: n.alt.unwrap_or(d.alt),
                    ttop: n.ttop.unwrap_or(d.ttop),
                    gt10m: n.gt10m.unwrap_or(d.gt10m),
                };
                for (k, sd) in [
                    ("noise.alt", noise.alt),
                    ("noise.ttop", noise.ttop),
                    ("noise.gt10m", noise.gt10m),
                ] {
                    if !(sd.is_finite() && sd >= 0.0) {
                        return Err(err(k, format!("{sd} must be a non-negative number")));
                    }
                }
                ObservationSource::Synthetic(SyntheticSource {
                    sites,
                    truth,
                    noise,
                    seed: self.seed,
                })
            }
        };
        let mut elevation = path("elevation", &self.elevation)?;
        if let Some(l) = self.lapse_rate {
            if !(l.is_finite() && l.abs() < 0.1) {
                return Err(err(
                    "lapse_rate",
                    format!("{l} is not a plausible lapse rate in K/m (e.g. -0.0065)"),
                ));
            }
            if elevation.is_none() {
                elevation = ctx.static_maps.clone();
            }
            if elevation.is_none() {
                return Err(err(
                    "lapse_rate",
                    "a lapse rate needs an `elevation` map of the product cells".into(),
                ));
            }
        }
        let years = match self.years {
            None => None,
            Some([a, b]) => {
                if a > b {
                    return Err(err(
                        "years",
                        format!("[{a}, {b}]: give the first year first"),
                    ));
                }
                if let Some((p0, p1)) = ctx.period {
                    if b < p0 || a > p1 {
                        return Err(err(
                            "years",
                            format!("[{a}, {b}] lies outside the simulated years {p0}-{p1}"),
                        ));
                    }
                }
                Some((a, b))
            }
        };
        if let Some(d) = self.magt_depth {
            if !(d.is_finite() && d >= 0.0) {
                return Err(err(
                    "magt_depth",
                    format!("{d} m is not a depth below the surface"),
                ));
            }
        }
        if let Some(t) = self.depth_tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return Err(err(
                    "depth_tolerance",
                    format!("{t} m must be a non-negative number"),
                ));
            }
        }
        Ok(ValidationSettings {
            source,
            product: path("product", &self.product)?,
            output: path("output", &self.output)?,
            method: self.method,
            elevation,
            elevation_variable: self
                .elevation_variable
                .clone()
                .unwrap_or_else(|| "elevation".into()),
            lapse_rate: self.lapse_rate,
            years,
            sensitive: path("sensitive", &self.sensitive)?,
            magt_depth: self.magt_depth,
            depth_tolerance: self.depth_tolerance,
            plots: self.plots.unwrap_or(true),
        })
    }
}

impl ValidationSettings {
    /// The validation folder: the `output` key, else `<experiment output>/validation`.
    pub fn out_dir(&self, experiment_output: &Path) -> PathBuf {
        self.output
            .clone()
            .unwrap_or_else(|| experiment_output.join("validation"))
    }

    /// The configuration of one validation run of `product` against the
    /// observation file `observations`, written to `out_dir`; `sensitive` is
    /// used when the table names no sensitive region.
    pub fn config(
        &self,
        product: PathBuf,
        observations: PathBuf,
        out_dir: PathBuf,
        sensitive: Option<PathBuf>,
    ) -> ValidationConfig {
        let mut cfg = ValidationConfig::new(product, observations, out_dir);
        cfg.method = self.method;
        // An elevation map enables the correction (at the default lapse
        // rate unless one is given).
        cfg.elevation = self.elevation.clone();
        if let Some(l) = self.lapse_rate {
            cfg.lapse_rate = l;
        }
        cfg.elevation_variable = self.elevation_variable.clone();
        cfg.sensitive = self.sensitive.clone().or(sensitive);
        cfg.magt_depth = self.magt_depth;
        if let Some(t) = self.depth_tolerance {
            cfg.depth_tolerance = t;
        }
        cfg.years = self.years;
        cfg.plots = self.plots;
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<ValidationSection, toml::de::Error> {
        toml::from_str(text)
    }

    fn gridded() -> ValidationContext {
        ValidationContext {
            static_maps: Some(PathBuf::from("/x/data/static.nc")),
            period: Some((2001, 2002)),
            has_truth: true,
        }
    }

    #[test]
    fn resolves_paths_and_defaults() {
        let exp = Path::new("/x/exp/demo.toml");
        let s = parse(
            "observations = \"obs/b.csv\"\nmethod = \"bilinear\"\nlapse_rate = -0.005\n\
             sensitive = \"/abs/s.tif\"\nyears = [2001, 2001]\n",
        )
        .unwrap()
        .resolve(exp, &gridded())
        .unwrap();
        assert_eq!(
            s.source,
            ObservationSource::File(PathBuf::from("/x/exp/obs/b.csv"))
        );
        // The lapse rate takes the domain's elevations when none are named.
        assert_eq!(s.elevation, Some(PathBuf::from("/x/data/static.nc")));
        assert_eq!(s.years, Some((2001, 2001)));
        let cfg = s.config(
            PathBuf::from("/p.nc"),
            PathBuf::from("/o.csv"),
            s.out_dir(Path::new("/x/out")),
            Some(PathBuf::from("/x/out/region.tif")),
        );
        assert_eq!(cfg.out_dir, PathBuf::from("/x/out/validation"));
        assert_eq!(cfg.method, MatchMethod::Bilinear);
        assert_eq!(cfg.lapse_rate, -0.005);
        // The table's own sensitive region wins over the calibration's.
        assert_eq!(cfg.sensitive, Some(PathBuf::from("/abs/s.tif")));
        assert_eq!(cfg.years, Some((2001, 2001)));
    }

    #[test]
    fn synthetic_settings() {
        let exp = Path::new("/x/exp/demo.toml");
        let s = parse("synthetic = true\nsites = 12\nnoise = { alt = 0.05 }\n")
            .unwrap()
            .resolve(exp, &gridded())
            .unwrap();
        let ObservationSource::Synthetic(syn) = &s.source else {
            panic!("synthetic source")
        };
        assert_eq!(syn.sites, 12);
        assert_eq!(syn.noise.alt, 0.05);
        assert_eq!(syn.noise.ttop, SyntheticNoise::default().ttop);
        assert_eq!(syn.truth, None);
        assert_eq!(s.elevation, None, "no lapse rate, no elevation");
        // Without a truth of the experiment's own, a truth file is required.
        let e = parse("synthetic = true\n")
            .unwrap()
            .resolve(exp, &ValidationContext::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.truth"), "{e}");
        let s = parse("synthetic = true\ntruth = \"t.toml\"\n")
            .unwrap()
            .resolve(exp, &ValidationContext::default())
            .unwrap();
        let ObservationSource::Synthetic(syn) = &s.source else {
            panic!("synthetic source")
        };
        assert_eq!(syn.truth, Some(PathBuf::from("/x/exp/t.toml")));
    }

    /// A calibration or hindcast experiment ending with `validation`.
    fn experiment(kind: &str, validation: &str) -> String {
        let body = if kind == "calibration" {
            "[calibration]\nreference = \"r.tif\"\nyear = 2002\ntruth = { seed = 1 }\n"
        } else {
            ""
        };
        format!(
            "kind = \"{kind}\"\n[domain]\nforcing_dir = \"f\"\nstatic = \"d/static.nc\"\n\
             [period]\nspinup = [2000, 2000]\nstart = 2001\nend = 2002\n{body}\
             [validation]\n{validation}"
        )
    }

    #[test]
    fn one_table_for_calibration_and_hindcast_experiments() {
        use crate::config::{Body, Experiment};
        let exp = Path::new("/x/exp/e.toml");
        for kind in ["calibration", "hindcast"] {
            // Unknown keys and bad values name the file and line.
            let text = experiment(kind, "synthetic = true\ntruth = \"t.toml\"\nsitez = 3\n");
            let e = Experiment::parse(exp, &text).unwrap_err().to_string();
            let line = text.lines().position(|l| l.starts_with("sitez")).unwrap() + 1;
            assert!(
                e.contains(&format!("e.toml:{line}")) && e.contains("sitez"),
                "{e}"
            );
            let text = experiment(kind, "observations = \"b.csv\"\nmethod = \"cubic\"\n");
            let e = Experiment::parse(exp, &text).unwrap_err().to_string();
            let line = text.lines().position(|l| l.starts_with("method")).unwrap() + 1;
            assert!(e.contains(&format!("e.toml:{line}")), "{e}");
            // Checked values name the key; the domain's elevations serve the lapse rate.
            let text = experiment(kind, "observations = \"b.csv\"\nyears = [1990, 1991]\n");
            let e = Experiment::parse(exp, &text).unwrap_err().to_string();
            assert!(e.contains("validation.years"), "{e}");
            let text = experiment(kind, "observations = \"b.csv\"\nlapse_rate = -0.006\n");
            let settings = match Experiment::parse(exp, &text).unwrap().body {
                Body::Calibration(c) => c.validation.unwrap(),
                Body::Hindcast(h) => h.validation.unwrap(),
                _ => panic!("{kind}"),
            };
            assert_eq!(
                settings.elevation,
                Some(PathBuf::from("/x/exp/d/static.nc"))
            );
            assert_eq!(
                settings.source,
                ObservationSource::File(PathBuf::from("/x/exp/b.csv"))
            );
        }
        // A calibration's truth serves synthetic boreholes; a hindcast needs a file.
        assert!(Experiment::parse(exp, &experiment("calibration", "synthetic = true\n")).is_ok());
        let e = Experiment::parse(exp, &experiment("hindcast", "synthetic = true\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.truth"), "{e}");
    }

    #[test]
    fn bad_tables_are_rejected_with_the_key() {
        let exp = Path::new("/x/e.toml");
        assert!(parse("observations = \"a.csv\"\nmetod = \"nearest\"\n")
            .unwrap_err()
            .to_string()
            .contains("metod"));
        assert!(parse("observations = \"a.csv\"\nmethod = \"cubic\"\n").is_err());
        assert!(parse("synthetic = true\nnoise = { alt = 0.1, gt = 1 }\n").is_err());
        for (text, k) in [
            (
                "observations = \"a.csv\"\nlapse_rate = -6.5\n",
                "lapse_rate",
            ),
            ("observations = \"a.csv\"\nsynthetic = true\n", "synthetic"),
            ("method = \"nearest\"\n", "observations"),
            ("observations = \"a.csv\"\nsites = 4\n", "sites"),
            ("synthetic = true\nsites = 0\n", "sites"),
            ("synthetic = true\nnoise = { ttop = -1.0 }\n", "noise.ttop"),
            ("observations = \"a.csv\"\nyears = [2002, 2001]\n", "years"),
            ("observations = \"a.csv\"\nyears = [1990, 1995]\n", "years"),
            (
                "observations = \"a.csv\"\nmagt_depth = -2.0\n",
                "magt_depth",
            ),
        ] {
            let e = parse(text)
                .unwrap()
                .resolve(exp, &gridded())
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("validation.{k}")), "{text}: {e}");
        }
        // Outside a gridded experiment a lapse rate needs an elevation map.
        let e = parse("observations = \"a.csv\"\nlapse_rate = -0.0065\n")
            .unwrap()
            .resolve(exp, &ValidationContext::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.lapse_rate"), "{e}");
    }
}
