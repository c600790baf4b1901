//! Column configuration: layer structure, per-layer soil classes, vegetation
//! class, general parameters and physics options, buildable from the Noah
//! tables plus class indices, with every numeric parameter overridable by name.

use serde::{Deserialize, Serialize};

use super::tables::{GeneralParams, SoilClass, SoilTable, VegClass, VegTable};
use crate::physics::hydrology::{GravityScheme, IceImpedance};
use crate::physics::sfcdif_myj::SurfaceLayer;
use crate::physics::snow::SnowAlbedoScheme;
use crate::physics::surface::ThermalRoughness;
use crate::physics::thermal::{CoarseConductivity, ConductivityScheme, FreezeCurve};
use crate::{Error, Result};

/// The default Noah-Tibet layer thicknesses (m): 20 layers to 15.2 m.
pub const DEFAULT_LAYERS: [f64; 20] = [
    0.045, 0.046, 0.075, 0.123, 0.204, 0.336, 0.371, 0.3, 0.5, 0.5, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0,
    1.0, 2.0, 2.0, 2.0,
];

/// The column's lower thermal boundary.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LowerBoundary {
    /// Noah: fixed temperature `tbot` (K) at depth `zbot` (m, positive down,
    /// GENPARM ZBOT = 40 m), reached from the lowest node through the lowest
    /// layer's conductivity.
    FixedTemperature { tbot: f64, zbot: f64 },
    /// A geothermal heat flux entering the column base (W m-2, positive upward).
    GeothermalFlux { flux: f64 },
}

/// Physics options, each a named scheme from the literature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhysicsOptions {
    /// Supercooled water curve: "koren99" | "niu06" | "free_water".
    pub freeze_curve: FreezeCurve,
    /// Thermal roughness of the `chen97` surface layer: "czil" | "yang08".
    pub thermal_roughness: ThermalRoughness,
    /// Surface-layer scheme: "chen97" (default) | "myj" | "myj_local_czil"
    /// (Noah `sfcdif_option = 1`, with `iz0tlnd = 0` or 1) | "y08"
    /// (Noah-Tibet `sfcdif_option = 2`).
    pub surface_layer: SurfaceLayer,
    /// Lower thermal boundary.
    pub lower_boundary: LowerBoundary,
    /// Thermal conductivity: "peters_lidard" | "noah_tibet".
    pub conductivity: ConductivityScheme,
    /// Frozen-soil permeability: "noah" | "niu06" | "noahtibet".
    pub ice_impedance: IceImpedance,
    /// Snow albedo: "livneh" | "constant".
    pub snow_albedo: SnowAlbedoScheme,
    /// Time treatment of gravity drainage in the soil-water step:
    /// "implicit" (linearised, stable for gravel at daily steps; default) |
    /// "explicit" (Noah SRT).
    pub soil_gravity: GravityScheme,
    /// Soil heat and phase change: "enthalpy" (implicit in enthalpy, every
    /// layer on its freeze curve; default) | "noah" (Noah's HRT/HSTEP with
    /// the SNKSRC phase change limited by the step's conductive heat).
    pub heat_scheme: HeatScheme,
}

/// How a step solves soil heat conduction and phase change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HeatScheme {
    /// Backward Euler in enthalpy, iterated to convergence; every layer's
    /// liquid water is the freeze curve's at its enthalpy
    /// ([`crate::column::heat::heat_step`]).
    #[default]
    Enthalpy,
    /// Noah LSM 3.4.1 / Noah-Tibet (HRT, HSTEP, SNKSRC): one linear implicit
    /// solve in temperature per step with the phase change as a source; ice
    /// forms or melts toward the freeze curve's liquid at the layer's mean
    /// temperature only as far as the step's explicit conductive heat
    /// allows, so liquid water is a state of its own
    /// ([`crate::column::heat::noah_heat_step`]). Enthalpies are then set
    /// from the fluxes of the solve, so the column still conserves energy
    /// exactly.
    Noah,
}

impl HeatScheme {
    /// Parses `"enthalpy"` or `"noah"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "enthalpy" => Some(Self::Enthalpy),
            "noah" | "snksrc" => Some(Self::Noah),
            _ => None,
        }
    }
}

impl PhysicsOptions {
    /// Set an option from its name and value, as written in model files.
    pub fn set(&mut self, key: &str, value: &str, czil: f64) -> Result<()> {
        let bad = |what: &str| Error::Parameter {
            name: key.to_string(),
            message: format!("unknown {what} `{value}`"),
        };
        match key {
            "freeze_curve" => {
                self.freeze_curve = FreezeCurve::from_name(value).ok_or_else(|| bad("freeze curve (koren99, niu06, free_water)"))?
            }
            "thermal_roughness" => {
                self.thermal_roughness =
                    ThermalRoughness::from_name(value, czil).ok_or_else(|| bad("thermal roughness (czil, yang08)"))?
            }
            "surface_layer" => {
                self.surface_layer = SurfaceLayer::from_name(value)
                    .ok_or_else(|| bad("surface layer (chen97, myj, myj_local_czil, y08)"))?
            }
            "conductivity" => {
                self.conductivity =
                    ConductivityScheme::from_name(value).ok_or_else(|| bad("conductivity scheme (peters_lidard, noah_tibet)"))?
            }
            "ice_impedance" => self.ice_impedance = IceImpedance::from_name(value)?,
            "snow_albedo" => self.snow_albedo = SnowAlbedoScheme::from_name(value)?,
            "heat_scheme" => {
                self.heat_scheme =
                    HeatScheme::from_name(value).ok_or_else(|| bad("heat scheme (enthalpy, noah)"))?
            }
            "soil_gravity" => {
                self.soil_gravity = match value {
                    "implicit" => GravityScheme::Implicit,
                    "explicit" => GravityScheme::Explicit,
                    _ => return Err(bad("soil gravity scheme (implicit, explicit)")),
                }
            }
            _ => {
                return Err(Error::Parameter {
                    name: key.to_string(),
                    message: "unknown physics option (freeze_curve, thermal_roughness, surface_layer, conductivity, ice_impedance, snow_albedo, soil_gravity, heat_scheme)".into(),
                })
            }
        }
        Ok(())
    }
}

/// Seasonal surface values given month by month (Noah's monthly tables).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MonthlySurface {
    /// Green vegetation fraction per month (-), mid-month values.
    pub green_fraction: Option<[f64; 12]>,
    /// Snow-free albedo per month (-), used instead of the class interpolation.
    pub albedo: Option<[f64; 12]>,
}

/// The full configuration of a column.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnConfig {
    /// Layer thicknesses, top down (m).
    pub thickness: Vec<f64>,
    /// Soil class of each layer.
    pub soil: Vec<SoilClass>,
    /// Vegetation class.
    pub veg: VegClass,
    /// Optimum transpiration temperature TOPT (K).
    pub topt: f64,
    /// Canopy water capacity CMCMAX (m of water).
    pub cmcmax: f64,
    /// Canopy water exponent CFACTR (-).
    pub cfactr: f64,
    /// Maximum stomatal resistance RSMAX (s m-1).
    pub rsmax: f64,
    /// General parameters.
    pub general: GeneralParams,
    /// Slope class (1-based index into GENPARM SLOPE_DATA) for bottom drainage.
    pub slope_class: usize,
    /// Physics options.
    pub options: PhysicsOptions,
    /// Koren et al. (1999) ice-impedance coefficient CK (-); Noah: 8.
    pub ck: f64,
    /// Cap of the Clapp-Hornberger b in the Koren curve BLIM (-); Noah: 5.5.
    pub blim: f64,
    /// Gravel and bedrock conductivity coefficients.
    pub coarse: CoarseConductivity,
    /// Latitude (degrees north).
    pub latitude: f64,
    /// Height of the air temperature and humidity forcing (m).
    pub z_temp: f64,
    /// Height of the wind forcing (m).
    pub z_wind: f64,
    /// Lower and upper green-fraction bounds SHDMIN / SHDMAX of the
    /// vegetation interpolation (-).
    pub green_min: f64,
    /// See `green_min`.
    pub green_max: f64,
    /// Monthly surface values.
    pub monthly: MonthlySurface,
    /// Maximum (deep) snow albedo (-); default the class MAXALB / 100.
    pub max_snow_albedo: f64,
    /// Fixed snow-free albedo (-) replacing the seasonal one when set.
    pub albedo: Option<f64>,
    /// Fixed snow-free emissivity (-) replacing the seasonal one when set.
    pub emissivity: Option<f64>,
    /// Fixed momentum roughness length (m) replacing the seasonal one when set.
    pub z0: Option<f64>,
}

impl ColumnConfig {
    /// Build a configuration from imported tables: layer thicknesses (m), the
    /// soil class index of each layer, the vegetation class index and the
    /// latitude. Options default to Noah-Tibet: Koren 1999 supercooled water,
    /// Noah-Tibet conductivity, Zilitinkevich thermal roughness, Niu-Yang
    /// ice impedance, fixed TBOT at ZBOT (`tbot` K).
    #[allow(clippy::too_many_arguments)]
    pub fn from_tables(
        soil: &SoilTable,
        veg: &VegTable,
        general: &GeneralParams,
        thickness: &[f64],
        soil_classes: &[usize],
        veg_class: usize,
        latitude: f64,
        tbot: f64,
    ) -> Result<Self> {
        if soil_classes.len() != thickness.len() {
            return Err(Error::Parameter {
                name: "soil_classes".into(),
                message: format!(
                    "{} soil classes for {} layers",
                    soil_classes.len(),
                    thickness.len()
                ),
            });
        }
        let soil_rows = soil_classes
            .iter()
            .map(|&k| soil.class(k).cloned())
            .collect::<Result<Vec<_>>>()?;
        let v = veg.class(veg_class)?.clone();
        Ok(Self {
            thickness: thickness.to_vec(),
            soil: soil_rows,
            max_snow_albedo: v.maxalb / 100.0,
            veg: v,
            topt: veg.topt,
            cmcmax: veg.cmcmax,
            cfactr: veg.cfactr,
            rsmax: veg.rsmax,
            general: general.clone(),
            slope_class: 1,
            options: PhysicsOptions {
                freeze_curve: FreezeCurve::NOAH_KOREN99,
                thermal_roughness: ThermalRoughness::Zilitinkevich { czil: general.czil },
                surface_layer: SurfaceLayer::Chen97,
                lower_boundary: LowerBoundary::FixedTemperature {
                    tbot,
                    zbot: -general.zbot,
                },
                conductivity: ConductivityScheme::NoahTibet,
                ice_impedance: IceImpedance::NoahTibet,
                snow_albedo: SnowAlbedoScheme::Livneh,
                soil_gravity: GravityScheme::Implicit,
                heat_scheme: HeatScheme::Noah,
            },
            ck: 8.0,
            blim: 5.5,
            coarse: CoarseConductivity::default(),
            latitude,
            z_temp: 2.0,
            z_wind: 10.0,
            green_min: 0.01,
            green_max: 0.96,
            monthly: MonthlySurface::default(),
            albedo: None,
            emissivity: None,
            z0: None,
        })
    }

    /// Override one numeric parameter by name. Keys:
    /// `soil.<field>` (every layer) or `soil.<field>[k]` (layers of soil class
    /// k) with field bb, drysmc, maxsmc, refsmc, satpsi, satdk, satdw, wltsmc,
    /// qtz; `veg.<field>` with shdfac, rsmin (or rs), rgl, hs, snup, laimin,
    /// laimax, emissmin, emissmax, albedomin, albedomax, z0min, z0max, nroot;
    /// `general.<field>` with sbeta, fxexp, csoil, salp, refdk, refkdt, frzk,
    /// czil, lvcoef; `ck`, `blim`, `tbot`, `zbot`, `geothermal_flux`,
    /// `gravel.kdry_a`, `gravel.kdry_b`, `gravel.kappa_frozen`,
    /// `gravel.kappa_unfrozen`, `bedrock.kdry_a`, `bedrock.kdry_b`, `yang08.beta`,
    /// `max_snow_albedo`, `albedo`, `emissivity`, `z0`, `topt`, `rsmax`,
    /// `cmcmax`, `cfactr`. Unknown keys are errors naming the key.
    pub fn set(&mut self, key: &str, value: f64) -> Result<()> {
        let unknown = || Error::Parameter {
            name: key.to_string(),
            message: "unknown parameter".into(),
        };
        if !value.is_finite() {
            return Err(Error::Parameter {
                name: key.to_string(),
                message: format!("value {value} is not finite"),
            });
        }
        if let Some(rest) = key.strip_prefix("soil.") {
            let (field, class) = match rest.find('[') {
                Some(p) => {
                    let idx: usize = rest[p + 1..]
                        .trim_end_matches(']')
                        .parse()
                        .map_err(|_| unknown())?;
                    (&rest[..p], Some(idx))
                }
                None => (rest, None),
            };
            let mut hit = false;
            for s in self
                .soil
                .iter_mut()
                .filter(|s| class.is_none_or(|k| s.index == k))
            {
                let slot = match field {
                    "bb" => &mut s.bb,
                    "drysmc" => &mut s.drysmc,
                    "maxsmc" => &mut s.maxsmc,
                    "refsmc" => &mut s.refsmc,
                    "satpsi" => &mut s.satpsi,
                    "satdk" => &mut s.satdk,
                    "satdw" => &mut s.satdw,
                    "wltsmc" => &mut s.wltsmc,
                    "qtz" => &mut s.qtz,
                    _ => return Err(unknown()),
                };
                *slot = value;
                hit = true;
            }
            if !hit {
                return Err(Error::Parameter {
                    name: key.to_string(),
                    message: "no layer has this soil class".into(),
                });
            }
            return Ok(());
        }
        if let Some(field) = key.strip_prefix("veg.") {
            let v = &mut self.veg;
            match field {
                "shdfac" => v.shdfac = value,
                "rsmin" | "rs" => v.rs = value,
                "rgl" => v.rgl = value,
                "hs" => v.hs = value,
                "snup" => v.snup = value,
                "laimin" => v.laimin = value,
                "laimax" => v.laimax = value,
                "emissmin" => v.emissmin = value,
                "emissmax" => v.emissmax = value,
                "albedomin" => v.albedomin = value,
                "albedomax" => v.albedomax = value,
                "z0min" => v.z0min = value,
                "z0max" => v.z0max = value,
                "nroot" => {
                    if value < 0.0 || value.fract() != 0.0 {
                        return Err(Error::Parameter {
                            name: key.into(),
                            message: format!("{value} is not a whole number of layers"),
                        });
                    }
                    v.nroot = value as usize
                }
                _ => return Err(unknown()),
            }
            return Ok(());
        }
        if let Some(field) = key.strip_prefix("general.") {
            let g = &mut self.general;
            match field {
                "sbeta" => g.sbeta = value,
                "fxexp" => g.fxexp = value,
                "csoil" => g.csoil = value,
                "salp" => g.salp = value,
                "refdk" => g.refdk = value,
                "refkdt" => g.refkdt = value,
                "frzk" => g.frzk = value,
                "lvcoef" => g.lvcoef = value,
                "czil" => {
                    g.czil = value;
                    if let ThermalRoughness::Zilitinkevich { czil } =
                        &mut self.options.thermal_roughness
                    {
                        *czil = value;
                    }
                }
                _ => return Err(unknown()),
            }
            return Ok(());
        }
        match key {
            "ck" => {
                self.ck = value;
                if let FreezeCurve::Koren99 { ck, .. } = &mut self.options.freeze_curve {
                    *ck = value;
                }
            }
            "blim" => {
                self.blim = value;
                if let FreezeCurve::Koren99 { blim, .. } = &mut self.options.freeze_curve {
                    *blim = value;
                }
            }
            "tbot" | "zbot" => match &mut self.options.lower_boundary {
                LowerBoundary::FixedTemperature { tbot, zbot } => {
                    if key == "tbot" {
                        *tbot = value
                    } else {
                        *zbot = value.abs()
                    }
                }
                LowerBoundary::GeothermalFlux { .. } => {
                    return Err(Error::Parameter {
                        name: key.into(),
                        message: "the lower boundary is a geothermal flux".into(),
                    })
                }
            },
            "geothermal_flux" => match &mut self.options.lower_boundary {
                LowerBoundary::GeothermalFlux { flux } => *flux = value,
                LowerBoundary::FixedTemperature { .. } => {
                    return Err(Error::Parameter {
                        name: key.into(),
                        message: "the lower boundary is a fixed temperature".into(),
                    })
                }
            },
            "gravel.kdry_a" => self.coarse.gravel_kdry_a = value,
            "gravel.kdry_b" => self.coarse.gravel_kdry_b = value,
            "gravel.kappa_frozen" => self.coarse.gravel_kappa_frozen = value,
            "gravel.kappa_unfrozen" => self.coarse.gravel_kappa_unfrozen = value,
            "bedrock.kdry_a" => self.coarse.bedrock_kdry_a = value,
            "bedrock.kdry_b" => self.coarse.bedrock_kdry_b = value,
            "yang08.beta" => match &mut self.options.thermal_roughness {
                ThermalRoughness::Yang08 { beta } => *beta = value,
                _ => {
                    return Err(Error::Parameter {
                        name: key.into(),
                        message: "thermal roughness is not yang08".into(),
                    })
                }
            },
            "max_snow_albedo" => self.max_snow_albedo = value,
            "albedo" => self.albedo = Some(value),
            "emissivity" => self.emissivity = Some(value),
            "z0" => self.z0 = Some(value),
            "topt" => self.topt = value,
            "rsmax" => self.rsmax = value,
            "cmcmax" => self.cmcmax = value,
            "cfactr" => self.cfactr = value,
            _ => return Err(unknown()),
        }
        Ok(())
    }

    /// Check layer structure, classes and parameter ranges once, before a run.
    pub fn validate(&self) -> Result<()> {
        let perr = |name: String, message: String| Err(Error::Parameter { name, message });
        if matches!(self.options.surface_layer, SurfaceLayer::Myj { .. })
            && matches!(
                self.options.thermal_roughness,
                ThermalRoughness::Yang08 { .. }
            )
        {
            return perr(
                "thermal_roughness".into(),
                "the myj surface layer computes its thermal roughness itself (Zilitinkevich with CZIL); \
                 yang08 applies to the chen97 surface layer"
                    .into(),
            );
        }
        let n = self.thickness.len();
        if n < 2 {
            return perr(
                "thickness".into(),
                format!("need at least 2 layers, got {n}"),
            );
        }
        if self.soil.len() != n {
            return perr(
                "soil".into(),
                format!("{} soil classes for {n} layers", self.soil.len()),
            );
        }
        for (i, &d) in self.thickness.iter().enumerate() {
            if !(d.is_finite() && d > 0.0) {
                return perr(
                    format!("thickness[{}]", i + 1),
                    format!("layer thickness {d} m is not positive"),
                );
            }
        }
        let total: f64 = self.thickness.iter().sum();
        if let LowerBoundary::FixedTemperature { tbot, zbot } = self.options.lower_boundary {
            if zbot <= total - 0.5 * self.thickness[n - 1] {
                return perr(
                    "zbot".into(),
                    format!(
                        "ZBOT {zbot} m lies above the lowest layer midpoint (column {total} m)"
                    ),
                );
            }
            if !(200.0..=330.0).contains(&tbot) {
                return perr(
                    "tbot".into(),
                    format!("TBOT {tbot} K is outside 200-330 K (is it in Celsius?)"),
                );
            }
        }
        for (i, s) in self.soil.iter().enumerate() {
            let name =
                |f: &str| format!("soil.{f} (layer {}, class {} {})", i + 1, s.index, s.name);
            if !(s.maxsmc > 0.0 && s.maxsmc < 1.0) {
                return perr(
                    name("maxsmc"),
                    format!("porosity {} outside (0, 1)", s.maxsmc),
                );
            }
            if !(s.bb > 0.0) {
                return perr(name("bb"), format!("b {} not positive", s.bb));
            }
            if !(s.satpsi > 0.0) {
                return perr(name("satpsi"), format!("{} m not positive", s.satpsi));
            }
            if !(s.satdk > 0.0) {
                return perr(name("satdk"), format!("{} m/s not positive", s.satdk));
            }
            if !(0.0..=1.0).contains(&s.qtz) {
                return perr(name("qtz"), format!("quartz {} outside [0, 1]", s.qtz));
            }
            if !(s.wltsmc >= 0.0
                && s.wltsmc < s.refsmc
                && s.refsmc <= s.maxsmc
                && s.drysmc < s.maxsmc)
            {
                return perr(
                    name("wltsmc/refsmc/drysmc"),
                    format!(
                        "need 0 <= wilting {} < reference {} <= porosity {}, dry {} < porosity",
                        s.wltsmc, s.refsmc, s.maxsmc, s.drysmc
                    ),
                );
            }
        }
        if !(self.general.csoil > 1e5 && self.general.csoil < 1e7) {
            return perr(
                "general.csoil".into(),
                format!("{} J m-3 K-1 outside 1e5-1e7", self.general.csoil),
            );
        }
        let v = &self.veg;
        if !(0.0..=1.0).contains(&v.shdfac) || !(v.rs > 0.0) || !(v.snup > 0.0) {
            return perr(
                "veg".into(),
                format!(
                    "class {} {}: shdfac {}, rs {}, snup {} out of range",
                    v.index, v.name, v.shdfac, v.rs, v.snup
                ),
            );
        }
        if v.nroot > n {
            return perr(
                "veg.nroot".into(),
                format!("{} root layers but {n} soil layers", v.nroot),
            );
        }
        if self.slope_class == 0 || self.slope_class > self.general.slope.len() {
            return perr(
                "slope_class".into(),
                format!(
                    "{} not in 1..={}",
                    self.slope_class,
                    self.general.slope.len()
                ),
            );
        }
        if !(self.ck >= 0.0) || !(self.blim > 0.0) {
            return perr(
                "ck/blim".into(),
                format!("ck {} and blim {} must be >= 0 and > 0", self.ck, self.blim),
            );
        }
        if !(self.z_temp > 0.0 && self.z_wind > 0.0) {
            return perr(
                "z_temp/z_wind".into(),
                "forcing heights must be positive".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.max_snow_albedo) {
            return perr(
                "max_snow_albedo".into(),
                format!("{} outside [0, 1]", self.max_snow_albedo),
            );
        }
        for (k, x) in [("albedo", self.albedo), ("emissivity", self.emissivity)] {
            if let Some(x) = x {
                if !(0.0..=1.0).contains(&x) {
                    return perr(k.into(), format!("{x} outside [0, 1]"));
                }
            }
        }
        if let Some(z0) = self.z0 {
            if !(z0 > 0.0 && z0 < self.z_wind) {
                return perr("z0".into(), format!("{z0} m not in (0, z_wind)"));
            }
        }
        if !(-90.0..=90.0).contains(&self.latitude) {
            return perr(
                "latitude".into(),
                format!("{} outside [-90, 90]", self.latitude),
            );
        }
        Ok(())
    }
}
