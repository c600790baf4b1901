//! Building column configurations from an experiment's model section, the
//! model's tables and (optionally) a Noah forcing-file header.

use std::path::{Path, PathBuf};

use crate::column::config::{ColumnConfig, LowerBoundary, DEFAULT_LAYERS};
use crate::column::tables::{read_toml, GeneralParams, SoilTable, VegTable};
use crate::config::ModelSection;
use crate::forcing::noah_ascii::NoahHeader;
use crate::{Error, Result};

/// The tables of a model: soil classes, vegetation classes, general parameters.
#[derive(Clone, Debug)]
pub struct ModelTables {
    /// Folder the tables were read from.
    pub dir: PathBuf,
    pub soil: SoilTable,
    pub veg: VegTable,
    pub general: GeneralParams,
}

impl ModelTables {
    /// Read `soil.toml`, `vegetation.toml` and `general.toml` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Other(format!(
                "model tables folder {} does not exist (set model.tables in the experiment)",
                dir.display()
            )));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            soil: read_toml(&dir.join("soil.toml"))?,
            veg: read_toml(&dir.join("vegetation.toml"))?,
            general: read_toml(&dir.join("general.toml"))?,
        })
    }
}

/// The tables folder of a model section: `model.tables` resolved against the
/// experiment file, else `models/<name>` beside the experiments folder, else
/// the one in the source tree this binary was built from.
pub fn tables_dir(experiment: &Path, model: &ModelSection) -> Result<PathBuf> {
    if let Some(t) = &model.tables {
        return crate::config::resolve(experiment, "model.tables", t);
    }
    let base = experiment.parent().unwrap_or(Path::new("."));
    let candidates = [
        base.join("../models").join(&model.name),
        base.join("models").join(&model.name),
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(&model.name),
    ];
    candidates
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .ok_or_else(|| {
            Error::config(
                experiment,
                "model.tables",
                format!(
                    "no tables found for model `{}`; set model.tables",
                    model.name
                ),
            )
        })
}

/// Where the column's layers, soil classes and site values come from.
#[derive(Clone, Debug, Default)]
pub struct ColumnSite {
    /// Layer thicknesses (m), top down.
    pub layers: Option<Vec<f64>>,
    /// Soil class per layer.
    pub soil_classes: Option<Vec<usize>>,
    /// Vegetation class.
    pub veg_class: Option<usize>,
    /// Latitude (degrees north).
    pub latitude: f64,
    /// Deep soil temperature TBOT (K) at ZBOT.
    pub tbot: Option<f64>,
    /// Forcing heights (m).
    pub z_temp: f64,
    pub z_wind: f64,
}

impl ColumnSite {
    /// Site values from a Noah forcing-file header.
    pub fn from_noah_header(h: &NoahHeader) -> Self {
        Self {
            layers: Some(h.soil_layer_thickness.clone()),
            soil_classes: Some(h.soil_htype.iter().map(|&k| k as usize).collect()),
            veg_class: Some(h.vegetation_type_index as usize),
            latitude: h.latitude,
            tbot: Some(h.deep_soil_temperature),
            z_temp: h.air_temperature_level,
            z_wind: h.wind_level,
        }
    }
}

/// Build a column configuration: experiment values win over the site's (the
/// forcing file's), which win over the model defaults; then the physics
/// options and the parameter overrides (`ColumnConfig::set` keys) apply.
pub fn column_config(
    experiment: &Path,
    model: &ModelSection,
    tables: &ModelTables,
    site: &ColumnSite,
    header: Option<&NoahHeader>,
    overrides: &[(String, f64)],
) -> Result<ColumnConfig> {
    let layers: Vec<f64> = model
        .layers
        .clone()
        .or_else(|| site.layers.clone())
        .unwrap_or_else(|| DEFAULT_LAYERS.to_vec());
    let soil_classes: Vec<usize> = match (&model.soil_classes, &site.soil_classes) {
        (Some(c), _) => c.iter().map(|&k| k as usize).collect(),
        (None, Some(c)) => c.clone(),
        (None, None) => return Err(Error::config(
            experiment,
            "model.soil_classes",
            "no soil class per layer: give model.soil_classes or use a forcing file that has them",
        )),
    };
    if soil_classes.len() != layers.len() {
        return Err(Error::config(
            experiment,
            "model.soil_classes",
            format!(
                "{} soil classes for {} layers",
                soil_classes.len(),
                layers.len()
            ),
        ));
    }
    let veg_class = model
        .veg_class
        .map(|v| v as usize)
        .or(site.veg_class)
        .ok_or_else(|| Error::config(experiment, "model.veg_class", "no vegetation class given"))?;
    let tbot = model.tbot_kelvin().or(site.tbot).ok_or_else(|| {
        Error::config(
            experiment,
            "model.tbot",
            "no deep soil temperature TBOT given: set it to a temperature in K or to \"mean-air\" (the forcing's mean air temperature over the spin-up years)",
        )
    })?;
    let mut cfg = ColumnConfig::from_tables(
        &tables.soil,
        &tables.veg,
        &tables.general,
        &layers,
        &soil_classes,
        veg_class,
        site.latitude,
        tbot,
    )
    .map_err(|e| Error::config(experiment, "model", e.to_string()))?;
    cfg.z_temp = site.z_temp;
    cfg.z_wind = site.z_wind;
    if let Some(h) = header {
        if let Some(m) = h.shdfac_monthly {
            cfg.monthly.green_fraction = Some(m);
        }
        if h.usemonalb {
            cfg.monthly.albedo = h.albedo_monthly;
        }
        if let Some(v) = h.green_vegetation_min {
            cfg.green_min = v;
        }
        if let Some(v) = h.green_vegetation_max {
            cfg.green_max = v;
        }
        if let Some(v) = h.max_snow_albedo {
            cfg.max_snow_albedo = v;
        }
        cfg.slope_class = h.slope_type_index.max(1) as usize;
    }
    let czil = tables.general.czil;
    let opt = |key: &str, value: &str, cfg: &mut ColumnConfig| -> Result<()> {
        cfg.options
            .set(key, value, czil)
            .map_err(|e| Error::config(experiment, format!("model.{key}"), e.to_string()))
    };
    opt("freeze_curve", &model.freeze_curve, &mut cfg)?;
    // Surface layer: the experiment's choice, else the Noah namelist's
    // sfcdif_option / iz0tlnd, else the Monin-Obukhov iteration.
    let surface_layer = match (&model.surface_layer, header) {
        (Some(s), _) => s.clone(),
        (None, Some(h)) if h.sfcdif_option == Some(1) => if h.iz0tlnd == 1 {
            "myj_local_czil"
        } else {
            "myj"
        }
        .to_string(),
        // The Noah-Tibet driver: 0 Noah's original SFCDIF (the Chen et al.
        // 1997 iteration with Zilitinkevich's CZIL), 2 the Yang et al. scheme.
        (None, Some(h)) if h.sfcdif_option == Some(0) => "chen97".to_string(),
        (None, Some(h)) if h.sfcdif_option == Some(2) => "y08".to_string(),
        _ => "chen97".to_string(),
    };
    let myj = surface_layer.starts_with("myj");
    let roughness = match &model.thermal_roughness {
        Some(t) if myj && t == "yang08" => {
            return Err(Error::config(
                experiment,
                "model.thermal_roughness",
                format!(
                    "yang08 applies to the chen97 surface layer, but the surface layer is {surface_layer}{}; \
                     set thermal_roughness = \"czil\" or surface_layer = \"chen97\"",
                    if model.surface_layer.is_none() { " (from the forcing file's sfcdif_option = 1)" } else { "" }
                ),
            ))
        }
        Some(t) => t.clone(),
        None if myj => "czil".to_string(),
        None if model.surface_layer.is_none()
            && header.is_some_and(|h| h.sfcdif_option == Some(0)) =>
        {
            "czil".to_string()
        }
        None => "yang08".to_string(),
    };
    opt("surface_layer", &surface_layer, &mut cfg)?;
    opt("thermal_roughness", &roughness, &mut cfg)?;
    for (key, value) in [
        ("conductivity", &model.conductivity),
        ("ice_impedance", &model.ice_impedance),
        ("snow_albedo", &model.snow_albedo),
        ("soil_gravity", &model.soil_gravity),
        ("heat_scheme", &model.heat_scheme),
    ] {
        if let Some(v) = value {
            opt(key, v, &mut cfg)?;
        }
    }
    if model.lower_boundary == "geothermal" {
        let flux = model.geothermal_flux.unwrap_or(0.06);
        cfg.options.lower_boundary = LowerBoundary::GeothermalFlux { flux };
    }
    for (key, value) in overrides {
        cfg.set(key, *value)
            .map_err(|e| Error::config(experiment, "model.parameters", e.to_string()))?;
    }
    cfg.validate()
        .map_err(|e| Error::config(experiment, "model", e.to_string()))?;
    Ok(cfg)
}
