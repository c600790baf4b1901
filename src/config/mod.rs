//! Experiment files: raw serde structures parsed from TOML, validated once into
//! a typed, resolved [`Experiment`]. Nothing downstream re-validates.
//!
//! Every section rejects keys it does not know (the error names the key and
//! the line), and every relative path is resolved against the experiment
//! file's folder (see [`paths`]).

pub mod calibration;
pub mod domain;
pub mod hindcast;
pub mod paths;
pub mod validation;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// What an experiment file asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExperimentKind {
    /// One column at one point: spin-up then a transient run (daily.csv, annual.csv).
    Point,
    /// A gridded hindcast over a domain, optionally for an ensemble of parameter sets.
    Hindcast,
    /// Map-based calibration (Kappa against a reference map), then the top-K ensemble.
    Calibration,
    /// Morris or Sobol sensitivity study.
    Sensitivity,
    /// Validation of simulated diagnostics against borehole observations.
    Validation,
    /// Calibration of a fast empirical model against a survey map.
    Survey,
}

/// The model section shared by every kind that runs the column model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Model name (`noah-tibet`).
    #[serde(default = "default_model_name")]
    pub name: String,
    /// Folder of the model's tables (soil.toml, vegetation.toml, general.toml,
    /// parameters.toml); default `<repo>/models/<name>`.
    pub tables: Option<String>,
    /// Supercooled-water curve: `koren99` or `niu06`.
    #[serde(default = "default_freeze_curve")]
    pub freeze_curve: String,
    /// Thermal roughness of the `chen97` surface layer: `czil` (Zilitinkevich)
    /// or `yang08` (Yang et al. 2008, the default); the `myj` surface layer
    /// takes `czil` (its own stability-dependent Zilitinkevich form).
    pub thermal_roughness: Option<String>,
    /// Surface-layer scheme: `chen97` (Monin-Obukhov iteration), `myj` or
    /// `myj_local_czil` (Noah 3.4.1 SFCDIF_MYJ with `iz0tlnd` 0 or 1), `y08`
    /// (Noah-Tibet's Yang et al. bare-soil scheme). Default: the Noah forcing
    /// file's `sfcdif_option` (0 `chen97` with `czil`, 1 `myj`, 2 `y08`) / `iz0tlnd` where it has
    /// them, else `chen97`.
    pub surface_layer: Option<String>,
    /// Lower boundary: `tbot` (fixed temperature at ZBOT) or `geothermal` (heat flux).
    #[serde(default = "default_lower_boundary")]
    pub lower_boundary: String,
    /// Geothermal heat flux (W m-2) when `lower_boundary = "geothermal"`.
    pub geothermal_flux: Option<f64>,
    /// A parameter-set file (TOML) overriding registry defaults, e.g. a calibration's best set.
    pub parameters: Option<String>,
    /// Layer thicknesses (m), top down; default: those of the forcing file or the
    /// 20-layer 15.2 m Noah-Tibet column.
    pub layers: Option<Vec<f64>>,
    /// Soil class of each layer (indices into soil.toml); default from the forcing file.
    pub soil_classes: Option<Vec<u32>>,
    /// Vegetation class (index into vegetation.toml); default from the forcing file.
    pub veg_class: Option<u32>,
    /// Deep soil temperature TBOT at ZBOT: a temperature (K), or
    /// `"mean-air"`, the forcing's mean air temperature over the spin-up
    /// years (a point run's; in a domain `[domain] tbot` decides); default
    /// from the forcing file.
    pub tbot: Option<TbotSetting>,
    /// Thermal conductivity scheme: `noah_tibet` (Johansen / Peters-Lidard
    /// with the gravel and bedrock classes of Chen et al. 2012, the default)
    /// or `peters_lidard` (every class as mineral soil, Noah 3.4.1).
    pub conductivity: Option<String>,
    /// Ice impedance of the soil-water fluxes: `noahtibet` (the released
    /// Noah-Tibet code's `OPT_INF = 2`, a 10^(-E ice) factor on functions
    /// of the total water; the default), `niu06` (Niu and Yang 2006's
    /// impermeable fraction, as in Noah-MP) or `noah` (Noah 3.4.1).
    pub ice_impedance: Option<String>,
    /// Snow albedo over the pack: `livneh` (Livneh et al. 2010 ageing, the
    /// default) or `constant` (the maximum snow albedo).
    pub snow_albedo: Option<String>,
    /// Time treatment of the gravity flux in the soil-water step: `implicit`
    /// (linearised, the default) or `explicit` (Noah's SRT).
    pub soil_gravity: Option<String>,
    /// Soil heat and phase change: `enthalpy` (implicit in enthalpy with
    /// every layer on its freeze curve, the default) or `noah` (Noah's
    /// HRT/HSTEP with the SNKSRC phase change limited by the step's
    /// conductive heat, enthalpy still conserved).
    pub heat_scheme: Option<String>,
}

/// How `[model] tbot` is given.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TbotSetting {
    /// A temperature (K).
    Kelvin(f64),
    /// A rule by name: `mean-air`.
    Rule(String),
}

impl ModelSection {
    /// TBOT (K) where the section gives a temperature.
    pub fn tbot_kelvin(&self) -> Option<f64> {
        match self.tbot {
            Some(TbotSetting::Kelvin(t)) => Some(t),
            _ => None,
        }
    }

    /// Whether TBOT is the forcing's mean air temperature (`tbot = "mean-air"`).
    pub fn tbot_mean_air(&self) -> bool {
        matches!(&self.tbot, Some(TbotSetting::Rule(r)) if r == "mean-air")
    }
}

fn default_model_name() -> String {
    "noah-tibet".into()
}
fn default_freeze_curve() -> String {
    "koren99".into()
}
fn default_lower_boundary() -> String {
    "tbot".into()
}

/// Point forcing section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointForcingSection {
    /// `noah-ascii`, `csv` or `netcdf`.
    pub format: String,
    /// The forcing file, or for `netcdf` the folder of the forcing files;
    /// `@shared/...` points into the shared data.
    pub path: String,
    /// netCDF only: `era5` (`t2m d2m sp u10 v10 ssrd strd tp` as `<var>.nc`
    /// in `path`), `cmfd` (`temp pres shum wind srad lrad prec` in
    /// `<var>*.nc`) or `custom` with `[forcing.spec]`.
    pub preset: Option<String>,
    /// netCDF `custom` only: the variable mapping (see `CfForcingSpec`), file
    /// names relative to `path`.
    pub spec: Option<toml::Value>,
    /// netCDF on a grid of several cells: the cell `[row, col]` (row 0 north).
    pub cell: Option<[usize; 2]>,
    /// netCDF on a grid of several cells: the site's latitude (degrees north);
    /// with `lon`, the cell containing the site is run.
    pub lat: Option<f64>,
    /// The site's longitude (degrees east), with `lat`.
    pub lon: Option<f64>,
}

impl PointForcingSection {
    /// Check the keys that go with the format; errors name the key.
    fn validate(&self, path: &Path) -> Result<()> {
        let err = |key: &str, msg: String| Err(Error::config(path, format!("forcing.{key}"), msg));
        match self.format.as_str() {
            "noah-ascii" | "csv" => {
                for (key, set) in [
                    ("preset", self.preset.is_some()),
                    ("spec", self.spec.is_some()),
                    ("cell", self.cell.is_some()),
                    ("lat", self.lat.is_some()),
                    ("lon", self.lon.is_some()),
                ] {
                    if set {
                        return err(
                            key,
                            format!("only for format = \"netcdf\", not `{}`", self.format),
                        );
                    }
                }
                Ok(())
            }
            "netcdf" => {
                match (self.preset.as_deref(), self.spec.is_some()) {
                    (None, _) => {
                        return err(
                            "preset",
                            "required for format = \"netcdf\": one of era5, cmfd, custom".into(),
                        )
                    }
                    (Some("era5" | "cmfd"), false) | (Some("custom"), true) => {}
                    (Some("custom"), false) => {
                        return err("spec", "required when preset = \"custom\"".into())
                    }
                    (Some("era5" | "cmfd"), true) => {
                        return err("spec", "only with preset = \"custom\"".into())
                    }
                    (Some(other), _) => {
                        return err(
                            "preset",
                            format!("unknown preset `{other}`; one of era5, cmfd, custom"),
                        )
                    }
                }
                match (self.cell.is_some(), self.lat, self.lon) {
                    (true, None, None) | (false, None, None) => Ok(()),
                    (true, _, _) => err("cell", "give either cell or lat and lon, not both".into()),
                    (false, Some(la), Some(lo)) => {
                        if !(-90.0..=90.0).contains(&la) {
                            err("lat", format!("{la} is not a latitude"))
                        } else if !lo.is_finite() {
                            err("lon", format!("{lo} is not a longitude"))
                        } else {
                            Ok(())
                        }
                    }
                    (false, Some(_), None) => err("lon", "required with lat".into()),
                    (false, None, Some(_)) => err("lat", "required with lon".into()),
                }
            }
            other => err(
                "format",
                format!("unknown point format `{other}`; one of noah-ascii, csv, netcdf"),
            ),
        }
    }
}

/// Spin-up section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpinupSection {
    /// Number of leading forcing years recycled during spin-up.
    #[serde(default = "default_recycle_years")]
    pub recycle_years: u32,
    /// Largest allowed change of any layer's annual-mean temperature between cycles (K).
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Maximum number of recycling cycles; 0 for none (start the transient run from the initial state).
    #[serde(default = "default_max_cycles")]
    pub max_cycles: u32,
    /// Initial state: `equilibrium` (accelerated start) or `initial` (the forcing file's state).
    #[serde(default = "default_start")]
    pub start: String,
    /// What the tolerance applies to: `temperature` (each layer's annual-mean
    /// temperature) or `enthalpy` (also its annual-mean enthalpy in kelvin,
    /// so that layers in the zero curtain, at 0 C while their ice changes,
    /// are not taken as settled).
    #[serde(default = "default_criterion")]
    pub criterion: String,
}

impl SpinupSection {
    /// The criterion as the spin-up's option (validated by `validate_spinup`).
    pub fn spinup_criterion(&self) -> crate::column::SpinupCriterion {
        if self.criterion == "enthalpy" {
            crate::column::SpinupCriterion::Enthalpy
        } else {
            crate::column::SpinupCriterion::Temperature
        }
    }
}

impl Default for SpinupSection {
    fn default() -> Self {
        Self {
            recycle_years: default_recycle_years(),
            tolerance: default_tolerance(),
            max_cycles: default_max_cycles(),
            start: default_start(),
            criterion: default_criterion(),
        }
    }
}

fn default_recycle_years() -> u32 {
    3
}
fn default_tolerance() -> f64 {
    0.01
}
fn default_max_cycles() -> u32 {
    200
}
fn default_start() -> String {
    "equilibrium".into()
}
fn default_criterion() -> String {
    "temperature".into()
}

/// Output switches of a point run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointOutputSection {
    /// Write daily.csv (daily means of the transient run).
    #[serde(default = "yes")]
    pub daily: bool,
    /// Check and report energy and water closure of the transient run.
    #[serde(default = "yes")]
    pub balance_check: bool,
    /// Plot the annual diagnostics (annual_alt.png, annual_temperature.png).
    #[serde(default = "yes")]
    pub plots: bool,
}

impl Default for PointOutputSection {
    fn default() -> Self {
        Self {
            daily: true,
            balance_check: true,
            plots: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    #[allow(dead_code)]
    kind: ExperimentKind,
    name: Option<String>,
    #[serde(default)]
    description: String,
    output: Option<String>,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_model_section")]
    model: ModelSection,
    forcing: PointForcingSection,
    #[serde(default)]
    spinup: SpinupSection,
    #[serde(default, rename = "outputs")]
    output_options: PointOutputSection,
    observations: Option<PointObservationsSection>,
}

/// Measured ground temperatures to compare a point run with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PointObservationsSection {
    /// CSV with `date`, `depth_m`, `temperature_c` (see `validate::ground`).
    file: Option<String>,
    /// CSV with `year`, `alt_m`.
    alt_file: Option<String>,
}

/// The `[observations]` files (ground temperatures, ALT), resolved; an
/// `[observations]` table with neither is an error.
pub(crate) fn resolve_observations(
    path: &Path,
    o: Option<&PointObservationsSection>,
) -> Result<(Option<PathBuf>, Option<PathBuf>)> {
    let Some(o) = o else {
        return Ok((None, None));
    };
    if o.file.is_none() && o.alt_file.is_none() {
        return Err(Error::config(
            path,
            "observations",
            "give `file` (ground temperatures), `alt_file` (ALT) or both",
        ));
    }
    let get =
        |key: &str, f: &Option<String>| f.as_deref().map(|f| resolve(path, key, f)).transpose();
    Ok((
        get("observations.file", &o.file)?,
        get("observations.alt_file", &o.alt_file)?,
    ))
}

pub(crate) fn default_model_section() -> ModelSection {
    toml::from_str("").expect("an empty model section is valid")
}

/// A point experiment, resolved.
#[derive(Clone, Debug)]
pub struct PointExperiment {
    pub model: ModelSection,
    pub forcing: PointForcingSection,
    /// The forcing path, resolved.
    pub forcing_path: PathBuf,
    pub spinup: SpinupSection,
    pub output_options: PointOutputSection,
    /// Measured ground temperatures (`[observations] file`), resolved.
    pub observations: Option<PathBuf>,
    /// Measured active-layer thickness (`[observations] alt_file`), resolved.
    pub alt_observations: Option<PathBuf>,
}

/// The kind-specific body of an experiment.
#[derive(Clone, Debug)]
pub enum Body {
    Point(PointExperiment),
    Hindcast(hindcast::HindcastExperiment),
    Calibration(Box<calibration::CalibrationExperiment>),
    PointCalibration(Box<calibration::PointCalibrationExperiment>),
    Survey(crate::empirical::survey::SurveyConfig),
    Sensitivity(Box<crate::workflow::sensitivity::SensitivityExperiment>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSensitivity {
    #[allow(dead_code)]
    kind: ExperimentKind,
    name: Option<String>,
    #[serde(default)]
    description: String,
    output: Option<String>,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_model_section")]
    model: ModelSection,
    domain: Option<domain::DomainSection>,
    forcing: Option<PointForcingSection>,
    #[serde(default)]
    spinup: SpinupSection,
    period: Option<domain::PeriodSection>,
    reference: Option<crate::workflow::sensitivity::ReferenceSection>,
    #[allow(dead_code)]
    sensitivity: toml::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurvey {
    #[allow(dead_code)]
    kind: ExperimentKind,
    name: Option<String>,
    #[serde(default)]
    description: String,
    output: Option<String>,
    #[serde(default)]
    seed: u64,
    #[allow(dead_code)]
    survey: toml::Value,
}

/// A parsed and validated experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The experiment file.
    pub path: PathBuf,
    /// Experiment name (default: the file stem).
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// Output folder, resolved.
    pub output: PathBuf,
    /// Seed of every stochastic step.
    pub seed: u64,
    /// The file's contents as parsed TOML, for the run manifest.
    pub raw: toml::Table,
    /// The kind-specific part.
    pub body: Body,
}

impl Experiment {
    /// Read, parse and validate an experiment file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parse and validate experiment text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let raw: toml::Table = toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
        let kind_value = raw.get("kind").ok_or_else(|| {
            Error::config(
                path,
                "kind",
                "missing; one of point, hindcast, calibration, sensitivity, validation, survey",
            )
        })?;
        let kind: ExperimentKind = kind_value
            .clone()
            .try_into()
            .map_err(|_| Error::config(path, "kind", format!("unknown kind {kind_value}; one of point, hindcast, calibration, sensitivity, validation, survey")))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into());
        let common = |name: Option<String>,
                      description: String,
                      output: Option<String>,
                      seed: u64,
                      body: Body|
         -> Result<Experiment> {
            let name = name.unwrap_or_else(|| stem.clone());
            let output = resolve_output(path, output.as_deref(), &name)?;
            Ok(Experiment {
                path: path.to_path_buf(),
                name,
                description,
                output,
                seed,
                raw: raw.clone(),
                body,
            })
        };
        match kind {
            ExperimentKind::Point => {
                let r: RawPoint = toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
                validate_model(path, &r.model)?;
                validate_spinup(path, &r.spinup)?;
                let forcing_path = resolve(path, "forcing.path", &r.forcing.path)?;
                r.forcing.validate(path)?;
                let (observations, alt_observations) =
                    resolve_observations(path, r.observations.as_ref())?;
                let body = Body::Point(PointExperiment {
                    model: r.model,
                    forcing: r.forcing,
                    forcing_path,
                    spinup: r.spinup,
                    output_options: r.output_options,
                    observations,
                    alt_observations,
                });
                common(r.name, r.description, r.output, r.seed, body)
            }
            ExperimentKind::Hindcast => {
                let r: hindcast::RawHindcast =
                    toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
                let body = Body::Hindcast(hindcast::resolve_hindcast(path, &r)?);
                common(r.name, r.description, r.output, r.seed, body)
            }
            ExperimentKind::Calibration => {
                let r: calibration::RawCalibration =
                    toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
                validate_model(path, &r.model)?;
                validate_spinup(path, &r.spinup)?;
                let body = match calibration::resolve(path, &raw, &r)? {
                    calibration::CalibrationBody::Map(c) => Body::Calibration(c),
                    calibration::CalibrationBody::Point(c) => Body::PointCalibration(c),
                };
                common(r.name, r.description, r.output, r.seed, body)
            }
            ExperimentKind::Sensitivity => {
                let r: RawSensitivity =
                    toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
                validate_model(path, &r.model)?;
                validate_spinup(path, &r.spinup)?;
                let section =
                    crate::sensitivity::section::SensitivitySection::from_experiment(path, &raw)?;
                use crate::workflow::sensitivity::{SensitivityExperiment, StudyTarget};
                let target = match (r.domain, r.forcing) {
                    (Some(domain), None) => {
                        let period = r.period.ok_or_else(|| {
                            Error::config(path, "period", "a domain study needs a [period] section")
                        })?;
                        StudyTarget::Domain { domain, period }
                    }
                    (None, Some(forcing)) => {
                        if r.period.is_some() {
                            return Err(Error::config(
                                path,
                                "period",
                                "a point study runs the whole forcing after its spin-up; \
                                 [period] is for domain studies",
                            ));
                        }
                        if r.reference.is_some() {
                            return Err(Error::config(
                                path,
                                "reference",
                                "a reference map needs a domain study ([domain], not [forcing])",
                            ));
                        }
                        forcing.validate(path)?;
                        let forcing_path = resolve(path, "forcing.path", &forcing.path)?;
                        StudyTarget::Point {
                            forcing,
                            forcing_path,
                        }
                    }
                    (Some(_), Some(_)) => {
                        return Err(Error::config(
                            path,
                            "forcing",
                            "give either [domain] (a gridded study) or [forcing] (a point study), \
                             not both",
                        ))
                    }
                    (None, None) => {
                        return Err(Error::config(
                            path,
                            "domain",
                            "a sensitivity study needs [domain] (gridded) or [forcing] (one point)",
                        ))
                    }
                };
                let body = Body::Sensitivity(Box::new(SensitivityExperiment {
                    model: r.model,
                    target,
                    spinup: r.spinup,
                    reference: r.reference,
                    section,
                }));
                common(r.name, r.description, r.output, r.seed, body)
            }
            ExperimentKind::Survey => {
                let r: RawSurvey = toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
                let cfg = crate::empirical::survey::SurveyConfig::from_toml_file(path)?;
                common(r.name, r.description, r.output, r.seed, Body::Survey(cfg))
            }
            other => Err(Error::config(
                path,
                "kind",
                format!("experiments of kind {other:?} are not supported by this version"),
            )),
        }
    }
}

/// Resolve a path-valued key, naming the key on failure.
pub fn resolve(path: &Path, key: &str, raw: &str) -> Result<PathBuf> {
    paths::resolve(path, raw).map_err(|m| Error::config(path, key, m))
}

fn resolve_output(path: &Path, raw: Option<&str>, name: &str) -> Result<PathBuf> {
    match raw {
        Some(r) => resolve(path, "output", r),
        None => Ok(PathBuf::from("out").join(name)),
    }
}

/// Check a model section's named options.
pub fn validate_model(path: &Path, m: &ModelSection) -> Result<()> {
    let check = |key: &str, value: &str, allowed: &[&str]| -> Result<()> {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(Error::config(
                path,
                format!("model.{key}"),
                format!("unknown value `{value}`; one of {}", allowed.join(", ")),
            ))
        }
    };
    check("name", &m.name, &["noah-tibet"])?;
    check("freeze_curve", &m.freeze_curve, &["koren99", "niu06"])?;
    if let Some(t) = &m.thermal_roughness {
        check("thermal_roughness", t, &["czil", "yang08"])?;
    }
    if let Some(sl) = &m.surface_layer {
        check(
            "surface_layer",
            sl,
            &["chen97", "myj", "myj_local_czil", "y08"],
        )?;
        if sl.starts_with("myj") && m.thermal_roughness.as_deref() == Some("yang08") {
            return Err(Error::config(
                path,
                "model.thermal_roughness",
                "yang08 applies to surface_layer = \"chen97\"; the myj surface layer computes its \
                 thermal roughness itself (set thermal_roughness = \"czil\" or leave it out)",
            ));
        }
    }
    check("lower_boundary", &m.lower_boundary, &["tbot", "geothermal"])?;
    match &m.tbot {
        Some(TbotSetting::Rule(r)) if r != "mean-air" => {
            return Err(Error::config(
                path,
                "model.tbot",
                format!("`{r}`: use a temperature in K or \"mean-air\""),
            ))
        }
        Some(TbotSetting::Kelvin(t)) if !(200.0..=330.0).contains(t) => {
            return Err(Error::config(
                path,
                "model.tbot",
                format!("{t} K is outside 200-330 K (is it in Celsius?)"),
            ))
        }
        _ => {}
    }
    if m.lower_boundary == "geothermal" && m.geothermal_flux.is_none() {
        return Err(Error::config(
            path,
            "model.geothermal_flux",
            "required when lower_boundary = \"geothermal\" (W m-2, e.g. 0.06)",
        ));
    }
    if let Some(layers) = &m.layers {
        if layers.is_empty() || layers.iter().any(|&d| !(d > 0.0 && d.is_finite())) {
            return Err(Error::config(
                path,
                "model.layers",
                "layer thicknesses must be positive and finite",
            ));
        }
        if let Some(classes) = &m.soil_classes {
            if classes.len() != layers.len() {
                return Err(Error::config(
                    path,
                    "model.soil_classes",
                    format!("{} soil classes for {} layers", classes.len(), layers.len()),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn validate_spinup(path: &Path, s: &SpinupSection) -> Result<()> {
    if !(s.tolerance > 0.0 && s.tolerance.is_finite()) {
        return Err(Error::config(
            path,
            "spinup.tolerance",
            "must be a positive number of kelvin",
        ));
    }
    if s.recycle_years == 0 {
        return Err(Error::config(
            path,
            "spinup.recycle_years",
            "must be at least 1",
        ));
    }
    if !matches!(s.start.as_str(), "equilibrium" | "initial") {
        return Err(Error::config(
            path,
            "spinup.start",
            format!("unknown value `{}`; one of equilibrium, initial", s.start),
        ));
    }
    if !matches!(s.criterion.as_str(), "temperature" | "enthalpy") {
        return Err(Error::config(
            path,
            "spinup.criterion",
            format!(
                "unknown value `{}`; one of temperature, enthalpy",
                s.criterion
            ),
        ));
    }
    Ok(())
}

/// Turn a TOML error into one that names the file and line.
pub fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> Error {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    Error::parse(path, line, e.message().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment> {
        Experiment::parse(Path::new("/tmp/exp/test.toml"), text)
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse("kind = \"point\"\n[forcing]\nformat = \"csv\"\npath = \"f.csv\"\n[spinup]\ntolerence = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tolerence"), "{err}");
        assert!(err.contains("test.toml:6"), "{err}");
    }

    #[test]
    fn unknown_option_value_is_rejected() {
        let err = parse("kind = \"point\"\n[model]\nfreeze_curve = \"koren\"\n[forcing]\nformat = \"csv\"\npath = \"f.csv\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model.freeze_curve") && err.contains("koren99"),
            "{err}"
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let e = parse("kind = \"point\"\noutput = \"../out/x\"\n[forcing]\nformat = \"csv\"\npath = \"f.csv\"\n").unwrap();
        let Body::Point(p) = &e.body else {
            panic!("a point experiment")
        };
        assert_eq!(p.forcing_path, PathBuf::from("/tmp/exp/f.csv"));
        assert_eq!(e.output, PathBuf::from("/tmp/exp/../out/x"));
        assert_eq!(e.name, "test");
    }

    #[test]
    fn netcdf_point_forcing_keys_are_checked_with_the_key_named() {
        let point = |forcing: &str| {
            parse(&format!("kind = \"point\"\n[forcing]\n{forcing}\n"))
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        // Accepted: a preset, a custom mapping, a cell, a site.
        point("format = \"netcdf\"\npath = \"era5\"\npreset = \"era5\"").unwrap();
        point("format = \"netcdf\"\npath = \"f\"\npreset = \"cmfd\"\ncell = [3, 4]").unwrap();
        point("format = \"netcdf\"\npath = \"f\"\npreset = \"cmfd\"\nlat = 47.9\nlon = 107.3")
            .unwrap();
        point(
            "format = \"netcdf\"\npath = \"f\"\npreset = \"custom\"\n[forcing.spec]\nz_temp = 2.0",
        )
        .unwrap();
        // Rejected, each naming the key at fault.
        for (forcing, key, says) in [
            ("format = \"netcdf\"\npath = \"f\"", "forcing.preset", "era5, cmfd, custom"),
            ("format = \"netcdf\"\npath = \"f\"\npreset = \"merra\"", "forcing.preset", "merra"),
            ("format = \"netcdf\"\npath = \"f\"\npreset = \"custom\"", "forcing.spec", "required"),
            ("format = \"netcdf\"\npath = \"f\"\npreset = \"era5\"\n[forcing.spec]\nz_temp = 2.0", "forcing.spec", "custom"),
            ("format = \"netcdf\"\npath = \"f\"\npreset = \"era5\"\ncell = [0, 0]\nlat = 1.0\nlon = 2.0", "forcing.cell", "not both"),
            ("format = \"netcdf\"\npath = \"f\"\npreset = \"era5\"\nlat = 47.9", "forcing.lon", "required"),
            ("format = \"netcdf\"\npath = \"f\"\npreset = \"era5\"\nlat = 147.9\nlon = 0.0", "forcing.lat", "147.9"),
            ("format = \"csv\"\npath = \"f.csv\"\npreset = \"era5\"", "forcing.preset", "netcdf"),
            ("format = \"grib\"\npath = \"f\"", "forcing.format", "noah-ascii, csv, netcdf"),
        ] {
            let err = point(forcing).unwrap_err();
            assert!(err.contains(key) && err.contains(says), "{forcing}: {err}");
        }
    }

    #[test]
    fn tbot_is_a_temperature_or_mean_air() {
        let model = |tbot: &str| {
            parse(&format!(
                "kind = \"point\"\n[model]\ntbot = {tbot}\n[forcing]\nformat = \"csv\"\npath = \"f.csv\"\n"
            ))
            .map(|e| match e.body {
                Body::Point(p) => (p.model.tbot_kelvin(), p.model.tbot_mean_air()),
                _ => panic!("a point experiment"),
            })
            .map_err(|e| e.to_string())
        };
        assert_eq!(model("271.5"), Ok((Some(271.5), false)));
        assert_eq!(model("\"mean-air\""), Ok((None, true)));
        let e = model("\"mean-soil\"").unwrap_err();
        assert!(e.contains("model.tbot") && e.contains("mean-air"), "{e}");
        let e = model("-2.5").unwrap_err();
        assert!(e.contains("model.tbot") && e.contains("Celsius"), "{e}");
    }

    #[test]
    fn missing_kind_is_an_error() {
        let err = parse("[forcing]\n").unwrap_err().to_string();
        assert!(err.contains("kind"), "{err}");
    }
}
