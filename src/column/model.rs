//! The column model: derived parameters, prognostic state, fluxes and one time step.

use std::cell::RefCell;
use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};

use super::config::{ColumnConfig, HeatScheme, LowerBoundary};
use super::heat::{
    heat_step, noah_heat_step_with, BottomBoundary, HeatSolverOptions, HeatStepReport, HeatWork,
    NoahColumn, NoahGeometry, NoahHeatWork, SoilLayerThermal, SoilMedium, ThermalMedium,
    TopBoundary,
};
use crate::forcing::ForcingStep;
use crate::physics::canopy::{self, CanopyParams, CanopyWeather, TranspirationInput};
use crate::physics::hydrology::{
    self, RichardsConfig, RichardsInput, RichardsWork, SoilHydraulics,
};
use crate::physics::powtable::PowerTable;
use crate::physics::sfcdif_myj::{exchange_myj, MyjInput, SurfaceLayer};
use crate::physics::sfcdif_y08::{exchange_y08, Y08Input};
use crate::physics::snow;
use crate::physics::surface::{self, Exchange, SurfaceForcing, L_SUBLIM, L_VAPOR};
use crate::physics::thermal::{self, PhaseState, RetentionParams, C_WATER, T_FREEZE};
use crate::{Error, Result};

/// Prognostic state of a column. Per-layer vectors are top down.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnState {
    /// Volumetric enthalpy of each layer (J m-3), relative to the layer at
    /// 273.15 K with all water liquid; the conserved heat variable.
    pub enthalpy: Vec<f64>,
    /// Layer temperature (K), diagnosed from the enthalpy.
    pub t_soil: Vec<f64>,
    /// Total (liquid + ice) soil water (m3 m-3), Noah SMC.
    pub smc: Vec<f64>,
    /// Liquid soil water (m3 m-3), Noah SH2O, diagnosed from the enthalpy.
    pub sh2o: Vec<f64>,
    /// Skin (surface) temperature (K), Noah T1.
    pub t_skin: f64,
    /// Snow water equivalent (kg m-2).
    pub swe: f64,
    /// Snow depth (m).
    pub snow_depth: f64,
    /// Snow density (kg m-3).
    pub snow_density: f64,
    /// Time since the last snowfall (s), for albedo ageing.
    pub snow_age: f64,
    /// Canopy intercepted water (kg m-2), Noah CMC.
    pub canopy_water: f64,
    /// Ground heat flux of the last step (W m-2, positive into the ground), Noah SSOIL.
    pub ground_flux: f64,
    /// Exchange conductances for momentum and heat of the last step (m s-1),
    /// Noah CM and CH; the `myj` surface layer starts from them (1e-4 at the start).
    pub akms: f64,
    pub akhs: f64,
    /// Ratio of the inverse Obukhov length to the bulk stability
    /// ([`surface::bulk_stability`]) at the last unstable (entry 0) and
    /// stable (entry 1) step's solution, i.e. the profile factor
    /// fm^2 / fh there (0 before the first such step): the `chen97`
    /// surface layer's iteration starts from the current bulk stability
    /// times the ratio of the same regime.
    pub obukhov_ratio: [f64; 2],
    /// ln(z0m / z0h) of the last step's thermal roughness (0 at the start):
    /// the `chen97` surface layer with Yang et al. (2008) roughness starts
    /// from it.
    pub thermal_roughness_log: f64,
    /// Skin specific humidity of the last step (kg kg-1), Noah Q1; `None`
    /// before the first step (the air's humidity is used then).
    pub q_skin: Option<f64>,
    /// Whether the last step's skin was held at 0 C by melting snow. Under
    /// [`crate::column::config::HeatScheme::Noah`] rain on such a surface
    /// stays rain, as in Noah, whose melt-day skin temperature blends 0 C
    /// over the snow with the warmer snow-free part and so lies above 0 C.
    pub skin_melting: bool,
    /// What `t_soil` and `sh2o` were diagnosed from, per layer: the enthalpy,
    /// the total water and the slope dT/dH there. A layer whose enthalpy and
    /// water are bit for bit unchanged starts the next step from its
    /// diagnosed state without inverting the freeze curve again; any other
    /// change to `enthalpy` or `smc` makes the step re-diagnose that layer.
    diagnosed: Vec<Diagnosed>,
}

/// See [`ColumnState`]'s `diagnosed`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Diagnosed {
    enthalpy: f64,
    smc: f64,
    dt_dh: f64,
}

impl ColumnState {
    /// Layer temperatures in degrees Celsius.
    pub fn t_soil_celsius(&self) -> Vec<f64> {
        self.t_soil.iter().map(|t| t - T_FREEZE).collect()
    }
    /// Ice content per layer (m3 m-3).
    pub fn ice(&self) -> Vec<f64> {
        self.smc
            .iter()
            .zip(&self.sh2o)
            .map(|(s, l)| (s - l).max(0.0))
            .collect()
    }
}

/// How the initial state is set.
#[derive(Clone, Debug, PartialEq)]
pub enum InitialCondition {
    /// Given per-layer temperature (K) and total water (m3 m-3), e.g. from a
    /// Noah namelist; liquid and ice follow from the freeze curve.
    Profile {
        /// Layer temperatures (K).
        t_soil: Vec<f64>,
        /// Total water (m3 m-3).
        smc: Vec<f64>,
        /// Skin temperature (K).
        t_skin: f64,
        /// Snow water equivalent (kg m-2).
        swe: f64,
        /// Snow depth (m).
        snow_depth: f64,
        /// Canopy water (kg m-2).
        canopy_water: f64,
        /// Liquid water per layer (m3 m-3), e.g. a Noah namelist's
        /// `Soil_Liquid`: taken as it is (within [0, total water]) under
        /// [`crate::column::config::HeatScheme::Noah`], where liquid water is
        /// a state of its own; the enthalpy scheme keeps every layer on its
        /// freeze curve and ignores it.
        liquid: Option<Vec<f64>>,
    },
    /// The equilibrium estimate: a surface mean annual temperature `t_surface`
    /// (K) extended downward along the steady geotherm of the lower boundary
    /// (TBOT at ZBOT, or the geothermal flux) through the layers' frozen
    /// conductivities; water at `saturation` of porosity; ice where below 0 C.
    Equilibrium {
        /// Mean annual ground-surface temperature (K).
        t_surface: f64,
        /// Water content as a fraction of porosity (-).
        saturation: f64,
    },
}

/// Fluxes and diagnostics of one step (means over the step).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepFluxes {
    /// Net shortwave radiation (W m-2, down).
    pub sw_net: f64,
    /// Net longwave radiation (W m-2, down).
    pub lw_net: f64,
    /// Sensible heat flux (W m-2, up).
    pub sensible: f64,
    /// Latent heat flux (W m-2, up).
    pub latent: f64,
    /// Ground heat flux into the soil column (W m-2, down).
    pub ground: f64,
    /// Energy used to melt snow (W m-2).
    pub melt_heat: f64,
    /// Heat leaving the column base (W m-2, down).
    pub bottom_heat: f64,
    /// Enthalpy carried into the column by soil water exchanges (W m-2).
    pub water_heat: f64,
    /// Skin temperature at the end of the step (K).
    pub t_skin: f64,
    /// Surface albedo (-).
    pub albedo: f64,
    /// Snow cover fraction (-).
    pub snow_cover: f64,
    /// Exchange conductance for heat CH * U (m s-1).
    pub ch: f64,
    /// Potential evaporation (kg m-2 s-1).
    pub potential_evap: f64,
    /// Direct soil evaporation (kg m-2 s-1).
    pub soil_evap: f64,
    /// Canopy evaporation (kg m-2 s-1).
    pub canopy_evap: f64,
    /// Transpiration (kg m-2 s-1).
    pub transpiration: f64,
    /// Snow sublimation, negative for deposition (kg m-2 s-1).
    pub sublimation: f64,
    /// Dew reaching the surface (kg m-2 s-1).
    pub dew: f64,
    /// Rainfall (kg m-2 s-1).
    pub rain: f64,
    /// Snowfall, including freezing rain (kg m-2 s-1).
    pub snowfall: f64,
    /// Snowmelt (kg m-2 s-1).
    pub snowmelt: f64,
    /// Surface runoff (kg m-2 s-1).
    pub surface_runoff: f64,
    /// Drainage and excess water leaving the column base (kg m-2 s-1).
    pub drainage: f64,
    /// Water created to keep the lowest layer at its minimum (kg m-2 s-1; normally 0).
    pub water_source: f64,
    /// Soil enthalpy change minus boundary heat fluxes (W m-2): the heat imbalance.
    pub energy_residual: f64,
    /// Water storage change minus boundary water fluxes (kg m-2): the water imbalance.
    pub water_residual: f64,
    /// Surface energy balance residual: Rn - H - LE - G - melt (W m-2).
    pub surface_residual: f64,
    /// Iterations of the heat solver.
    pub heat_iterations: usize,
}

/// A configured column: parameters and options, immutable during runs, `Send + Sync`.
#[derive(Clone, Debug)]
pub struct ColumnModel {
    cfg: ColumnConfig,
    dz: Vec<f64>,
    mid: Vec<f64>,
    thermal: Vec<SoilLayerThermal>,
    hydraulics: Vec<SoilHydraulics>,
    /// Wilting point per layer (m3 m-3), WLTSMC.
    wilting: Vec<f64>,
    /// Transpiration-stress onset per layer (m3 m-3), REFSMC.
    reference: Vec<f64>,
    richards: RichardsConfig,
    root_fraction: Vec<f64>,
    /// Conductivity constants per layer.
    conductivity: Vec<thermal::LayerConductivity>,
    /// Per layer, the porosity and the solids' share (1 - porosity) c_solid
    /// (J m-3 K-1) of the heat capacity, see
    /// [`thermal::heat_capacity_with_solids`].
    capacity_consts: Vec<[f64; 2]>,
    /// Koren (1999) freeze curve: liq^(-min(b, blim)) tabulated per layer,
    /// shared between layers of the same exponent; empty for other curves.
    freeze_powers: Vec<Arc<PowerTable>>,
    /// porosity^min(b, blim) per layer, the factor of the tabulated Koren
    /// (1999) power; empty for other curves.
    freeze_por_bx: Vec<f64>,
    /// The Koren (1999) curve of every layer prepared for the Noah heat
    /// step; empty for other curves.
    freeze_koren: Vec<thermal::KorenTabulated>,
    /// Thickness factors of the Noah heat step.
    noah_geometry: NoahGeometry,
    /// r^(b+1) of the Clapp-Hornberger hydraulics tabulated per layer, shared
    /// between layers of the same exponent.
    hydraulic_powers: Vec<Arc<PowerTable>>,
    /// Identity of this model (and its clones) among the models of the
    /// process, so that a thread's step scratch knows whose relations it holds.
    id: u64,
}

/// Source of [`ColumnModel`] identities (from 1).
static NEXT_MODEL_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ColumnModel>();
    assert_send_sync::<ColumnState>();
    assert_send_sync::<StepFluxes>();
    assert_send_sync::<ColumnConfig>();
};

/// Skin energy balance as the heat solver's top boundary: for a top-layer
/// temperature it finds the skin temperature that balances the surface
/// energy budget (latent heat fixed for the step, as in Noah) against the
/// conduction through snow and half the top layer, capping the skin at 0 C
/// over snow and sending the surplus to melt.
struct SkinBoundary {
    f: SurfaceForcing,
    le: f64,
    veg_factor: f64,
    dz_half: f64,
    snow_k: f64,
    snow_depth: f64,
    cover: f64,
    snow: bool,
    melt_cap: f64,
    t_skin: f64,
    melt: f64,
    conductance: f64,
    k_half: f64,
}

impl SkinBoundary {
    fn conductance(&self, k_half: f64) -> f64 {
        let soil_k = k_half * self.dz_half * self.veg_factor;
        let k = snow::snow_soil_conductivity(
            soil_k,
            self.snow_k,
            self.snow_depth,
            self.dz_half,
            self.cover,
        );
        k / (self.snow_depth + self.dz_half)
    }
}

impl TopBoundary for SkinBoundary {
    fn flux(&mut self, t0: f64, k_half: f64) -> (f64, f64) {
        let kc = self.conductance(k_half);
        self.conductance = kc;
        self.k_half = k_half;
        // Newton on F(Ts) - kc (Ts - t0) = 0 (F concave decreasing: converges from any start).
        let mut ts = self.t_skin;
        let mut s = 1.0;
        for _ in 0..50 {
            let (fa, dfa, _) = surface::skin_balance(&self.f, ts, self.le);
            let g = fa - kc * (ts - t0);
            s = -dfa;
            let step = g / (s + kc);
            ts += step.clamp(-30.0, 30.0);
            if step.abs() < 1e-10 {
                break;
            }
        }
        self.melt = 0.0;
        if self.snow && ts > T_FREEZE {
            let (fa, _, _) = surface::skin_balance(&self.f, T_FREEZE, self.le);
            let surplus = (fa - kc * (T_FREEZE - t0)).max(0.0);
            if surplus <= self.melt_cap {
                // The skin stays at 0 C and the surplus melts snow.
                self.t_skin = T_FREEZE;
                self.melt = surplus;
                return (kc * (T_FREEZE - t0), -kc);
            }
            // The pack melts out within the step: the rest warms the surface.
            self.melt = self.melt_cap;
            for _ in 0..50 {
                let (fa, dfa, _) = surface::skin_balance(&self.f, ts, self.le);
                let g = fa - self.melt_cap - kc * (ts - t0);
                s = -dfa;
                let step = g / (s + kc);
                ts += step.clamp(-30.0, 30.0);
                if step.abs() < 1e-10 {
                    break;
                }
            }
        }
        self.t_skin = ts;
        (kc * (ts - t0), -kc * s / (kc + s))
    }
}

/// Mid-month interpolation of monthly values (Noah's MONTH_D).
fn monthly_value(v: &[f64; 12], t: NaiveDateTime) -> f64 {
    let day = t.ordinal0() as f64 + 0.5;
    let pos = day / 365.25 * 12.0 - 0.5; // 0 at mid-January
    let i0 = pos.floor();
    let w = pos - i0;
    let a = v[(i0 as i64).rem_euclid(12) as usize];
    let b = v[((i0 as i64) + 1).rem_euclid(12) as usize];
    a + w * (b - a)
}

impl ColumnModel {
    /// Validate the configuration and derive per-layer parameters.
    pub fn new(cfg: ColumnConfig) -> Result<Self> {
        cfg.validate()?;
        let n = cfg.thickness.len();
        let dz = cfg.thickness.clone();
        let mut mid = Vec::with_capacity(n);
        let mut top = 0.0;
        for d in &dz {
            mid.push(top + 0.5 * d);
            top += d;
        }
        let thermal_layers: Vec<SoilLayerThermal> = cfg
            .soil
            .iter()
            .map(|s| SoilLayerThermal {
                retention: RetentionParams {
                    porosity: s.maxsmc,
                    b: s.bb,
                    psi_sat: s.satpsi,
                },
                quartz: s.qtz,
                c_solid: cfg.general.csoil,
                kind: s.kind,
            })
            .collect();
        let hydraulics: Vec<SoilHydraulics> = cfg
            .soil
            .iter()
            .map(|s| SoilHydraulics {
                porosity: s.maxsmc,
                b: s.bb,
                psi_sat: s.satpsi,
                k_sat: s.satdk,
                dw_sat: s.satdw,
                wilting: s.wltsmc,
                reference: s.refsmc,
                dry: s.drysmc,
            })
            .collect();
        for (i, h) in hydraulics.iter().enumerate() {
            h.validate(&format!("layer {} ({})", i + 1, cfg.soil[i].name))?;
        }
        let richards = RichardsConfig {
            drainage_slope: cfg.general.slope[cfg.slope_class - 1],
            refkdt: cfg.general.refkdt,
            refdk: cfg.general.refdk,
            frzk: cfg.general.frzk,
            ice_impedance: cfg.options.ice_impedance,
            min_water: 0.02,
            gravity: cfg.options.soil_gravity,
        };
        let root_fraction = canopy::root_distribution(&dz, cfg.veg.nroot)?;
        let conductivity = thermal_layers
            .iter()
            .map(|l: &SoilLayerThermal| {
                thermal::LayerConductivity::new(
                    cfg.options.conductivity,
                    l.kind,
                    &cfg.coarse,
                    l.retention.porosity,
                    l.quartz,
                )
            })
            .collect();
        let freeze_powers = match cfg.options.freeze_curve {
            thermal::FreezeCurve::Koren99 { blim, .. } => {
                let mut shared: Vec<Arc<PowerTable>> = Vec::new();
                thermal_layers
                    .iter()
                    .map(|l| {
                        let y = -l.retention.b.min(blim);
                        match shared
                            .iter()
                            .find(|t| t.exponent().to_bits() == y.to_bits())
                        {
                            Some(t) => t.clone(),
                            None => {
                                // Liquid water lies between Noah's 0.02 floor and porosity.
                                let t = Arc::new(PowerTable::new(y, 0.016, 0.9999));
                                shared.push(t.clone());
                                t
                            }
                        }
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let mut shared: Vec<Arc<PowerTable>> = Vec::new();
        let hydraulic_powers = hydraulics
            .iter()
            .map(|h| {
                let y = h.b + 1.0;
                match shared
                    .iter()
                    .find(|t| t.exponent().to_bits() == y.to_bits())
                {
                    Some(t) => t.clone(),
                    None => {
                        let t = Arc::new(hydrology::hydraulic_power_table(h.b));
                        shared.push(t.clone());
                        t
                    }
                }
            })
            .collect();
        let freeze_por_bx = match cfg.options.freeze_curve {
            thermal::FreezeCurve::Koren99 { blim, .. } => thermal_layers
                .iter()
                .map(|l| l.retention.porosity.powf(l.retention.b.min(blim)))
                .collect(),
            _ => Vec::new(),
        };
        let freeze_koren = thermal_layers
            .iter()
            .zip(freeze_powers.iter().zip(&freeze_por_bx))
            .map(|(l, (table, &por_bx))| {
                thermal::KorenTabulated::new(
                    cfg.options.freeze_curve,
                    &l.retention,
                    por_bx,
                    table.clone(),
                )
            })
            .collect::<Option<Vec<_>>>()
            .filter(|k| k.len() == n)
            .unwrap_or_default();
        let capacity_consts = thermal_layers
            .iter()
            .map(|l| {
                let por = l.retention.porosity;
                [por, thermal::solids_heat_capacity(por, l.c_solid)]
            })
            .collect();
        Ok(Self {
            capacity_consts,
            freeze_por_bx,
            freeze_koren,
            noah_geometry: NoahGeometry::new(&dz),
            id: NEXT_MODEL_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            freeze_powers,
            hydraulic_powers,
            cfg,
            dz,
            mid,
            thermal: thermal_layers,
            wilting: hydraulics.iter().map(|h| h.wilting).collect(),
            reference: hydraulics.iter().map(|h| h.reference).collect(),
            hydraulics,
            richards,
            root_fraction,
            conductivity,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ColumnConfig {
        &self.cfg
    }

    /// Layer thicknesses (m).
    pub fn thickness(&self) -> &[f64] {
        &self.dz
    }

    /// Depth of each layer midpoint (m, positive down).
    pub fn layer_midpoints(&self) -> Vec<f64> {
        self.mid.clone()
    }

    fn medium<'a>(&'a self, smc: &'a [f64]) -> SoilMedium<'a> {
        self.medium_from(smc, Vec::new(), false)
    }

    /// Check that an initial condition fits the column (layer counts, ranges).
    pub fn check_initial(&self, init: &InitialCondition) -> Result<()> {
        let n = self.dz.len();
        match init {
            InitialCondition::Profile {
                t_soil,
                smc,
                t_skin,
                swe,
                snow_depth,
                canopy_water,
                liquid,
            } => {
                if let Some(l) = liquid.as_ref().filter(|l| l.len() != n) {
                    return Err(Error::Parameter {
                        name: "initial profile".into(),
                        message: format!("{} liquid water contents for {n} layers", l.len()),
                    });
                }
                if t_soil.len() != n || smc.len() != n {
                    return Err(Error::Parameter {
                        name: "initial profile".into(),
                        message: format!(
                            "{} temperatures and {} water contents for {n} layers",
                            t_soil.len(),
                            smc.len()
                        ),
                    });
                }
                for (i, (&t, &w)) in t_soil.iter().zip(smc).enumerate() {
                    if !(180.0..=340.0).contains(&t) || !(0.0..=1.0).contains(&w) {
                        return Err(Error::Parameter {
                            name: format!("initial profile layer {}", i + 1),
                            message: format!("temperature {t} K or water {w} m3 m-3 out of range"),
                        });
                    }
                }
                if !(180.0..=340.0).contains(t_skin)
                    || !(*swe >= 0.0)
                    || !(*snow_depth >= 0.0)
                    || !(*canopy_water >= 0.0)
                {
                    return Err(Error::Parameter {
                        name: "initial surface".into(),
                        message: format!("t_skin {t_skin} K, swe {swe}, snow depth {snow_depth}, canopy {canopy_water} out of range"),
                    });
                }
            }
            InitialCondition::Equilibrium {
                t_surface,
                saturation,
            } => {
                if !(180.0..=340.0).contains(t_surface) || !(0.0..=1.0).contains(saturation) {
                    return Err(Error::Parameter {
                        name: "initial equilibrium".into(),
                        message: format!("surface temperature {t_surface} K or saturation {saturation} out of range"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The state for an initial condition. Water contents are clamped to
    /// [0.02, porosity] of each layer; profiles shorter than the column repeat
    /// their last value (use [`Self::check_initial`] to reject them instead).
    pub fn initial_state(&self, init: &InitialCondition) -> ColumnState {
        let n = self.dz.len();
        let pick = |v: &[f64], i: usize, dflt: f64| v.get(i).or(v.last()).copied().unwrap_or(dflt);
        let (t, smc, t_skin, swe, depth, cmc) = match init {
            InitialCondition::Profile {
                t_soil,
                smc,
                t_skin,
                swe,
                snow_depth,
                canopy_water,
                ..
            } => {
                let t: Vec<f64> = (0..n).map(|i| pick(t_soil, i, 273.15)).collect();
                let w: Vec<f64> = (0..n).map(|i| pick(smc, i, 0.2)).collect();
                (t, w, *t_skin, *swe, *snow_depth, *canopy_water)
            }
            InitialCondition::Equilibrium {
                t_surface,
                saturation,
            } => {
                let w: Vec<f64> = self
                    .thermal
                    .iter()
                    .map(|l| saturation * l.retention.porosity)
                    .collect();
                let t = self.geotherm(*t_surface, &w);
                (t, w, *t_surface, 0.0, 0.0, 0.0)
            }
        };
        let smc: Vec<f64> = smc
            .iter()
            .zip(&self.thermal)
            .map(|(w, l)| w.clamp(0.02f64.min(l.retention.porosity), l.retention.porosity))
            .collect();
        let m = self.medium(&smc);
        let mut enthalpy: Vec<f64> = (0..n).map(|i| m.enthalpy(i, t[i])).collect();
        let mut states: Vec<PhaseState> = (0..n).map(|i| m.state(i, enthalpy[i])).collect();
        if let (
            InitialCondition::Profile {
                liquid: Some(l), ..
            },
            HeatScheme::Noah,
        ) = (init, self.cfg.options.heat_scheme)
        {
            // Liquid water of its own: the given profile, at the given temperatures.
            for i in 0..n {
                let liq = pick(l, i, smc[i]).clamp(0.0, smc[i]);
                let p = &self.thermal[i];
                enthalpy[i] = thermal::enthalpy(t[i], smc[i], liq, p.retention.porosity, p.c_solid);
                states[i] = PhaseState {
                    t: t[i],
                    liq,
                    dt_dh: f64::NAN,
                };
            }
        }
        let density = if depth > 0.0 && swe > 0.0 {
            (swe / depth).clamp(50.0, 400.0)
        } else {
            100.0
        };
        let diagnosed = (0..n)
            .map(|i| Diagnosed {
                enthalpy: enthalpy[i],
                smc: smc[i],
                dt_dh: states[i].dt_dh,
            })
            .collect();
        ColumnState {
            diagnosed,
            t_soil: states.iter().map(|s| s.t).collect(),
            sh2o: states.iter().map(|s| s.liq).collect(),
            enthalpy,
            smc,
            t_skin,
            swe,
            snow_depth: if swe > 0.0 { swe / density } else { 0.0 },
            snow_density: density,
            snow_age: 0.0,
            canopy_water: cmc,
            ground_flux: 0.0,
            akms: 1e-4,
            akhs: 1e-4,
            obukhov_ratio: [0.0; 2],
            thermal_roughness_log: 0.0,
            q_skin: None,
            skin_melting: false,
        }
    }

    /// Steady temperature profile (K) below a surface at `t_surface` (K) for
    /// water contents `smc`: the lower boundary's flux spread through the
    /// layers' conductivities (evaluated frozen below 0 C, thawed above).
    pub fn geotherm(&self, t_surface: f64, smc: &[f64]) -> Vec<f64> {
        let n = self.dz.len();
        let m = self.medium(smc);
        let k: Vec<f64> = (0..n)
            .map(|i| {
                let h = m.enthalpy(i, t_surface);
                m.conductivity(i, &m.state(i, h))
            })
            .collect();
        // Thermal resistance from the surface to each midpoint and to the base.
        let mut r_mid = Vec::with_capacity(n);
        let mut r = 0.0;
        for i in 0..n {
            r_mid.push(r + 0.5 * self.dz[i] / k[i]);
            r += self.dz[i] / k[i];
        }
        let q = match self.cfg.options.lower_boundary {
            LowerBoundary::GeothermalFlux { flux } => flux,
            LowerBoundary::FixedTemperature { tbot, zbot } => {
                let total: f64 = self.dz.iter().sum();
                let r_bot = r_mid[n - 1] + (zbot - self.mid[n - 1]) / k[n - 1];
                let _ = total;
                (tbot - t_surface) / r_bot
            }
        };
        r_mid.iter().map(|rm| t_surface + q * rm).collect()
    }

    /// Thaw-equivalent temperature of each layer (C) into `out`: the layer's
    /// enthalpy divided by its heat capacity with all its water liquid. It
    /// equals the temperature when the layer holds no ice and is below 0 C
    /// while any ice is left, falling by the latent heat of that ice; unlike
    /// the temperature it keeps moving through the zero curtain. See
    /// [`crate::diagnostics::AnnualProfileStats::thaw_max`].
    /// A layer above 0 C that still holds ice (possible under
    /// [`crate::column::config::HeatScheme::Noah`], never under the enthalpy
    /// scheme) gives its temperature, so the margin keeps the sign of the
    /// temperature.
    pub fn thaw_equivalent_celsius(&self, st: &ColumnState, out: &mut [f64]) {
        for (((((q, h), w), l), t), liq) in out
            .iter_mut()
            .zip(&st.enthalpy)
            .zip(&st.smc)
            .zip(&self.thermal)
            .zip(&st.t_soil)
            .zip(&st.sh2o)
        {
            *q = if *t > T_FREEZE && liq < w {
                t - T_FREEZE
            } else {
                h / thermal::heat_capacity(*w, *w, l.retention.porosity, l.c_solid)
            };
        }
    }

    /// Total column enthalpy (J m-2).
    pub fn column_enthalpy(&self, st: &ColumnState) -> f64 {
        st.enthalpy.iter().zip(&self.dz).map(|(h, d)| h * d).sum()
    }

    /// Total water stored in soil, snow and canopy (kg m-2).
    pub fn column_water(&self, st: &ColumnState) -> f64 {
        st.smc.iter().zip(&self.dz).map(|(w, d)| w * d).sum::<f64>() * thermal::RHO_WATER
            + st.swe
            + st.canopy_water
    }

    /// Surface parameters of the season: (green fraction, LAI, albedo, emissivity, z0).
    fn season(&self, t: NaiveDateTime) -> (f64, f64, f64, f64, f64) {
        let c = &self.cfg;
        let v = &c.veg;
        let shdfac = match &c.monthly.green_fraction {
            Some(m) => monthly_value(m, t),
            None => v.shdfac,
        };
        let f = if c.green_max > c.green_min {
            ((shdfac - c.green_min) / (c.green_max - c.green_min)).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let emis = (1.0 - f) * v.emissmin + f * v.emissmax;
        let mut alb = (1.0 - f) * v.albedomax + f * v.albedomin;
        let z0 = (1.0 - f) * v.z0min + f * v.z0max;
        let lai = (1.0 - f) * v.laimin + f * v.laimax;
        if let Some(m) = &c.monthly.albedo {
            alb = monthly_value(m, t);
        }
        (
            shdfac,
            lai,
            c.albedo.unwrap_or(alb),
            c.emissivity.unwrap_or(emis),
            c.z0.unwrap_or(z0),
        )
    }

    /// The soil medium at water contents `smc`, reusing the relations in
    /// `buf`; `same_model` says this model built them (see
    /// [`SoilMedium::new_in_same`]), else [`SoilMedium::new_in`] compares
    /// every input.
    fn medium_from<'a>(
        &'a self,
        smc: &'a [f64],
        buf: Vec<thermal::FreezeLayer>,
        same_model: bool,
    ) -> SoilMedium<'a> {
        let build = if same_model {
            SoilMedium::new_in_same
        } else {
            SoilMedium::new_in
        };
        build(
            &self.thermal,
            smc,
            self.cfg.options.freeze_curve,
            self.cfg.options.conductivity,
            self.cfg.coarse,
            buf,
            Some(&self.freeze_powers)
                .filter(|p| !p.is_empty())
                .map(|p| &p[..]),
        )
        .with_conductivity(&self.conductivity)
    }

    /// The heat step of [`HeatScheme::Noah`]: conductivities and heat
    /// capacities of the state at the start of the step, Noah's DF1 (the top
    /// layer's conductivity with the surface's vegetation and snow reduction)
    /// for the top face and the face below the top layer, the skin
    /// temperature of the previous step as the top face's temperature.
    fn noah_heat(
        &self,
        st: &mut ColumnState,
        top: &mut SkinBoundary,
        bottom: BottomBoundary,
        dt: f64,
        work: &mut NoahScratch,
    ) -> Result<HeatStepReport> {
        let n = self.dz.len();
        let NoahScratch {
            capacity,
            k_below,
            heat,
        } = work;
        sized(capacity, n);
        sized(k_below, n);
        let (smc, sh2o) = (&st.smc[..n], &st.sh2o[..n]);
        let conductivity = &self.conductivity[..n];
        let consts = &self.capacity_consts[..n];
        let (cap, kb) = (&mut capacity[..n], &mut k_below[..n]);
        for i in 0..n {
            let [por, solids] = consts[i];
            cap[i] = thermal::heat_capacity_with_solids(smc[i], sh2o[i], por, solids);
            kb[i] = conductivity[i].conductivity(smc[i], sh2o[i]);
        }
        let k_top_half = 2.0 * k_below[0] / self.dz[0];
        k_below[0] = top.conductance(k_top_half) * (top.snow_depth + top.dz_half);
        let col = NoahColumn {
            dz: &self.dz,
            smc: &st.smc,
            capacity,
            k_below,
            t_surface: st.t_skin,
            k_top_half,
        };
        let curve = self.cfg.options.freeze_curve;
        let smc = &st.smc;
        let (powers, por_bx, koren) =
            (&self.freeze_powers, &self.freeze_por_bx, &self.freeze_koren);
        let free = |i: usize, t: f64, lo: f64, hi: f64| {
            if let Some(k) = koren.get(i) {
                return k.liquid_between(t, smc[i], lo, hi);
            }
            match powers.get(i) {
                Some(table) => thermal::supercooled_liquid_tabulated_between(
                    curve,
                    t,
                    smc[i],
                    &self.thermal[i].retention,
                    por_bx[i],
                    table,
                    lo,
                    hi,
                ),
                None => thermal::supercooled_liquid(curve, t, smc[i], &self.thermal[i].retention)
                    .clamp(lo, hi),
            }
        };
        let consts = &self.capacity_consts;
        let capacity_at = |i: usize, liq: f64| {
            let [por, solids] = consts[i];
            thermal::heat_capacity_with_solids(smc[i], liq, por, solids)
        };
        noah_heat_step_with(
            &col,
            &self.noah_geometry,
            &mut st.t_soil,
            &mut st.sh2o,
            &mut st.enthalpy,
            free,
            capacity_at,
            true,
            dt,
            top,
            bottom,
            heat,
        )
    }

    /// Advance the column by one step of `dt` seconds starting at `t`, in the
    /// operator order of Noah's SFLX: season and snow cover, exchange
    /// coefficients, potential evaporation and its partition, the coupled skin
    /// energy balance and soil heat conduction with phase change, the snowpack,
    /// the canopy and the soil water, and the balance checks.
    pub fn step(
        &self,
        st: &mut ColumnState,
        f: &ForcingStep,
        dt: f64,
        t: NaiveDateTime,
    ) -> Result<StepFluxes> {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut sc) => self.step_in(st, f, dt, t, &mut sc),
            Err(_) => self.step_in(st, f, dt, t, &mut StepScratch::default()),
        })
    }

    /// [`Self::step`] with the given work buffers.
    fn step_in(
        &self,
        st: &mut ColumnState,
        f: &ForcingStep,
        dt: f64,
        t: NaiveDateTime,
        sc: &mut StepScratch,
    ) -> Result<StepFluxes> {
        let StepScratch {
            owner,
            freeze,
            states,
            heat: work,
            et_layers,
            ice,
            liq_new,
            richards: rwork,
            noah,
        } = sc;
        let n = self.dz.len();
        let c = &self.cfg;
        if st.enthalpy.len() != n || st.smc.len() != n {
            return Err(Error::model(
                None,
                format!("state has {} layers, model {n}", st.enthalpy.len()),
            ));
        }
        check_forcing(f, t)?;
        if !(dt > 0.0 && dt <= 86400.0 * 1.0001) {
            return Err(Error::model(
                None,
                format!("time step {dt} s must be in (0, 86400]"),
            ));
        }
        let mut out = StepFluxes::default();
        let h0 = self.column_enthalpy(st);
        let w0 = self.column_water(st);

        // 1. Season, precipitation phase, snowfall.
        let (shdfac, lai, alb_free, emis_free, z0_free) = self.season(t);
        // The skin temperature that decides freezing rain: under Noah's
        // scheme a skin held at 0 C by melt counts as above freezing (see
        // `ColumnState::skin_melting`).
        let noah_scheme = c.options.heat_scheme == HeatScheme::Noah;
        let skin_for_rain = if noah_scheme && st.skin_melting {
            f64::INFINITY
        } else {
            st.t_skin
        };
        let part = snow::precipitation_phase(f.t_air, skin_for_rain, f.precip, T_FREEZE);
        out.rain = part.rain;
        out.snowfall = part.snowfall;
        if part.snowfall > 0.0 {
            let (d, rho) =
                snow::add_snowfall(st.snow_depth, st.snow_density, part.snowfall * dt, f.t_air);
            st.swe += part.snowfall * dt;
            st.snow_depth = d;
            st.snow_density = rho;
        }
        let has_snow = st.swe > snow::SWE_NEGLIGIBLE;
        let cover = if has_snow {
            snow::snow_cover_fraction(st.swe, c.veg.snup, c.general.salp).min(snow::SNOW_COVER_MAX)
        } else {
            0.0
        };
        let sa = snow::snow_albedo(
            c.options.snow_albedo,
            alb_free,
            emis_free,
            c.max_snow_albedo,
            c.general.lvcoef,
            cover,
            st.snow_age,
            part.snowing,
            dt,
        );
        st.snow_age = sa.snow_age;
        let z0 = if has_snow {
            snow::snow_roughness(cover, z0_free, st.snow_depth)
        } else {
            z0_free
        };

        // 2. Exchange coefficients (Noah SFCDIF) from the previous skin temperature.
        let theta_air = f.t_air + 0.0098 * c.z_temp;
        let mut rib = None;
        let ex: Exchange = match c.options.surface_layer {
            SurfaceLayer::Chen97 => {
                let bulk = surface::bulk_stability(f.wind, theta_air, st.t_skin);
                let regime = usize::from(bulk > 0.0);
                let (e, _) = surface::exchange_coefficients_passes_from(
                    c.z_wind,
                    c.z_temp,
                    f.wind,
                    theta_air,
                    st.t_skin,
                    z0,
                    c.options.thermal_roughness,
                    bulk * st.obukhov_ratio[regime],
                    st.thermal_roughness_log,
                );
                if let surface::ThermalRoughness::Yang08 { .. } = c.options.thermal_roughness {
                    st.thermal_roughness_log = (z0 / e.z0h).ln();
                }
                let ratio = 1.0 / (e.obukhov * bulk);
                if ratio.is_finite() && ratio > 0.0 {
                    st.obukhov_ratio[regime] = ratio;
                }
                e
            }
            SurfaceLayer::Myj { local_czil } => {
                let m = exchange_myj(
                    &MyjInput {
                        z_temp: c.z_temp,
                        z_wind: c.z_wind,
                        z0,
                        z0_base: z0_free,
                        p_sfc: f.p_air,
                        t_skin: st.t_skin,
                        t_air: f.t_air,
                        q_skin: st.q_skin.unwrap_or(f.q_air),
                        q_air: f.q_air,
                        wind: f.wind,
                        czil: c.general.czil,
                        local_czil,
                    },
                    st.akms,
                    st.akhs,
                );
                st.akms = m.akms;
                st.akhs = m.akhs;
                rib = Some(m.rib);
                m.exchange(f.wind)
            }
            SurfaceLayer::Y08 => {
                let y = exchange_y08(&Y08Input {
                    z0m: z0,
                    z_wind: c.z_wind,
                    z_temp: c.z_temp,
                    wind: f.wind,
                    t_skin: st.t_skin,
                    t_air: f.t_air,
                    q_air: f.q_air,
                    p_sfc: f.p_air,
                });
                st.akhs = y.ch_wind;
                rib = Some(y.rib);
                y.exchange(f.wind)
            }
        };
        out.ch = ex.ch_wind;
        let sf = SurfaceForcing {
            t_air: f.t_air,
            theta_air,
            q_air: f.q_air,
            p_air: f.p_air,
            sw_down: f.sw_down,
            lw_down: f.lw_down,
            albedo: sa.albedo,
            emissivity: sa.emissivity,
            ch_wind: ex.ch_wind,
        };
        out.albedo = sa.albedo;
        out.snow_cover = cover;

        // 3. Potential evaporation (Noah PENMAN) and its partition (DEVAP, EVAPO, TRANSP, snow).
        let latent_pot = if has_snow { L_SUBLIM } else { L_VAPOR };
        let etp = surface::potential_evaporation_penman(&sf, st.ground_flux, latent_pot);
        out.potential_evap = etp;
        zeroed(et_layers, n);
        let (mut edir, mut ec, mut esnow, mut dew) = (0.0, 0.0, 0.0, 0.0);
        if etp > 0.0 {
            let bare = 1.0 - cover;
            edir = bare
                * hydrology::direct_evaporation(
                    etp,
                    st.smc[0],
                    &self.hydraulics[0],
                    shdfac,
                    c.general.fxexp,
                );
            ec = bare
                * canopy::canopy_evaporation(
                    etp,
                    shdfac,
                    st.canopy_water,
                    c.cmcmax * 1000.0,
                    c.cfactr,
                    dt,
                );
            if shdfac > 0.0 && lai > 0.0 {
                let nr = self.root_fraction.len();
                let (q2sat, dqsdt2) = surface::saturation_specific_humidity(f.t_air, f.p_air);
                let cp = CanopyParams {
                    rsmin: c.veg.rs,
                    rsmax: c.rsmax,
                    rgl: c.veg.rgl,
                    hs: c.veg.hs,
                    topt: c.topt,
                    lai,
                };
                let w = CanopyWeather {
                    solar: f.sw_down,
                    ch: ex.ch_wind,
                    t_air: f.t_air,
                    q2: f.q_air,
                    q2sat,
                    dqsdt2,
                    pressure: f.p_air,
                    emissivity: sa.emissivity,
                };
                let rc = canopy::canopy_resistance(
                    &cp,
                    &w,
                    &self.dz[..nr],
                    &st.sh2o[..nr],
                    &self.wilting[..nr],
                    &self.reference[..nr],
                )?;
                let ti = TranspirationInput {
                    potential: etp,
                    green_fraction: shdfac,
                    plant_coefficient: rc.pc,
                    canopy_water: st.canopy_water,
                    canopy_capacity: c.cmcmax * 1000.0,
                    cfactr: c.cfactr,
                };
                canopy::transpiration_soil_into(
                    &ti,
                    &st.sh2o,
                    &self.hydraulics,
                    &self.root_fraction,
                    et_layers,
                )?;
                for e in et_layers.iter_mut() {
                    *e *= bare;
                }
            }
            esnow = cover * etp;
        } else if etp < 0.0 {
            // Dew or frost: onto the snow where it covers the ground, else to
            // the surface water. Over snow in a stable surface layer with the
            // surface layer's Richardson number (MYJ, Y08), Noah's SNOPAC weakens frost
            // deposition by (1 - RIB) on the snow-covered part.
            let mut etp = etp;
            if let Some(rib) = rib.filter(|&r| has_snow && r >= 0.1) {
                let fdown = (1.0 - sa.albedo) * f.sw_down + sa.emissivity * f.lw_down;
                if fdown > 150.0 {
                    etp =
                        ((etp * (1.0 - rib)).min(0.0) * cover / 0.98 + etp * (0.98 - cover)) / 0.98;
                }
            }
            esnow = cover * etp;
            dew = -(1.0 - cover) * etp;
        }
        // Sublimation cannot exceed the pack.
        esnow = esnow.min(st.swe / dt);
        let ett: f64 = et_layers.iter().sum();
        let le = L_VAPOR * (edir + ec + ett - dew) + L_SUBLIM * esnow;

        // 4. Skin energy balance coupled with implicit soil heat conduction and phase change.
        // Without snow the pack's conductivity does not enter the top conductance.
        let snow_k = if has_snow {
            snow::snow_conductivity(st.snow_density)
        } else {
            0.0
        };
        let mut top = SkinBoundary {
            f: sf,
            le,
            veg_factor: (c.general.sbeta * shdfac).exp(),
            dz_half: 0.5 * self.dz[0],
            snow_k,
            snow_depth: if has_snow { st.snow_depth } else { 0.0 },
            cover,
            snow: has_snow,
            melt_cap: (st.swe - esnow.max(0.0) * dt).max(0.0) * thermal::L_FUSION / dt,
            t_skin: st.t_skin,
            melt: 0.0,
            conductance: 0.0,
            k_half: 0.0,
        };
        let bottom = match c.options.lower_boundary {
            LowerBoundary::FixedTemperature { tbot, zbot } => BottomBoundary::Temperature {
                t: tbot,
                distance: zbot - self.mid[n - 1],
            },
            LowerBoundary::GeothermalFlux { flux } => BottomBoundary::Flux { upward: flux },
        };
        let rep = if c.options.heat_scheme == HeatScheme::Noah {
            self.noah_heat(st, &mut top, bottom, dt, noah)?
        } else {
            // The state found at the end of the previous step starts the
            // iterations; layers changed since are diagnosed again.
            // Relations this model left in the scratch need only their water
            // compared; those of another model (or none) are checked in full.
            let medium = self.medium_from(&st.smc, std::mem::take(freeze), *owner == self.id);
            // Until the relations are back in the scratch it holds none.
            *owner = 0;
            states.clear();
            st.diagnosed.resize(
                n,
                Diagnosed {
                    enthalpy: f64::NAN,
                    smc: f64::NAN,
                    dt_dh: 0.0,
                },
            );
            for i in 0..n {
                let d = st.diagnosed[i];
                let near = PhaseState {
                    t: st.t_soil[i],
                    liq: st.sh2o[i],
                    dt_dh: d.dt_dh,
                };
                let current = d.enthalpy.to_bits() == st.enthalpy[i].to_bits()
                    && d.smc.to_bits() == st.smc[i].to_bits();
                states.push(if current {
                    near
                } else {
                    medium.state_near(i, st.enthalpy[i], &near)
                });
            }
            let rep = heat_step(
                &medium,
                &self.dz,
                &mut st.enthalpy,
                states,
                dt,
                &mut top,
                bottom,
                &HeatSolverOptions {
                    states_current: true,
                    ..HeatSolverOptions::default()
                },
                work,
            )?;
            *freeze = medium.into_freeze();
            for i in 0..n {
                st.t_soil[i] = states[i].t;
                st.sh2o[i] = states[i].liq;
            }
            rep
        };
        // Re-evaluate the skin at the converged top-layer temperature (same conductance).
        // (The Noah scheme's last evaluation already was at its solve's
        // top-layer temperature.)
        if c.options.heat_scheme != HeatScheme::Noah {
            let k_half = top.k_half;
            let _ = top.flux(st.t_soil[0], k_half);
        }
        out.heat_iterations = rep.iterations;
        out.ground = rep.top_flux;
        out.bottom_heat = rep.bottom_flux;
        out.melt_heat = top.melt;
        st.skin_melting = top.melt > 0.0;
        st.t_skin = top.t_skin;
        let (avail, _, sh) = surface::skin_balance(&sf, st.t_skin, le);
        out.sensible = sh;
        out.latent = le;
        out.sw_net = (1.0 - sf.albedo) * sf.sw_down;
        out.lw_net = sf.emissivity * (sf.lw_down - surface::SIGMA_SB * st.t_skin.powi(4));
        out.surface_residual = avail - out.ground - out.melt_heat;

        // 5. Snowpack: sublimation, melt, compaction.
        if st.swe > 0.0 {
            let melting = out.melt_heat > 0.0;
            let ms = snow::snowpack_mass_step(st.swe, esnow, melting, out.melt_heat, dt)?;
            // Melt energy not used (pack exhausted) stays with the surface budget as ground heat next step.
            out.melt_heat = ms.melt_heat;
            esnow = ms.sublimation;
            out.snowmelt = ms.melt;
            st.swe = ms.swe;
            if st.swe > 0.0 {
                let (d, rho) = snow::compact(st.swe, st.snow_density, st.t_skin, st.t_soil[0], dt);
                st.snow_depth = d;
                st.snow_density = rho;
            } else {
                st.snow_depth = 0.0;
            }
        } else {
            esnow = 0.0;
        }
        out.sublimation = esnow;
        out.surface_residual = avail - out.ground - out.melt_heat;

        // 6. Canopy interception and soil water (Noah SMFLX), with the heat the water carries.
        let cw = canopy::canopy_interception(
            st.canopy_water,
            out.rain + dew,
            ec,
            shdfac,
            c.cmcmax * 1000.0,
            dt,
        );
        st.canopy_water = cw.canopy_water;
        // Round-off can leave a vanishing negative throughfall from an emptied canopy.
        let water_input = (cw.throughfall + out.snowmelt).max(0.0);
        ice.clear();
        ice.extend(st.smc.iter().zip(&st.sh2o).map(|(s, l)| (s - l).max(0.0)));
        let rin = RichardsInput {
            dz: &self.dz,
            soil: &self.hydraulics,
            liquid: &st.sh2o,
            ice,
            water_input,
            evaporation: edir,
            transpiration: et_layers,
            dt,
            powers: Some(&self.hydraulic_powers),
        };
        zeroed(liq_new, n);
        // Thicknesses and soil parameters were validated by `new`.
        let rf = hydrology::richards_step_into_trusted(&rin, &self.richards, liq_new, rwork)?;
        let mut water_heat = 0.0;
        if c.options.heat_scheme == HeatScheme::Noah {
            // As in Noah, the water step changes liquid water at the layer's
            // temperature and leaves the ice; the enthalpy follows that state.
            let (smc, sh2o) = (&mut st.smc[..n], &mut st.sh2o[..n]);
            let (t_soil, enthalpy) = (&st.t_soil[..n], &mut st.enthalpy[..n]);
            let (ice, liq_new) = (&ice[..n], &liq_new[..n]);
            let (consts, dz) = (&self.capacity_consts[..n], &self.dz[..n]);
            for i in 0..n {
                let [por, solids] = consts[i];
                smc[i] = ice[i] + liq_new[i];
                sh2o[i] = liq_new[i];
                let h = thermal::enthalpy_with_solids(t_soil[i], smc[i], sh2o[i], por, solids);
                water_heat += (h - enthalpy[i]) * dz[i];
                enthalpy[i] = h;
            }
            st.diagnosed.clear();
        } else {
            for i in 0..n {
                let dliq = liq_new[i] - st.sh2o[i];
                // Liquid water gained or lost carries its enthalpy C_w (T - T0) per unit volume.
                let dh = C_WATER * (st.t_soil[i] - T_FREEZE) * dliq;
                st.enthalpy[i] += dh;
                water_heat += dh * self.dz[i];
                st.smc[i] = ice[i] + liq_new[i];
            }
            // The relations left by the heat step are this column's: only their
            // water changes.
            let medium = self.medium_from(&st.smc, std::mem::take(freeze), true);
            for i in 0..n {
                let near = PhaseState {
                    t: st.t_soil[i],
                    liq: st.sh2o[i].min(st.smc[i]),
                    dt_dh: states[i].dt_dh,
                };
                let s = medium.state_near(i, st.enthalpy[i], &near);
                st.t_soil[i] = s.t;
                st.sh2o[i] = s.liq;
                st.diagnosed[i] = Diagnosed {
                    enthalpy: st.enthalpy[i],
                    smc: st.smc[i],
                    dt_dh: s.dt_dh,
                };
            }
            *freeze = medium.into_freeze();
            *owner = self.id;
        }
        out.water_heat = water_heat / dt;
        out.soil_evap = edir;
        out.canopy_evap = ec;
        out.transpiration = ett;
        out.dew = dew;
        out.surface_runoff = rf.surface_runoff;
        out.drainage = rf.drainage + rf.excess;
        out.water_source = rf.floor_source;
        st.ground_flux = out.ground;
        out.t_skin = st.t_skin;
        // Skin humidity for the next step's stability (Noah Q1 = Q2 + E / (rho C_h)).
        let evap = edir + ec + ett + esnow - dew;
        let rho = sf.air_density();
        st.q_skin = Some((f.q_air + evap / (rho * ex.ch_wind.max(1e-6))).max(0.0));

        // 7. Balance checks.
        let h1 = self.column_enthalpy(st);
        out.energy_residual = (h1 - h0) / dt - (out.ground - out.bottom_heat + out.water_heat);
        let w1 = self.column_water(st);
        let inflow = f.precip + dew - edir - ec - ett - esnow - out.surface_runoff - out.drainage
            + out.water_source;
        out.water_residual = (w1 - w0) - inflow * dt;
        if !st.t_skin.is_finite() || st.t_soil.iter().any(|x| !x.is_finite()) {
            return Err(Error::model(None, format!("non-finite temperature at {t}")));
        }
        Ok(out)
    }
}

/// `v` with `n` entries, those already there left as they are.
#[inline]
fn sized(v: &mut Vec<f64>, n: usize) {
    if v.len() != n {
        v.resize(n, 0.0);
    }
}

/// `v` with `n` entries, all zero.
#[inline]
fn zeroed(v: &mut Vec<f64>, n: usize) {
    sized(v, n);
    v.fill(0.0);
}

/// Work buffers of [`ColumnModel::step`], kept per thread so that a step
/// allocates nothing. They carry no results between steps: the freeze
/// relations are reused only where their inputs are bit-for-bit unchanged.
#[derive(Default)]
struct StepScratch {
    /// [`ColumnModel`]'s `id` of the model whose relations `freeze` holds (0: none).
    owner: u64,
    freeze: Vec<thermal::FreezeLayer>,
    states: Vec<PhaseState>,
    heat: HeatWork,
    et_layers: Vec<f64>,
    ice: Vec<f64>,
    liq_new: Vec<f64>,
    richards: RichardsWork,
    noah: NoahScratch,
}

/// Work buffers of [`ColumnModel::noah_heat`].
#[derive(Default)]
struct NoahScratch {
    capacity: Vec<f64>,
    k_below: Vec<f64>,
    heat: NoahHeatWork,
}

thread_local! {
    static SCRATCH: RefCell<StepScratch> = RefCell::new(StepScratch::default());
}

/// Reject forcing that is not finite or clearly in the wrong unit.
fn check_forcing(f: &ForcingStep, t: NaiveDateTime) -> Result<()> {
    let bad = |v: &str, msg: String| {
        Err(Error::Forcing {
            source_name: format!("step at {t}"),
            variable: v.into(),
            message: msg,
        })
    };
    let vals = [
        ("t_air", f.t_air),
        ("q_air", f.q_air),
        ("p_air", f.p_air),
        ("wind", f.wind),
        ("sw_down", f.sw_down),
        ("lw_down", f.lw_down),
        ("precip", f.precip),
    ];
    for (name, v) in vals {
        if !v.is_finite() {
            return bad(name, format!("{v} is not finite"));
        }
    }
    if !(180.0..=340.0).contains(&f.t_air) {
        return bad(
            "t_air",
            format!(
                "{} K is not a plausible air temperature (Celsius given?)",
                f.t_air
            ),
        );
    }
    if !(20000.0..=110000.0).contains(&f.p_air) {
        return bad(
            "p_air",
            format!(
                "{} Pa is not a plausible surface pressure (hPa given?)",
                f.p_air
            ),
        );
    }
    if !(0.0..=0.1).contains(&f.q_air) {
        return bad("q_air", format!("{} kg/kg out of range", f.q_air));
    }
    if f.wind < 0.0 || f.sw_down < 0.0 || f.lw_down < 0.0 || f.precip < 0.0 {
        return bad("wind/sw_down/lw_down/precip", "negative value".into());
    }
    if f.precip > 0.1 {
        return bad(
            "precip",
            format!(
                "{} kg m-2 s-1 is implausible (mm per step given?)",
                f.precip
            ),
        );
    }
    Ok(())
}
