//! The `[validation]` table of an experiment file read on its own, for
//! `calimap validate --experiment`.
//!
//! The table itself is defined and checked once in
//! [`crate::config::validation`] (calibration and hindcast experiments parse
//! it with the rest of the file and validate at the end of their run).
//! Read alone, the product and the sensitive region default to what the
//! experiment's own run validated: for a calibration `<output>/ensemble/hindcast.nc`
//! with `[ensemble] enabled = true`, else `<output>/best_annual.nc`, and the
//! region `<output>/region.tif`; for a hindcast `<output>/hindcast.nc`. Other
//! kinds must name the `product`. With `synthetic = true` the observations
//! are the CSV the experiment's `calimap run` wrote into the validation folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::run::ValidationConfig;
pub use crate::config::validation::ValidationSection;
use crate::config::validation::{ObservationSource, ValidationContext, SYNTHETIC_OBSERVATIONS};
use crate::config::{resolve, toml_error};
use crate::{Error, Result};

#[derive(Deserialize)]
struct ExperimentWithValidation {
    #[serde(default)]
    validation: Option<ValidationSection>,
    #[serde(default)]
    kind: Option<toml::Value>,
    #[serde(default)]
    output: Option<toml::Value>,
    #[serde(default)]
    calibration: Option<toml::Table>,
    #[serde(default)]
    ensemble: Option<toml::Table>,
    #[serde(flatten)]
    _rest: toml::Table,
}

/// What [`parse_validation_section`] reads of an experiment file.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentValidation {
    /// The `[validation]` table, if any.
    pub section: Option<ValidationSection>,
    /// The experiment's `kind`, if a string.
    pub kind: Option<String>,
    /// The experiment's `output` key, if a string.
    pub output: Option<String>,
    /// Whether a calibration has a `truth` perturbation.
    pub has_truth: bool,
    /// Whether a calibration runs its top-K ensemble (`[ensemble] enabled = true`).
    pub ensemble_enabled: bool,
}

/// Parse the `[validation]` table of experiment text read from
/// `experiment` and the few other keys its defaults depend on (other tables
/// are left to their own parsers). Errors name the file and line.
pub fn parse_validation_section(experiment: &Path, text: &str) -> Result<ExperimentValidation> {
    let w: ExperimentWithValidation =
        toml::from_str(text).map_err(|e| toml_error(experiment, text, e))?;
    let string = |v: Option<toml::Value>| match v {
        Some(toml::Value::String(s)) => Some(s),
        _ => None,
    };
    Ok(ExperimentValidation {
        section: w.validation,
        kind: string(w.kind),
        output: string(w.output),
        has_truth: w.calibration.is_some_and(|c| c.contains_key("truth")),
        ensemble_enabled: w
            .ensemble
            .as_ref()
            .and_then(|e| e.get("enabled"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    })
}

/// The validation configuration of an experiment file with a `[validation]`
/// table (`None` without one). Defaults: the product is `default_product`;
/// the output folder is `<experiment output>/validation`, where the
/// experiment output is its `output` key or `out/<file stem>`.
pub fn validation_config_from_experiment(
    experiment: &Path,
    default_product: Option<&Path>,
) -> Result<Option<ValidationConfig>> {
    let text = std::fs::read_to_string(experiment).map_err(|e| Error::io(experiment, e))?;
    let parsed = parse_validation_section(experiment, &text)?;
    let Some(section) = &parsed.section else {
        return Ok(None);
    };
    let ctx = ValidationContext {
        has_truth: parsed.has_truth,
        ..Default::default()
    };
    let settings = section.resolve(experiment, &ctx)?;
    let base = match &parsed.output {
        Some(o) => resolve(experiment, "output", &o)?,
        None => PathBuf::from("out").join(
            experiment
                .file_stem()
                .map_or_else(|| "experiment".into(), |s| s.to_string_lossy().into_owned()),
        ),
    };
    let out_dir = settings.out_dir(&base);
    let (run_product, sensitive) = match parsed.kind.as_deref() {
        Some("calibration") if parsed.ensemble_enabled => (
            Some(base.join("ensemble").join("hindcast.nc")),
            Some(base.join("region.tif")),
        ),
        Some("calibration") => (
            Some(base.join("best_annual.nc")),
            Some(base.join("region.tif")),
        ),
        Some("hindcast") => (Some(base.join("hindcast.nc")), None),
        _ => (None, None),
    };
    let product = match (&settings.product, default_product, run_product) {
        (Some(p), _, _) => p.clone(),
        (None, Some(p), _) => p.to_path_buf(),
        (None, None, Some(p)) => p,
        (None, None, None) => {
            return Err(Error::config(
                experiment,
                "validation.product",
                "name the annual product (netCDF) to validate",
            ))
        }
    };
    let observations = match &settings.source {
        ObservationSource::File(p) => p.clone(),
        ObservationSource::Synthetic(_) => {
            let p = out_dir.join(SYNTHETIC_OBSERVATIONS);
            if !p.is_file() {
                return Err(Error::config(
                    experiment,
                    "validation.synthetic",
                    format!(
                        "{} does not exist: synthetic boreholes are sampled by `calimap run` \
                         of the experiment",
                        p.display()
                    ),
                ));
            }
            p
        }
    };
    Ok(Some(settings.config(
        product,
        observations,
        out_dir,
        sensitive,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_inside_an_experiment() {
        let exp = Path::new("/x/exp/cal.toml");
        let text = "kind = \"calibration\"\noutput = \"../out/cal\"\n[model]\nname = \"noah\"\n\
                    [calibration]\ntruth = { seed = 1 }\n\
                    [validation]\nobservations = \"b.csv\"\nproduct = \"p.nc\"\n";
        let p = parse_validation_section(exp, text).unwrap();
        assert_eq!(p.output.as_deref(), Some("../out/cal"));
        assert_eq!(p.kind.as_deref(), Some("calibration"));
        assert!(p.has_truth && !p.ensemble_enabled);
        assert_eq!(p.section.unwrap().product.as_deref(), Some("p.nc"));
        let p = parse_validation_section(exp, "kind = \"point\"\n").unwrap();
        assert!(p.section.is_none() && !p.has_truth);
        let e = parse_validation_section(
            exp,
            "kind = \"x\"\n[validation]\nobservations = \"b.csv\"\nlapse = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cal.toml:4") && e.contains("lapse"), "{e}");
    }

    #[test]
    fn standalone_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let exp = dir.path().join("e.toml");
        std::fs::write(
            &exp,
            "kind = \"hindcast\"\noutput = \"out\"\n[validation]\nobservations = \"b.csv\"\n\
             product = \"p.nc\"\nelevation = \"z.tif\"\n",
        )
        .unwrap();
        let cfg = validation_config_from_experiment(&exp, None)
            .unwrap()
            .unwrap();
        assert_eq!(cfg.product, dir.path().join("p.nc"));
        assert_eq!(cfg.observations, dir.path().join("b.csv"));
        assert_eq!(cfg.out_dir, dir.path().join("out/validation"));
        assert_eq!(cfg.elevation, Some(dir.path().join("z.tif")));
        // Synthetic observations come from a previous run's folder.
        std::fs::write(
            &exp,
            "kind = \"hindcast\"\noutput = \"out\"\n[validation]\nsynthetic = true\n\
             truth = \"t.toml\"\nproduct = \"p.nc\"\n",
        )
        .unwrap();
        let e = validation_config_from_experiment(&exp, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.synthetic"), "{e}");
        std::fs::create_dir_all(dir.path().join("out/validation")).unwrap();
        std::fs::write(
            dir.path()
                .join("out/validation")
                .join(SYNTHETIC_OBSERVATIONS),
            "",
        )
        .unwrap();
        let cfg = validation_config_from_experiment(&exp, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            cfg.observations,
            dir.path()
                .join("out/validation")
                .join(SYNTHETIC_OBSERVATIONS)
        );
        // A calibration validates what its run validated, with its region.
        std::fs::write(
            &exp,
            "kind = \"calibration\"\noutput = \"out\"\n[ensemble]\nenabled = true\n\
             [validation]\nobservations = \"b.csv\"\n",
        )
        .unwrap();
        let cfg = validation_config_from_experiment(&exp, None)
            .unwrap()
            .unwrap();
        assert_eq!(cfg.product, dir.path().join("out/ensemble/hindcast.nc"));
        assert_eq!(cfg.sensitive, Some(dir.path().join("out/region.tif")));
        std::fs::write(
            &exp,
            "kind = \"calibration\"\noutput = \"out\"\n[validation]\nobservations = \"b.csv\"\n",
        )
        .unwrap();
        let cfg = validation_config_from_experiment(&exp, None)
            .unwrap()
            .unwrap();
        assert_eq!(cfg.product, dir.path().join("out/best_annual.nc"));
        // Without a product of its own the key is named.
        std::fs::write(
            &exp,
            "kind = \"survey\"\n[validation]\nobservations = \"b.csv\"\n",
        )
        .unwrap();
        let e = validation_config_from_experiment(&exp, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation.product"), "{e}");
    }
}
