//! The `[validation]` section of an experiment file.
//!
//! ```toml
//! [validation]
//! observations = "boreholes.csv"   # observation CSV (required)
//! product = "out/annual.nc"        # annual product; default: the one the experiment writes
//! output = "out/validation"        # default: <experiment output>/validation
//! method = "bilinear"              # "nearest" (default) or "bilinear"
//! elevation = "static.nc"          # cell elevations: enables the lapse-rate correction
//! elevation_variable = "elevation" # variable name in a netCDF elevation file
//! lapse_rate = -0.0065             # K/m, needs `elevation`
//! sensitive = "sensitive.tif"      # calibration's sensitive region (GeoTIFF or row,col CSV)
//! magt_depth = 15.0                # depth (m) of the product's `magt` field
//! depth_tolerance = 0.25           # m
//! plots = true
//! ```
//!
//! Relative paths resolve against the experiment file
//! ([`crate::config::resolve`]; `@shared/` points into the shared data).

use std::path::Path;

use serde::Deserialize;

use super::matching::MatchMethod;
use super::run::ValidationConfig;
use crate::config::resolve;
use crate::{Error, Result};

/// The raw `[validation]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSection {
    /// Observation CSV.
    pub observations: String,
    /// Annual product (netCDF); default given by the experiment.
    pub product: Option<String>,
    /// Output folder; default given by the experiment.
    pub output: Option<String>,
    /// `nearest` or `bilinear`.
    #[serde(default)]
    pub method: MatchMethod,
    /// Cell elevation map (m a.s.l.).
    pub elevation: Option<String>,
    /// Variable name in a netCDF elevation file (default `elevation`).
    pub elevation_variable: Option<String>,
    /// Lapse rate (K/m); needs `elevation`.
    pub lapse_rate: Option<f64>,
    /// Sensitive-region mask or cell list.
    pub sensitive: Option<String>,
    /// Depth (m) of the product's `magt` field.
    pub magt_depth: Option<f64>,
    /// Depth tolerance (m) for MAGT observations.
    pub depth_tolerance: Option<f64>,
    /// Draw scatter plots (default true).
    pub plots: Option<bool>,
}

impl ValidationSection {
    /// Resolve paths against the experiment file `experiment` and check the
    /// values; `default_product` and `default_output` are used when the
    /// section does not name them.
    pub fn resolve(
        &self,
        experiment: &Path,
        default_product: Option<&Path>,
        default_output: &Path,
    ) -> Result<ValidationConfig> {
        let key = |k: &str| format!("validation.{k}");
        let product = match (&self.product, default_product) {
            (Some(p), _) => resolve(experiment, &key("product"), p)?,
            (None, Some(p)) => p.to_path_buf(),
            (None, None) => {
                return Err(Error::config(
                    experiment,
                    key("product"),
                    "name the annual product (netCDF) to validate",
                ))
            }
        };
        let out_dir = match &self.output {
            Some(o) => resolve(experiment, &key("output"), o)?,
            None => default_output.to_path_buf(),
        };
        let mut cfg = ValidationConfig::new(
            product,
            resolve(experiment, &key("observations"), &self.observations)?,
            out_dir,
        );
        cfg.method = self.method;
        cfg.elevation = self
            .elevation
            .as_deref()
            .map(|e| resolve(experiment, &key("elevation"), e))
            .transpose()?;
        if let Some(v) = &self.elevation_variable {
            cfg.elevation_variable = v.clone();
        }
        if let Some(l) = self.lapse_rate {
            if cfg.elevation.is_none() {
                return Err(Error::config(
                    experiment,
                    key("lapse_rate"),
                    "a lapse rate needs an `elevation` map of the product cells",
                ));
            }
            if !(l.is_finite() && l.abs() < 0.1) {
                return Err(Error::config(
                    experiment,
                    key("lapse_rate"),
                    format!("{l} is not a plausible lapse rate in K/m (e.g. -0.0065)"),
                ));
            }
            cfg.lapse_rate = l;
        }
        cfg.sensitive = self
            .sensitive
            .as_deref()
            .map(|s| resolve(experiment, &key("sensitive"), s))
            .transpose()?;
        if let Some(d) = self.magt_depth {
            if !(d.is_finite() && d >= 0.0) {
                return Err(Error::config(
                    experiment,
                    key("magt_depth"),
                    format!("{d} m is not a depth below the surface"),
                ));
            }
            cfg.magt_depth = Some(d);
        }
        if let Some(t) = self.depth_tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::config(
                    experiment,
                    key("depth_tolerance"),
                    format!("{t} m must be a non-negative number"),
                ));
            }
            cfg.depth_tolerance = t;
        }
        if let Some(p) = self.plots {
            cfg.plots = p;
        }
        Ok(cfg)
    }
}

#[derive(Deserialize)]
struct ExperimentWithValidation {
    #[serde(default)]
    validation: Option<ValidationSection>,
    #[serde(default)]
    output: Option<toml::Value>,
    #[serde(flatten)]
    _rest: toml::Table,
}

/// Parse the `[validation]` table of experiment text read from
/// `experiment` (other tables are left to their own parsers), and the
/// experiment's `output` key if it is a string. Errors name the file and line.
pub fn parse_validation_section(
    experiment: &Path,
    text: &str,
) -> Result<(Option<ValidationSection>, Option<String>)> {
    let w: ExperimentWithValidation =
        toml::from_str(text).map_err(|e| crate::config::toml_error(experiment, text, e))?;
    let output = match w.output {
        Some(toml::Value::String(s)) => Some(s),
        _ => None,
    };
    Ok((w.validation, output))
}

/// The validation configuration of an experiment file with a `[validation]`
/// table (`None` without one). Defaults: the product is `default_product`
/// (the one the experiment writes); the output folder is
/// `<experiment output>/validation`, where the experiment output is its
/// `output` key or `out/<file stem>`.
pub fn validation_config_from_experiment(
    experiment: &Path,
    default_product: Option<&Path>,
) -> Result<Option<ValidationConfig>> {
    let text = std::fs::read_to_string(experiment).map_err(|e| Error::io(experiment, e))?;
    let (section, output) = parse_validation_section(experiment, &text)?;
    let Some(section) = section else {
        return Ok(None);
    };
    let base = match output {
        Some(o) => resolve(experiment, "output", &o)?,
        None => std::path::PathBuf::from("out").join(
            experiment
                .file_stem()
                .map_or_else(|| "experiment".into(), |s| s.to_string_lossy().into_owned()),
        ),
    };
    section
        .resolve(experiment, default_product, &base.join("validation"))
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse(text: &str) -> std::result::Result<ValidationSection, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn resolves_paths_against_the_experiment() {
        let s = parse(
            "observations = \"obs/b.csv\"\nmethod = \"bilinear\"\nelevation = \"static.nc\"\n\
             lapse_rate = -0.005\nsensitive = \"/abs/s.tif\"\n",
        )
        .unwrap();
        let exp = Path::new("/x/exp/demo.toml");
        let cfg = s
            .resolve(
                exp,
                Some(Path::new("/x/out/annual.nc")),
                Path::new("/x/out/v"),
            )
            .unwrap();
        assert_eq!(cfg.observations, PathBuf::from("/x/exp/obs/b.csv"));
        assert_eq!(cfg.product, PathBuf::from("/x/out/annual.nc"));
        assert_eq!(cfg.out_dir, PathBuf::from("/x/out/v"));
        assert_eq!(cfg.elevation, Some(PathBuf::from("/x/exp/static.nc")));
        assert_eq!(cfg.sensitive, Some(PathBuf::from("/abs/s.tif")));
        assert_eq!(cfg.method, MatchMethod::Bilinear);
        assert_eq!(cfg.lapse_rate, -0.005);
    }

    #[test]
    fn section_inside_an_experiment() {
        let exp = Path::new("/x/exp/cal.toml");
        let text = "kind = \"calibration\"\noutput = \"../out/cal\"\n[model]\nname = \"noah\"\n\
                    [validation]\nobservations = \"b.csv\"\nproduct = \"p.nc\"\n";
        let (s, out) = parse_validation_section(exp, text).unwrap();
        assert_eq!(out.as_deref(), Some("../out/cal"));
        let cfg = s
            .unwrap()
            .resolve(exp, None, Path::new("/x/out/cal/validation"))
            .unwrap();
        assert_eq!(cfg.product, PathBuf::from("/x/exp/p.nc"));
        let (none, _) = parse_validation_section(exp, "kind = \"point\"\n").unwrap();
        assert!(none.is_none());
        let e = parse_validation_section(
            exp,
            "kind = \"x\"\n[validation]\nobservations = \"b.csv\"\nlapse = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cal.toml:") && e.contains("lapse"), "{e}");
    }

    #[test]
    fn bad_sections_are_rejected() {
        assert!(parse("observations = \"a.csv\"\nmetod = \"nearest\"\n")
            .unwrap_err()
            .to_string()
            .contains("metod"));
        assert!(parse("observations = \"a.csv\"\nmethod = \"cubic\"\n").is_err());
        let exp = Path::new("/x/e.toml");
        let s = parse("observations = \"a.csv\"\nlapse_rate = -6.5\n").unwrap();
        let e = s
            .resolve(exp, Some(Path::new("p.nc")), Path::new("o"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.lapse_rate"), "{e}");
        let s = parse("observations = \"a.csv\"\n").unwrap();
        let e = s
            .resolve(exp, None, Path::new("o"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.product"), "{e}");
    }
}
