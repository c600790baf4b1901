//! Soil water: Clapp-Hornberger hydraulics, ice impedance, infiltration and
//! surface runoff, the implicit Richards step with free drainage, and direct
//! soil evaporation.
//!
//! The numerics follow the Noah LSM 3.4.1 routines SMFLX, SRT, SSTEP and
//! WDFCND (Chen et al. 1996, J. Geophys. Res. 101(D3) 7251-7268; Ek et al.
//! 2003, J. Geophys. Res. 108(D22) 8851; Koren et al. 1999, J. Geophys. Res.
//! 104(D16) 19569-19585), with the per-layer soil classes and the frozen-soil
//! permeability option of Noah-Tibet (Wu et al. 2018, Permafrost Periglac.
//! Process. 29 doi:10.1002/ppp.1971; Zhang et al. 2022, Earth's Future
//! doi:10.1029/2022EF002652) and the impermeable-fraction scheme of Niu & Yang
//! (2006, J. Hydrometeorol. 7 937-952).
//!
//! Units are SI at the interface: volumetric contents in m3 m-3, depths in m,
//! water fluxes in kg m-2 s-1 (equal to mm s-1), time in s. Inside the solver
//! fluxes are carried as m s-1 of liquid water, as in Noah.
//!
//! Water is conserved to round-off: for every step
//! `sum(dz * (liquid_new - liquid_old)) * RHO_WATER / dt
//!   = infiltration - evaporation - sum(transpiration) - drainage - excess + floor_source`
//! (see [`RichardsFluxes`]). Where Noah clips a layer's water content at a
//! minimum (and so creates water), this implementation takes the deficit from
//! the layers below and reports any remainder as `floor_source`.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::physics::powtable::PowerTable;

/// Density of liquid water, kg m-3 (Noah: 1000).
pub const RHO_WATER: f64 = 1000.0;

/// Clapp-Hornberger hydraulic parameters of one soil layer, as read from one
/// row of the Noah `SOILPARM.TBL` (Cosby et al. 1984 values for the STAS
/// classes; the Noah-Tibet gravel and bedrock classes of Wu et al. 2018).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoilHydraulics {
    /// Porosity, the saturated volumetric water content (MAXSMC), m3 m-3.
    pub porosity: f64,
    /// Clapp-Hornberger pore-size exponent b (BB), dimensionless.
    pub b: f64,
    /// Magnitude of the saturated matric potential (SATPSI), m of water.
    pub psi_sat: f64,
    /// Saturated hydraulic conductivity (SATDK), m s-1.
    pub k_sat: f64,
    /// Saturated soil water diffusivity (SATDW), m2 s-1.
    pub dw_sat: f64,
    /// Wilting point (WLTSMC), m3 m-3.
    pub wilting: f64,
    /// Reference (field capacity) water content where transpiration stress
    /// starts (REFSMC), m3 m-3.
    pub reference: f64,
    /// Air-dry water content where direct evaporation stops (DRYSMC), m3 m-3.
    pub dry: f64,
}

impl SoilHydraulics {
    /// Checks that the parameters describe a physically possible soil; `what`
    /// names the layer or class in the error.
    pub fn validate(&self, what: &str) -> Result<()> {
        let checks: [(&str, f64, bool); 8] = [
            (
                "porosity",
                self.porosity,
                self.porosity > 0.0 && self.porosity <= 1.0,
            ),
            ("b", self.b, self.b > 0.0),
            ("psi_sat", self.psi_sat, self.psi_sat > 0.0),
            ("k_sat", self.k_sat, self.k_sat >= 0.0),
            ("dw_sat", self.dw_sat, self.dw_sat >= 0.0),
            (
                "wilting",
                self.wilting,
                self.wilting >= 0.0 && self.wilting < self.porosity,
            ),
            (
                "reference",
                self.reference,
                self.reference > self.wilting && self.reference <= self.porosity,
            ),
            ("dry", self.dry, self.dry >= 0.0 && self.dry < self.porosity),
        ];
        for (name, value, ok) in checks {
            if !value.is_finite() || !ok {
                return Err(Error::Parameter {
                    name: format!("{what}.{name}"),
                    message: format!("value {value} is outside its physical range"),
                });
            }
        }
        Ok(())
    }

    /// Clapp & Hornberger (1978) matric potential magnitude |psi| (m) at a
    /// volumetric water content `theta` (m3 m-3): psi_sat * (theta/porosity)^-b.
    pub fn matric_potential(&self, theta: f64) -> f64 {
        self.psi_sat * (theta / self.porosity).powf(-self.b)
    }

    /// Inverse of [`Self::matric_potential`]: the water content (m3 m-3) at
    /// which the matric potential magnitude equals `psi` (m).
    pub fn theta_at_potential(&self, psi: f64) -> f64 {
        self.porosity * (psi / self.psi_sat).powf(-1.0 / self.b)
    }
}

/// How soil ice reduces the hydraulic diffusivity and conductivity (the
/// frozen-soil permeability option of Noah-Tibet, `OPT_INF`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IceImpedance {
    /// Noah LSM 3.4.1 (`OPT_INF = 1`): diffusivity and conductivity from the
    /// liquid water content; the diffusivity is blended towards its value at
    /// 0.05 m3 m-3 as the column's largest ice content grows (WDFCND, Koren et
    /// al. 1999), and infiltration is cut by the Schaake/Koren frozen-ground
    /// factor (FRZK).
    Noah,
    /// Niu & Yang (2006): functions of the total (liquid + ice) water content
    /// times (1 - F_imp), the impermeable fraction
    /// F_imp = (exp(-a (1 - ice/porosity)) - exp(-a)) / (1 - exp(-a)), a = 4
    /// as in Noah-MP.
    #[default]
    NiuYang2006,
    /// The scheme in the released Noah-Tibet code (`OPT_INF = 2`, routine
    /// WDFCND_NY06): functions of the total water content times
    /// 10^(-E * ice), with E = 1.25 (X - 3)^2 + 6 evaluated with X = SATDW for
    /// the diffusivity and X = SATDK for the conductivity (both near zero in SI,
    /// so E is close to 17.25).
    NoahTibet,
}

impl IceImpedance {
    /// Parses a scheme name as used in model and experiment files: `"noah"`,
    /// `"niu06"` or `"noahtibet"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "noah" | "koren99" => Ok(Self::Noah),
            "niu06" | "niuyang2006" | "ny06" => Ok(Self::NiuYang2006),
            "noahtibet" | "noah-tibet" => Ok(Self::NoahTibet),
            other => Err(Error::Parameter {
                name: "ice_impedance".into(),
                message: format!(
                    "unknown scheme `{other}` (expected \"noah\", \"niu06\" or \"noahtibet\")"
                ),
            }),
        }
    }

    /// The name [`Self::from_name`] accepts for this scheme.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Noah => "noah",
            Self::NiuYang2006 => "niu06",
            Self::NoahTibet => "noahtibet",
        }
    }
}

/// Shape parameter a of the Niu & Yang (2006) impermeable fraction (Noah-MP's
/// value, A = 4).
pub const NIU_YANG_A: f64 = 4.0;

/// Niu & Yang (2006, eq. 4) impermeable fraction of a frozen soil layer,
/// dimensionless in [0, 1): (exp(-a (1 - f_ice)) - exp(-a)) / (1 - exp(-a)),
/// with f_ice = min(1, ice / porosity) and `a` the shape parameter.
pub fn impermeable_fraction(ice: f64, porosity: f64, a: f64) -> f64 {
    let f_ice = (ice / porosity).clamp(0.0, 1.0);
    let e_a = if a == NIU_YANG_A {
        EXP_NEG_NIU_YANG_A
    } else {
        (-a).exp()
    };
    ((-a * (1.0 - f_ice)).exp() - e_a).max(0.0) / (1.0 - e_a)
}

/// exp(-NIU_YANG_A), correctly rounded.
const EXP_NEG_NIU_YANG_A: f64 = 0.018_315_638_888_734_18;

/// Noah LSM 3.4.1 WDFCND: soil water diffusivity (m2 s-1) and hydraulic
/// conductivity (m s-1) of a layer with liquid content `liquid` (m3 m-3) when
/// the largest ice content anywhere in the column is `ice_max` (m3 m-3).
///
/// D = SATDW (theta/porosity)^(b+2), blended with weight
/// 1 / (1 + (500 ice_max)^3) against SATDW (min(0.05, theta)/porosity)^(b+2);
/// K = SATDK (theta/porosity)^(2b+3) (Cosby et al. 1984; Koren et al. 1999).
pub fn wdfcnd_noah(liquid: f64, ice_max: f64, soil: &SoilHydraulics) -> (f64, f64) {
    let factr2 = liquid / soil.porosity;
    let (pd, pk) = cosby_powers(factr2, soil.b);
    let mut wdf = soil.dw_sat * pd;
    if ice_max > 0.0 {
        let factr1 = (0.05 / soil.porosity).min(factr2);
        let vkwgt = 1.0 / (1.0 + (500.0 * ice_max).powi(3));
        wdf = vkwgt * wdf + (1.0 - vkwgt) * soil.dw_sat * factr1.powf(soil.b + 2.0);
    }
    (wdf, soil.k_sat * pk)
}

/// (r^(b+2), r^(2b+3)) from a single power evaluation, r >= 0.
#[inline]
fn cosby_powers(r: f64, b: f64) -> (f64, f64) {
    cosby_powers_with::<false>(r, b + 1.0, None)
}

/// [`cosby_powers`] from r^`b1` with `b1` = b + 1, taken from `table` when it
/// is one of exponent `b1` (known to be with `MATCHED`).
#[inline]
fn cosby_powers_with<const MATCHED: bool>(
    r: f64,
    b1: f64,
    table: Option<&PowerTable>,
) -> (f64, f64) {
    if r <= 0.0 {
        return (0.0, 0.0);
    }
    let p = match table {
        Some(t) if MATCHED || t.exponent().to_bits() == b1.to_bits() => t.pow(r),
        _ => crate::physics::thermal::pow_pos(r, b1),
    };
    (p * r, p * p * r)
}

/// Niu & Yang (2006) frozen-soil hydraulics as in Noah-MP: diffusivity
/// (m2 s-1) and conductivity (m s-1) from the total water content
/// (liquid + ice, m3 m-3, floored at 1 % of porosity) reduced by
/// (1 - F_imp) of [`impermeable_fraction`].
pub fn wdfcnd_niu_yang(liquid: f64, ice: f64, soil: &SoilHydraulics) -> (f64, f64) {
    let factr = ((liquid + ice) / soil.porosity).max(0.01);
    let open = if ice > 0.0 {
        1.0 - impermeable_fraction(ice, soil.porosity, NIU_YANG_A)
    } else {
        1.0
    };
    let (pd, pk) = cosby_powers(factr, soil.b);
    (open * soil.dw_sat * pd, open * soil.k_sat * pk)
}

/// The released Noah-Tibet frozen-soil hydraulics (routine WDFCND_NY06 of
/// Wu et al. 2018's code): diffusivity (m2 s-1) and conductivity (m s-1)
/// from the total water content (liquid + ice, m3 m-3, floored at 1 % of
/// porosity), each multiplied by 10^(-E ice) with E = 1.25 (X - 3)^2 + 6,
/// X = SATDW for the diffusivity and X = SATDK for the conductivity.
pub fn wdfcnd_noah_tibet(liquid: f64, ice: f64, soil: &SoilHydraulics) -> (f64, f64) {
    let factr = ((liquid + ice) / soil.porosity).max(0.01);
    let (pd, pk) = cosby_powers(factr, soil.b);
    let (mut wdf, mut wcnd) = (soil.dw_sat * pd, soil.k_sat * pk);
    if ice != 0.0 {
        let e_d = 1.25 * (soil.dw_sat - 3.0).powi(2) + 6.0;
        let e_k = 1.25 * (soil.k_sat - 3.0).powi(2) + 6.0;
        wdf *= (-e_d * ice * std::f64::consts::LN_10).exp();
        wcnd *= (-e_k * ice * std::f64::consts::LN_10).exp();
    }
    (wdf, wcnd)
}

/// Diffusivity (m2 s-1) and conductivity (m s-1) of a layer under the chosen
/// ice-impedance scheme: `liquid` and `ice` of the layer, `ice_max` the largest
/// ice content of the column (used by [`IceImpedance::Noah`] only), all m3 m-3.
pub fn hydraulic_properties(
    scheme: IceImpedance,
    liquid: f64,
    ice: f64,
    ice_max: f64,
    soil: &SoilHydraulics,
) -> (f64, f64) {
    match scheme {
        IceImpedance::Noah => wdfcnd_noah(liquid, ice_max, soil),
        IceImpedance::NiuYang2006 => wdfcnd_niu_yang(liquid, ice, soil),
        IceImpedance::NoahTibet => wdfcnd_noah_tibet(liquid, ice, soil),
    }
}

/// Derivative of the hydraulic conductivity with respect to the liquid water
/// content, dK/d(theta_liquid) (m s-1 per m3 m-3), at fixed ice, for the chosen
/// scheme: (2b + 3) K / theta with theta the water content the conductivity
/// is computed from (liquid for [`IceImpedance::Noah`], liquid + ice
/// otherwise); zero where the content is at the schemes' lower floor.
pub fn conductivity_derivative(
    scheme: IceImpedance,
    liquid: f64,
    ice: f64,
    conductivity: f64,
    soil: &SoilHydraulics,
) -> f64 {
    let theta = match scheme {
        IceImpedance::Noah => liquid,
        IceImpedance::NiuYang2006 | IceImpedance::NoahTibet => {
            if (liquid + ice) / soil.porosity <= 0.01 {
                return 0.0;
            }
            liquid + ice
        }
    };
    if theta <= 0.0 {
        0.0
    } else {
        (2.0 * soil.b + 3.0) * conductivity / theta
    }
}

/// Noah LSM 3.4.1 FAC2MIT: the largest relative liquid saturation of the
/// column above which SMFLX switches to the two-pass (averaged-coefficient)
/// time scheme, a function of the top layer's porosity (m3 m-3). The table
/// values are matched to 5e-4.
pub fn fac2_limit(porosity: f64) -> f64 {
    let is = |v: f64| (porosity - v).abs() < 5e-4;
    if is(0.395) {
        0.59
    } else if is(0.434) || is(0.404) {
        0.85
    } else if is(0.465) || is(0.406) {
        0.86
    } else if is(0.476) || is(0.439) {
        0.74
    } else if is(0.200) || is(0.464) {
        0.80
    } else {
        0.90
    }
}

/// Direct evaporation from the top soil layer, Noah LSM 3.4.1 DEVAP (Ek et al.
/// 2003, eq. 2): E_dir = (1 - green_fraction) * f * E_p with
/// f = clamp(((theta - dry)/(porosity - dry))^fxexp, 0, 1).
///
/// `potential` is the potential evaporation E_p (kg m-2 s-1, > 0 upward),
/// `theta` the top layer's total water content (m3 m-3, as Noah 3.4.1 passes
/// SMC), `green_fraction` the green vegetation fraction (SHDFAC), `fxexp` the
/// GENPARM exponent (FXEXP, 2.0). Returns kg m-2 s-1; zero when the potential
/// is not positive (dew is handled by the caller as Noah does).
pub fn direct_evaporation(
    potential: f64,
    theta: f64,
    soil: &SoilHydraulics,
    green_fraction: f64,
    fxexp: f64,
) -> f64 {
    if potential <= 0.0 {
        return 0.0;
    }
    let sratio = (theta - soil.dry) / (soil.porosity - soil.dry);
    let fx = if sratio > 0.0 {
        sratio.powf(fxexp).clamp(0.0, 1.0)
    } else {
        0.0
    };
    fx * (1.0 - green_fraction) * potential
}

/// Global settings of the soil-water solver (GENPARM values and options).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RichardsConfig {
    /// Linear-reservoir coefficient of gravity drainage through the column
    /// bottom (GENPARM SLOPE_DATA of the slope class), dimensionless in [0, 1];
    /// 1 is free drainage, 0 an impermeable bottom.
    pub drainage_slope: f64,
    /// Surface-runoff parameter REFKDT of the Schaake et al. (1996)
    /// infiltration scheme (GENPARM, 3.0), dimensionless.
    pub refkdt: f64,
    /// Reference saturated conductivity REFDK of the Schaake scheme (GENPARM,
    /// 2.0e-6 m s-1).
    pub refdk: f64,
    /// Frozen-ground infiltration parameter FRZK (GENPARM, 0.15 m) of Koren et
    /// al. (1999); used by [`IceImpedance::Noah`] only.
    pub frzk: f64,
    /// Frozen-soil permeability scheme.
    pub ice_impedance: IceImpedance,
    /// Smallest total water content a layer may keep, m3 m-3 (Noah: 0.02).
    pub min_water: f64,
    /// Time treatment of the gravity (conductivity) term.
    pub gravity: GravityScheme,
}

/// Time treatment of the gravity flux K(theta) in the soil-water step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GravityScheme {
    /// Noah SRT: K at the start of the step (or at the two-pass mean state);
    /// only the diffusion term is implicit. Stable for steps below about
    /// dz / (dK/dtheta) per layer: minutes for gravel, hours to days for loam.
    #[default]
    Explicit,
    /// The gravity flux linearised around the start of the step,
    /// K + dK/dtheta * d(theta), and solved with the diffusion term (a
    /// Newton-linearised backward-Euler step). Removes the explicit step limit
    /// of highly permeable layers; identical steady states and conservation.
    Implicit,
}

impl GravityScheme {
    /// Parses `"explicit"` (Noah) or `"implicit"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "explicit" | "noah" => Ok(Self::Explicit),
            "implicit" | "linearised" | "linearized" => Ok(Self::Implicit),
            other => Err(Error::Parameter {
                name: "gravity".into(),
                message: format!(
                    "unknown scheme `{other}` (expected \"explicit\" or \"implicit\")"
                ),
            }),
        }
    }
}

impl Default for RichardsConfig {
    /// GENPARM.TBL defaults of Noah-Tibet with slope class 1 (SLOPE = 0.1) and
    /// the Niu & Yang (2006) ice impedance.
    fn default() -> Self {
        Self {
            drainage_slope: 0.1,
            refkdt: 3.0,
            refdk: 2.0e-6,
            frzk: 0.15,
            ice_impedance: IceImpedance::NiuYang2006,
            min_water: 0.02,
            gravity: GravityScheme::Explicit,
        }
    }
}

/// Inputs of one soil-water step. Per-layer slices are ordered top down and
/// must all have the same length (at least 2 layers).
#[derive(Clone, Copy, Debug)]
pub struct RichardsInput<'a> {
    /// Layer thicknesses, m.
    pub dz: &'a [f64],
    /// Hydraulic parameters of each layer.
    pub soil: &'a [SoilHydraulics],
    /// Liquid water content at the start of the step, m3 m-3 (SH2O).
    pub liquid: &'a [f64],
    /// Ice content, m3 m-3 (SMC - SH2O); constant during the step.
    pub ice: &'a [f64],
    /// Water reaching the soil surface (rain and snowmelt after canopy
    /// interception, plus dew; Noah's PCPDRP), kg m-2 s-1, >= 0.
    pub water_input: f64,
    /// Direct soil evaporation from the top layer (EDIR), kg m-2 s-1.
    pub evaporation: f64,
    /// Transpiration drawn from each layer (ET), kg m-2 s-1.
    pub transpiration: &'a [f64],
    /// Time step, s.
    pub dt: f64,
    /// Tabulated r^(b+1) per layer (exponent b + 1 of the layer's soil; see
    /// [`hydraulic_power_table`]) for the diffusivity and conductivity;
    /// `None` evaluates the powers exactly.
    pub powers: Option<&'a [Arc<PowerTable>]>,
}

/// The table of r^(b+1) for relative saturations r in [0.01, 1) that
/// [`RichardsInput::powers`] takes for a soil of Clapp-Hornberger exponent
/// `b`: relative error below 3e-7 for b <= 12 (see [`PowerTable`]).
pub fn hydraulic_power_table(b: f64) -> PowerTable {
    PowerTable::new(b + 1.0, 0.008, 0.9999)
}

/// Fluxes of one soil-water step, all kg m-2 s-1 averaged over the step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RichardsFluxes {
    /// Water that entered the top layer (water_input - surface_runoff).
    pub infiltration: f64,
    /// Infiltration excess that ran off the surface (Noah RUNOFF1).
    pub surface_runoff: f64,
    /// Gravity drainage through the column bottom, SLOPE * K(bottom layer)
    /// (Noah RUNOFF2).
    pub drainage: f64,
    /// Water above porosity pushed out of the bottom layer (Noah RUNOFF3).
    pub excess: f64,
    /// Water added to keep the bottom layer at the minimum content after the
    /// layers above were refilled from it (normally zero; Noah creates this
    /// water silently).
    pub floor_source: f64,
    /// Whether the two-pass averaged-coefficient scheme was used.
    pub two_pass: bool,
}

impl RichardsFluxes {
    /// Net water gain of the column over the step implied by the fluxes,
    /// kg m-2, given the sinks of the step.
    pub fn net_gain(&self, evaporation: f64, transpiration: &[f64], dt: f64) -> f64 {
        (self.infiltration
            - evaporation
            - transpiration.iter().sum::<f64>()
            - self.drainage
            - self.excess
            + self.floor_source)
            * dt
    }
}

/// Result of [`richards_step`]: the new liquid contents and the fluxes.
#[derive(Clone, Debug, PartialEq)]
pub struct RichardsOutput {
    /// Liquid water content at the end of the step, m3 m-3.
    pub liquid: Vec<f64>,
    /// Fluxes of the step.
    pub fluxes: RichardsFluxes,
}

/// Scratch space for [`richards_step_into`], reusable across steps and columns
/// to avoid allocation. Besides scratch it keeps values derived from the
/// inputs of the last step (reciprocal thicknesses, the constants of each
/// layer's soil, ice factors), each stored with the exact inputs it was
/// computed from and recomputed when they differ.
#[derive(Clone, Debug, Default)]
pub struct RichardsWork {
    /// Per-layer values of the step.
    layers: Vec<Layer>,
    /// Forward-sweep coefficients of the tridiagonal solution (Thomas
    /// algorithm) per layer: the eliminated super-diagonal, negated, and the
    /// right-hand side.
    sweep: Vec<[f64; 2]>,
    /// Whether the geometry of `layers` is that of thicknesses with the bits
    /// `Layer::dz_bits`.
    geom_valid: bool,
    /// Whether the soil constants of `layers` are those of the soils with
    /// the bits `Layer::soil_key` and of the two-pass limit `fac2`.
    soil_valid: bool,
    /// [`fac2_limit`] of the top layer's porosity, whose bits are `fac2_key`.
    fac2: f64,
    fac2_key: u64,
    /// The scheme the ice factors of `layers` were computed for.
    imp_scheme: Option<IceImpedance>,
    first_guess: Vec<f64>,
    coef_state: Vec<f64>,
}

/// Values of one layer that stay fixed during a step.
#[derive(Clone, Copy, Debug, Default)]
struct Layer {
    /// 1 / dz (m-1).
    inv_dz: f64,
    /// 1 / (distance between the nodes of this layer and the one below)
    /// (m-1); zero for the bottom layer.
    ddz: f64,
    /// Ice-impedance factor times SATDW (m2 s-1) and times SATDK (m s-1);
    /// Niu & Yang and Noah-Tibet schemes (ice does not change in a step).
    dsat: f64,
    ksat: f64,
    /// Constants of the layer's soil (see [`SoilConstants`]).
    soil: SoilConstants,
    /// Bits of the thickness the geometry was computed from.
    dz_bits: u64,
    /// Bits of the ice content that `dsat` and `ksat` were computed from.
    ice_bits: u64,
    /// Bits of (porosity, b, SATDK, SATDW) that `soil` was computed from.
    soil_key: [u64; 4],
}

/// Functions of a layer's soil parameters (and of the top layer's two-pass
/// limit) used on every step, evaluated by the expressions of the step
/// itself so that the cached values have the same bits.
#[derive(Clone, Copy, Debug, Default)]
struct SoilConstants {
    /// Exponent b + 1 of the power r^(b+1) the hydraulic functions derive
    /// from (that of the layer's power table).
    b1: f64,
    /// Exponent 2b + 3 of the conductivity, the factor of dK/dtheta = (2b+3) K / theta.
    c23: f64,
    /// Liquid content above which the layer sends the step through the
    /// two-pass scheme: [`fac2_limit`] of the top layer times porosity (m3 m-3).
    wet: f64,
    /// Largest ice content the state check accepts: porosity + 1e-12 (m3 m-3).
    ice_cap: f64,
    /// Noah scheme: relative saturation 0.05 / porosity below which the
    /// blended diffusivity uses the layer's own value.
    low_r: f64,
    /// Noah scheme: diffusivity at 0.05 m3 m-3 (m2 s-1).
    dlow: f64,
    /// Noah-Tibet scheme: -E of the diffusivity and of the conductivity,
    /// E = 1.25 (X - 3)^2 + 6 with X = SATDW and X = SATDK, and E_k - E_d.
    neg_ed: f64,
    neg_ek: f64,
    de: f64,
}

impl SoilConstants {
    fn new(s: &SoilHydraulics, limit: f64) -> Self {
        let e_d = 1.25 * (s.dw_sat - 3.0).powi(2) + 6.0;
        let e_k = 1.25 * (s.k_sat - 3.0).powi(2) + 6.0;
        Self {
            b1: s.b + 1.0,
            c23: 2.0 * s.b + 3.0,
            wet: limit * s.porosity,
            ice_cap: s.porosity + 1e-12,
            low_r: 0.05 / s.porosity,
            dlow: s.dw_sat * (0.05 / s.porosity).powf(s.b + 2.0),
            neg_ed: -e_d,
            neg_ek: -e_k,
            de: e_k - e_d,
        }
    }
}

/// The bits (porosity, b, SATDK, SATDW) that [`SoilConstants`] derive from,
/// in the order of the fields of [`SoilHydraulics`].
#[inline(always)]
fn soil_key(s: &SoilHydraulics) -> [u64; 4] {
    [
        s.porosity.to_bits(),
        s.b.to_bits(),
        s.k_sat.to_bits(),
        s.dw_sat.to_bits(),
    ]
}

impl RichardsWork {
    /// Size every buffer to `n` layers. Each step writes every scratch entry
    /// before reading it, so buffers of the right length are left as they
    /// are; a new length invalidates the derived values.
    fn resize(&mut self, n: usize) {
        if self.layers.len() == n {
            return;
        }
        self.layers.clear();
        self.layers.resize(n, Layer::default());
        self.sweep.clear();
        self.sweep.resize(n, [0.0; 2]);
        for v in [&mut self.first_guess, &mut self.coef_state] {
            v.clear();
            v.resize(n, 0.0);
        }
        self.imp_scheme = None;
        self.geom_valid = false;
        self.soil_valid = false;
    }

    /// Recompute the reciprocal thicknesses and node distances from `dz`.
    fn update_geometry(&mut self, dz: &[f64]) {
        let n = dz.len();
        for (k, l) in self.layers[..n].iter_mut().enumerate() {
            l.dz_bits = dz[k].to_bits();
            l.inv_dz = 1.0 / dz[k];
            l.ddz = if k + 1 < n {
                1.0 / (0.5 * (dz[k] + dz[k + 1]))
            } else {
                0.0
            };
        }
        self.geom_valid = true;
    }
}

/// Noah LSM 3.4.1 soil-water step (SMFLX with SRT and SSTEP): implicit
/// (backward-Euler in the liquid content, coefficients lagged) solution of the
/// one-dimensional Richards equation in its diffusivity form
/// d(theta)/dt = d/dz (D d(theta)/dz + K) - sinks,
/// with Schaake et al. (1996) infiltration and surface runoff, gravity
/// drainage SLOPE * K at the bottom, and ice impedance per
/// [`RichardsConfig::ice_impedance`].
///
/// As in Noah, when the step's water input exceeds a tenth of the top layer's
/// pore volume or the column's largest relative saturation exceeds
/// [`fac2_limit`], the step is solved twice (Kalnay & Kanamitsu 1988 scheme F):
/// the coefficients of the second pass are evaluated at the mean of the old
/// state and the first-pass solution. Interface conductivity and diffusivity
/// are those of the upper layer, as in Noah.
///
/// Allocating convenience wrapper of [`richards_step_into`].
pub fn richards_step(input: &RichardsInput, cfg: &RichardsConfig) -> Result<RichardsOutput> {
    let mut liquid = vec![0.0; input.liquid.len()];
    let mut work = RichardsWork::default();
    let fluxes = richards_step_into(input, cfg, &mut liquid, &mut work)?;
    Ok(RichardsOutput { liquid, fluxes })
}

/// [`richards_step`] writing the new liquid contents into `liquid_out` (same
/// length as the layers) and using `work` as scratch space.
pub fn richards_step_into(
    input: &RichardsInput,
    cfg: &RichardsConfig,
    liquid_out: &mut [f64],
    work: &mut RichardsWork,
) -> Result<RichardsFluxes> {
    check_scalars(input, cfg, liquid_out.len())?;
    check_layers(input, true)?;
    step_validated(input, cfg, liquid_out, work)
}

/// [`richards_step_into`] for a caller that has validated the layer
/// thicknesses and soil parameters of `input` once (e.g. a column model at
/// construction): the settings, state, forcing and lengths are still
/// checked on every call.
pub(crate) fn richards_step_into_trusted(
    input: &RichardsInput,
    cfg: &RichardsConfig,
    liquid_out: &mut [f64],
    work: &mut RichardsWork,
) -> Result<RichardsFluxes> {
    check_scalars(input, cfg, liquid_out.len())?;
    step_validated(input, cfg, liquid_out, work)
}

/// The step after [`check_scalars`] (and, for untrusted thicknesses and soil
/// parameters, [`check_layers`]): the state is checked here, together with
/// the per-step preparation.
fn step_validated(
    input: &RichardsInput,
    cfg: &RichardsConfig,
    liquid_out: &mut [f64],
    work: &mut RichardsWork,
) -> Result<RichardsFluxes> {
    let n = input.dz.len();
    work.resize(n);
    let c = prepare(input, cfg, work);
    if !c.state_ok {
        // Only a failure goes through the loop that names the offending layer.
        check_layers(input, false)?;
    }
    let water_input = input.water_input / RHO_WATER; // m s-1
    let top = &input.soil[0];
    let two_pass = water_input * input.dt > 0.1 * input.dz[0] * top.porosity || c.saturated;

    let RichardsWork {
        layers,
        sweep,
        first_guess,
        coef_state,
        ..
    } = work;
    let (layers, sweep) = (&layers[..n], &mut sweep[..n]);
    // The scheme and the gravity treatment select a specialised pass.
    let total = cfg.ice_impedance != IceImpedance::Noah;
    let implicit = cfg.gravity == GravityScheme::Implicit;
    let pass = |coef: &[f64], sweep: &mut [[f64; 2]], inc: &mut [f64]| {
        macro_rules! go {
            ($t:literal, $i:literal, $m:literal) => {
                pass::<$t, $i, $m>(input, cfg, &c, layers, coef, sweep, inc)
            };
        }
        match (total, implicit, c.tables_matched) {
            (false, false, false) => go!(false, false, false),
            (false, false, true) => go!(false, false, true),
            (false, true, false) => go!(false, true, false),
            (false, true, true) => go!(false, true, true),
            (true, false, false) => go!(true, false, false),
            (true, false, true) => go!(true, false, true),
            (true, true, false) => go!(true, true, false),
            (true, true, true) => go!(true, true, true),
        }
    };
    let liquid_out = &mut liquid_out[..n];
    let (mut fluxes, drain_slope) = if two_pass {
        let first_guess = &mut first_guess[..n];
        pass(input.liquid, sweep, first_guess)?;
        redistribute(input, cfg, layers, first_guess);
        for ((c, l), f) in coef_state.iter_mut().zip(input.liquid).zip(&*first_guess) {
            *c = 0.5 * (l + f);
        }
        pass(coef_state.as_slice(), sweep, liquid_out)?
    } else {
        pass(input.liquid, sweep, liquid_out)?
    };
    // `liquid_out` holds the increments until they are applied here.
    let bottom_increment = liquid_out[n - 1];
    let (excess, floor) = redistribute(input, cfg, layers, liquid_out);
    if implicit {
        // Linearised drainage K(theta + d theta) = K + dK/dtheta d theta.
        fluxes.drainage += drain_slope * bottom_increment * RHO_WATER;
    }
    fluxes.excess = excess * RHO_WATER / input.dt;
    fluxes.floor_source = floor * RHO_WATER / input.dt;
    fluxes.two_pass = two_pass;
    Ok(fluxes)
}

/// Check the layer count and lengths, the time step, forcing and settings:
/// one branch-free test, and the detailed checks that name the offending
/// value only when it fails.
fn check_scalars(input: &RichardsInput, cfg: &RichardsConfig, out_len: usize) -> Result<()> {
    let n = input.dz.len();
    let fine = (n >= 2)
        & (input.soil.len() == n)
        & (input.liquid.len() == n)
        & (input.ice.len() == n)
        & (input.transpiration.len() == n)
        & (out_len == n)
        & (input.dt > 0.0)
        & (input.dt < f64::INFINITY)
        & (input.water_input >= 0.0)
        & (input.water_input < f64::INFINITY)
        & (input.evaporation.abs() < f64::INFINITY)
        & (cfg.drainage_slope >= 0.0)
        & (cfg.drainage_slope <= 1.0)
        & (cfg.refdk > 0.0)
        & (cfg.refkdt >= 0.0)
        & (cfg.frzk >= 0.0)
        & (cfg.min_water >= 0.0);
    if fine {
        return Ok(());
    }
    let bad = |name: &str, message: String| Error::Parameter {
        name: format!("richards.{name}"),
        message,
    };
    if n < 2 {
        return Err(bad("dz", format!("need at least 2 layers, got {n}")));
    }
    for (name, len) in [
        ("soil", input.soil.len()),
        ("liquid", input.liquid.len()),
        ("ice", input.ice.len()),
        ("transpiration", input.transpiration.len()),
        ("liquid_out", out_len),
    ] {
        if len != n {
            return Err(bad(name, format!("has {len} layers, dz has {n}")));
        }
    }
    if !(input.dt.is_finite() && input.dt > 0.0) {
        return Err(bad(
            "dt",
            format!("time step {} s is not positive", input.dt),
        ));
    }
    if !(input.water_input.is_finite() && input.water_input >= 0.0) {
        return Err(bad(
            "water_input",
            format!("{} kg m-2 s-1 is negative or not finite", input.water_input),
        ));
    }
    if !input.evaporation.is_finite() {
        return Err(bad("evaporation", "not finite".into()));
    }
    if !(cfg.drainage_slope.is_finite() && (0.0..=1.0).contains(&cfg.drainage_slope)) {
        return Err(bad(
            "drainage_slope",
            format!("{} is outside [0, 1]", cfg.drainage_slope),
        ));
    }
    if !(cfg.refdk > 0.0 && cfg.refkdt >= 0.0 && cfg.frzk >= 0.0 && cfg.min_water >= 0.0) {
        return Err(bad(
            "config",
            "refdk must be positive; refkdt, frzk and min_water non-negative".into(),
        ));
    }
    Ok(())
}

/// Check each layer's state (and, with `params`, its thickness and soil
/// parameters, which do not change between a model's steps); the error
/// names the first offending layer. Lengths are checked by [`check_scalars`].
fn check_layers(input: &RichardsInput, params: bool) -> Result<()> {
    let bad = |name: &str, message: String| Error::Parameter {
        name: format!("richards.{name}"),
        message,
    };
    for k in 0..input.dz.len() {
        let s = &input.soil[k];
        if params && !(input.dz[k].is_finite() && input.dz[k] > 0.0) {
            return Err(bad(
                &format!("dz[{k}]"),
                format!("thickness {} m", input.dz[k]),
            ));
        }
        if params && !(s.porosity > 0.0 && s.b > 0.0 && s.k_sat >= 0.0 && s.dw_sat >= 0.0) {
            return Err(bad(
                &format!("soil[{k}]"),
                "porosity and b must be positive, k_sat and dw_sat non-negative".into(),
            ));
        }
        let (l, i) = (input.liquid[k], input.ice[k]);
        // Round-off from the freeze-curve split is tolerated.
        if !(l.is_finite() && l >= -1e-12) {
            return Err(bad(&format!("liquid[{k}]"), format!("{l} m3 m-3")));
        }
        if !(i.is_finite() && i >= -1e-12 && i <= s.porosity + 1e-12) {
            return Err(bad(
                &format!("ice[{k}]"),
                format!("{i} m3 m-3 outside [0, porosity {}]", s.porosity),
            ));
        }
        if !input.transpiration[k].is_finite() {
            return Err(bad(&format!("transpiration[{k}]"), "not finite".into()));
        }
    }
    Ok(())
}

/// What [`prepare`] found about the step's state, and the step's constants
/// of the hydraulic functions.
#[derive(Clone, Copy, Debug)]
struct StepState {
    /// Every layer passes the state checks of [`check_layers`] (false may
    /// also mean only that the sum of the state overflowed; the detailed
    /// checks then decide).
    state_ok: bool,
    /// Some layer's relative liquid saturation exceeds [`fac2_limit`].
    saturated: bool,
    /// The largest ice content of the column, m3 m-3.
    ice_max: f64,
    /// Noah scheme: the diffusivity's ice blending weight
    /// 1 / (1 + (500 ice_max)^3).
    vkwgt: f64,
    /// Every layer has a power table ([`RichardsInput::powers`]) of its
    /// exponent b + 1.
    tables_matched: bool,
}

/// The per-step work before the solution: the soil constants and the ice
/// factors of the hydraulic functions, which stay fixed during a step
/// (recomputed only for layers whose soil or ice differ from the last
/// step's), the state checks (without branches), the two-pass saturation
/// test, the column's largest ice content and the geometry of `dz`
/// (recomputed when the thicknesses differ from the last step's).
fn prepare(input: &RichardsInput, cfg: &RichardsConfig, w: &mut RichardsWork) -> StepState {
    let n = input.dz.len();
    let (dz, soil, liquid, ice, et) = (
        &input.dz[..n],
        &input.soil[..n],
        &input.liquid[..n],
        &input.ice[..n],
        &input.transpiration[..n],
    );
    let scheme = cfg.ice_impedance;
    // The two-pass limit enters every layer's constants.
    let top_bits = soil[0].porosity.to_bits();
    if !w.soil_valid || w.fac2_key != top_bits {
        w.fac2 = fac2_limit(soil[0].porosity);
        w.fac2_key = top_bits;
        w.soil_valid = false;
    }
    let valid = Validity {
        limit: w.fac2,
        soil: w.soil_valid,
        ice: w.soil_valid && w.imp_scheme == Some(scheme),
    };
    let layers = &mut w.layers[..n];
    match scheme {
        IceImpedance::Noah => {
            refresh_layers::<false>(layers, soil, ice, valid, |_, _, _| (1.0, 1.0))
        }
        IceImpedance::NiuYang2006 => {
            refresh_layers::<true>(layers, soil, ice, valid, niu_yang_factors)
        }
        IceImpedance::NoahTibet => {
            refresh_layers::<true>(layers, soil, ice, valid, noah_tibet_factors)
        }
    }
    w.soil_valid = true;
    w.imp_scheme = Some(scheme);
    // The state checks of `check_layers` as reductions: the sum of the
    // values is finite when every value is (a sum that overflows only sends
    // the step through the detailed checks), and for finite values a <= b
    // exactly when a - b <= 0 (gradual underflow keeps the sign of a
    // difference).
    let mut value_sum = 0.0;
    let mut liquid_min = f64::INFINITY;
    let mut ice_min = f64::INFINITY;
    let mut ice_over = f64::NEG_INFINITY;
    let mut wet_over = f64::NEG_INFINITY;
    let mut ice_max = 0.0f64;
    let mut geometry_bits = 0u64;
    let layers = &w.layers[..n];
    for k in 0..n {
        let (l, i, e, d, lay) = (liquid[k], ice[k], et[k], dz[k], &layers[k]);
        value_sum += l + i + e;
        liquid_min = if l < liquid_min { l } else { liquid_min };
        ice_min = if i < ice_min { i } else { ice_min };
        let over = i - lay.soil.ice_cap;
        ice_over = if over > ice_over { over } else { ice_over };
        let wet = l - lay.soil.wet;
        wet_over = if wet > wet_over { wet } else { wet_over };
        // The largest ice content; NaN is left to the state check.
        ice_max = if i > ice_max { i } else { ice_max };
        geometry_bits |= d.to_bits() ^ lay.dz_bits;
    }
    let state_ok =
        value_sum.is_finite() && liquid_min >= -1e-12 && ice_min >= -1e-12 && ice_over <= 0.0;
    let saturated = wet_over > 0.0;
    let same_geometry = w.geom_valid && geometry_bits == 0;
    if !same_geometry {
        w.update_geometry(dz);
    }
    let tables_matched = match input.powers {
        Some(p) if p.len() == n => {
            let (p, layers) = (&p[..n], &w.layers[..n]);
            let mut differ = 0u64;
            for k in 0..n {
                differ |= p[k].exponent().to_bits() ^ layers[k].soil.b1.to_bits();
            }
            differ == 0
        }
        _ => false,
    };
    StepState {
        tables_matched,
        state_ok,
        saturated,
        ice_max,
        vkwgt: if scheme == IceImpedance::Noah {
            1.0 / (1.0 + (500.0 * ice_max).powi(3))
        } else {
            0.0
        },
    }
}

/// What the values kept in a [`RichardsWork`] may be reused for.
#[derive(Clone, Copy)]
struct Validity {
    /// The two-pass limit of the step's top layer.
    limit: f64,
    /// The soil constants are those of the limit and of `Layer::soil_key`.
    soil: bool,
    /// The ice factors are those of the scheme of the step and of
    /// `Layer::ice_bits` (and of the soil).
    ice: bool,
}

/// Bring the soil constants of each layer up to date with `soil` (all of
/// them unless `valid.soil`) and, with `IMPEDANCE`, the ice factors with
/// `ice` (all of them unless `valid.ice`), `factors` giving a layer's
/// (diffusivity, conductivity) multipliers.
#[inline(always)]
fn refresh_layers<const IMPEDANCE: bool>(
    layers: &mut [Layer],
    soil: &[SoilHydraulics],
    ice: &[f64],
    valid: Validity,
    factors: impl Fn(&SoilConstants, f64, &SoilHydraulics) -> (f64, f64),
) {
    let n = layers.len();
    let (soil, ice) = (&soil[..n], &ice[..n]);
    for k in 0..n {
        let (lay, s, i) = (&mut layers[k], &soil[k], ice[k]);
        let same_soil = valid.soil & (soil_key(s) == lay.soil_key);
        if !same_soil {
            refresh_soil(lay, s, valid.limit);
        }
        if IMPEDANCE && !(same_soil && valid.ice && lay.ice_bits == i.to_bits()) {
            let (fd, fk) = factors(&lay.soil, i, s);
            lay.dsat = fd * s.dw_sat;
            lay.ksat = fk * s.k_sat;
            lay.ice_bits = i.to_bits();
        }
    }
}

/// Recompute the soil constants of `lay` for `s` and the two-pass `limit`.
#[cold]
#[inline(never)]
fn refresh_soil(lay: &mut Layer, s: &SoilHydraulics, limit: f64) {
    lay.soil = SoilConstants::new(s, limit);
    lay.soil_key = soil_key(s);
}

/// Ice-impedance multipliers (diffusivity, conductivity) of [`wdfcnd_niu_yang`]
/// for ice content `ice` (m3 m-3).
#[inline(always)]
fn niu_yang_factors(_: &SoilConstants, ice: f64, s: &SoilHydraulics) -> (f64, f64) {
    let open = if ice > 0.0 {
        1.0 - impermeable_fraction(ice, s.porosity, NIU_YANG_A)
    } else {
        1.0
    };
    (open, open)
}

/// Ice-impedance multipliers (diffusivity, conductivity) of
/// [`wdfcnd_noah_tibet`] for ice content `ice` (m3 m-3), with the exponents
/// of the layer's soil from `c`.
#[inline(always)]
fn noah_tibet_factors(c: &SoilConstants, ice: f64, _: &SoilHydraulics) -> (f64, f64) {
    if ice != 0.0 {
        let fd = super::detmath::exp(c.neg_ed * ice * std::f64::consts::LN_10);
        // The two exponents differ by terms in SATDW and SATDK (of order
        // 1e-5 in SI): the conductivity's factor is the diffusivity's times
        // exp(-x) for a small x, by its series where that is exact to
        // round-off.
        let x = c.de * ice * std::f64::consts::LN_10;
        let fk = if x.abs() < 1e-3 {
            fd * (1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0 - x / 24.0))))
        } else {
            super::detmath::exp(c.neg_ek * ice * std::f64::consts::LN_10)
        };
        (fd, fk)
    } else {
        (1.0, 1.0)
    }
}

/// Diffusivity (m2 s-1), conductivity (m s-1) and, with the implicit
/// gravity scheme (`IMPLICIT`), dK/d(theta_liquid) (m s-1; else zero) of a
/// layer at liquid content `coef` with ice content `ice` (m3 m-3): the
/// values of [`hydraulic_properties`] and [`conductivity_derivative`], with
/// the step-constant soil constants and ice factors of `lay`. `TOTAL`
/// selects the schemes on the total water content (Niu & Yang, Noah-Tibet)
/// over Noah's; `MATCHED` tells that `table` is the layer's power table
/// and of its exponent b + 1.
#[inline(always)]
fn layer_hydraulics<const TOTAL: bool, const IMPLICIT: bool, const MATCHED: bool>(
    s: &SoilHydraulics,
    lay: &Layer,
    table: Option<&PowerTable>,
    coef: f64,
    ice: f64,
    c: &StepState,
) -> (f64, f64, f64) {
    let sc = &lay.soil;
    if TOTAL {
        let total = coef + ice;
        let rel = total / s.porosity;
        let (pd, pk) = cosby_powers_with::<MATCHED>(rel.max(0.01), sc.b1, table);
        let kk = lay.ksat * pk;
        // Theta is the total content; zero at the 1 % floor.
        let g = if !IMPLICIT || rel <= 0.01 || total <= 0.0 {
            0.0
        } else {
            sc.c23 * kk / total
        };
        (lay.dsat * pd, kk, g)
    } else {
        let r = coef / s.porosity;
        let (pd, pk) = cosby_powers_with::<MATCHED>(r, sc.b1, table);
        let mut d = s.dw_sat * pd;
        if c.ice_max > 0.0 {
            let low = if r < sc.low_r { d } else { sc.dlow };
            d = c.vkwgt * d + (1.0 - c.vkwgt) * low;
        }
        let kk = s.k_sat * pk;
        // Theta is the liquid content.
        let g = if !IMPLICIT || coef <= 0.0 {
            0.0
        } else {
            sc.c23 * kk / coef
        };
        (d, kk, g)
    }
}

/// The forward sweep of the Thomas algorithm as the rows of [`pass`] are
/// built: the state carried from one row to the next, and the checks of the
/// tendency and of the pivots.
///
/// The off-diagonals are carried negated (-a, -c, and -c' of the sweep),
/// the form in which the soil-water matrix has non-negative entries; as
/// negation is exact and x - y is x + (-y) in floating point, every
/// eliminated value has the bits of the elimination on (a, b, c).
struct Sweep {
    /// Flux into the current row from above (m s-1).
    inflow: f64,
    /// D / dz of the face above the current row, the upper row's `coef_below`.
    upper_coef: f64,
    /// dK/dtheta of the row above (implicit gravity).
    upper_g: f64,
    /// -c' and d' of the row above.
    ncp: f64,
    dp: f64,
    /// Sum of the tendencies (non-finite when one is).
    finite: f64,
    /// Pivot checks: m * 0 stays zero while every pivot is finite, and the
    /// smallest |m| is positive while none is zero.
    pivots_nonfinite: f64,
    smallest_pivot: f64,
}

impl Sweep {
    fn new(inflow: f64) -> Self {
        Self {
            inflow,
            upper_coef: 0.0,
            upper_g: 0.0,
            // -c' of the (absent) row above is -0, the negation of c' = 0.
            ncp: -0.0,
            dp: 0.0,
            finite: 0.0,
            pivots_nonfinite: 0.0,
            smallest_pivot: f64::INFINITY,
        }
    }

    /// One row of the implicit soil-water equation, scaled by dt as in
    /// SSTEP, and its elimination: a layer of reciprocal thickness `idz`
    /// losing `outflow` (m s-1) through its lower face of coefficient
    /// `coef_below` (D / dz of the face, zero at the bottom), with gravity
    /// derivative `g` (implicit scheme) and transpiration `et` (kg m-2 s-1).
    /// Returns the row's (-c', d').
    #[inline(always)]
    fn row<const IMPLICIT: bool>(
        &mut self,
        idz: f64,
        outflow: f64,
        coef_below: f64,
        g: f64,
        et: f64,
        dt: f64,
    ) -> [f64; 2] {
        let rhs = (self.inflow - outflow - et / RHO_WATER) * idz;
        self.finite += rhs;
        let mut na = self.upper_coef * idz;
        let nc = coef_below * idz;
        let mut b = (self.upper_coef + coef_below) * idz;
        if IMPLICIT {
            b += g * idz;
            na += self.upper_g * idz;
            self.upper_g = g;
        }
        // SSTEP's scaling by dt, then elimination of the sub-diagonal:
        // m = b - a c'_up, d' = (d - a d'_up) / m, c' = c / m.
        let (na, b, nc, d) = (na * dt, 1.0 + b * dt, nc * dt, rhs * dt);
        let m = b - na * self.ncp;
        self.pivots_nonfinite += m * 0.0;
        let am = m.abs();
        self.smallest_pivot = if am < self.smallest_pivot {
            am
        } else {
            self.smallest_pivot
        };
        let inv = 1.0 / m;
        self.ncp = nc * inv;
        self.dp = (d + na * self.dp) * inv;
        self.inflow = outflow;
        self.upper_coef = coef_below;
        [self.ncp, self.dp]
    }
}

/// One pass of Noah SRT and the solution of SSTEP: the tendency and the
/// matrix of the implicit soil-water equation with infiltration and
/// drainage (gradients from `input.liquid`, coefficients from `coef`),
/// scaled by dt, eliminated row by row as they are built (Thomas algorithm,
/// the sweep's coefficients in `sweep`), and solved for the liquid
/// increments, written to `inc`. Returns the fluxes (infiltration, surface
/// runoff, explicit drainage) and d(drainage)/d(theta_bottom) of the
/// implicit gravity scheme (m s-1). `TOTAL` and `IMPLICIT` as in
/// [`layer_hydraulics`]; `MATCHED` when every layer has its power table
/// ([`StepState::tables_matched`]).
#[inline(never)]
fn pass<const TOTAL: bool, const IMPLICIT: bool, const MATCHED: bool>(
    input: &RichardsInput,
    cfg: &RichardsConfig,
    st: &StepState,
    layers: &[Layer],
    coef: &[f64],
    sweep: &mut [[f64; 2]],
    inc: &mut [f64],
) -> Result<(RichardsFluxes, f64)> {
    let n = input.dz.len();
    let (sh2o, ice, soil, et, coef, layers, sweep, inc) = (
        &input.liquid[..n],
        &input.ice[..n],
        &input.soil[..n],
        &input.transpiration[..n],
        &coef[..n],
        &layers[..n],
        &mut sweep[..n],
        &mut inc[..n],
    );
    let tables = match input.powers {
        Some(p) if p.len() == n => &p[..n],
        _ => &[],
    };
    let dt = input.dt;
    let pcpdrp = input.water_input / RHO_WATER;
    let edir = input.evaporation / RHO_WATER;
    let slope = cfg.drainage_slope;
    #[inline(always)]
    fn at<const TOTAL: bool, const IMPLICIT: bool, const MATCHED: bool>(
        k: usize,
        soil: &[SoilHydraulics],
        layers: &[Layer],
        tables: &[Arc<PowerTable>],
        coef: &[f64],
        ice: &[f64],
        st: &StepState,
    ) -> (f64, f64, f64) {
        let table = if MATCHED {
            Some(&*tables[k])
        } else {
            tables.get(k).map(|t| &**t)
        };
        let (s, lay) = (&soil[k], &layers[k]);
        layer_hydraulics::<TOTAL, IMPLICIT, MATCHED>(s, lay, table, coef[k], ice[k], st)
    }
    let hydraulics =
        |k: usize| at::<TOTAL, IMPLICIT, MATCHED>(k, soil, layers, tables, coef, ice, st);

    // The flux down through the face below layer k is wdf_k dsmdz_k + wcnd_k
    // (coefficients of the upper layer, as in Noah); through the column
    // bottom it is SLOPE wcnd. Layer k gains the flux from above less the
    // flux below and its transpiration. With the implicit gravity scheme
    // the flux below layer k gains dK_k/dtheta * d(theta_k). Each layer's
    // hydraulic functions are evaluated one row ahead.
    let (mut wdf, mut wcnd, mut dkdt) = hydraulics(0);
    let (mut runoff1, mut pddum) = (0.0, pcpdrp);
    if pcpdrp != 0.0 {
        (runoff1, pddum) = infiltration(input, cfg, coef, wcnd);
    }
    let mut sw = Sweep::new(pddum - edir);
    for k in 0..n - 1 {
        let lay = &layers[k];
        let q = wdf * lay.ddz;
        let outflow = q * (sh2o[k] - sh2o[k + 1]) + wcnd;
        sweep[k] = sw.row::<IMPLICIT>(lay.inv_dz, outflow, q, dkdt, et[k], dt);
        (wdf, wcnd, dkdt) = hydraulics(k + 1);
    }
    let drain_slope = if IMPLICIT { slope * dkdt } else { 0.0 };
    let idz = layers[n - 1].inv_dz;
    sweep[n - 1] = sw.row::<IMPLICIT>(idz, slope * wcnd, 0.0, drain_slope, et[n - 1], dt);
    let runoff2 = sw.inflow;
    if !(runoff1 + runoff2 + sw.finite).is_finite() {
        return Err(Error::model(
            None,
            "soil water: non-finite tendency (check hydraulic parameters and state)",
        ));
    }
    if !(sw.pivots_nonfinite == 0.0 && sw.smallest_pivot > 0.0) {
        return Err(Error::model(
            None,
            "soil water: singular tridiagonal system",
        ));
    }
    back_substitute(sweep, inc);
    Ok((
        RichardsFluxes {
            infiltration: pddum * RHO_WATER,
            surface_runoff: runoff1 * RHO_WATER,
            drainage: runoff2 * RHO_WATER,
            excess: 0.0,
            floor_source: 0.0,
            two_pass: false,
        },
        drain_slope,
    ))
}

/// Koren et al. (1999, eq. 24) frozen-ground infiltration factor of Noah SRT:
/// 1 - exp(-A) sum_{j=0}^{CVFRZ-1} A^j / j!, with A = CVFRZ * FRZX / DICE,
/// CVFRZ = 3, FRZX = FRZK (porosity/reference)(0.412/0.468) of the top layer,
/// DICE (m) the column's ice; 1 when DICE <= 0.01 m.
pub fn frozen_infiltration_factor(dice: f64, frzk: f64, top: &SoilHydraulics) -> f64 {
    const CVFRZ: i32 = 3;
    if dice <= 1e-2 {
        return 1.0;
    }
    let frzx = frzk * (top.porosity / top.reference) * (0.412 / 0.468);
    let acrt = f64::from(CVFRZ) * frzx / dice;
    let mut sum = 1.0;
    for j in 1..CVFRZ {
        let mut k = 1.0;
        for jj in (j + 1)..CVFRZ {
            k *= f64::from(jj);
        }
        sum += acrt.powi(CVFRZ - j) / k;
    }
    1.0 - (-acrt).exp() * sum
}

/// Schaake et al. (1996) infiltration of Noah SRT, with the frozen-ground
/// factor of Koren et al. (1999) under [`IceImpedance::Noah`]: (surface
/// runoff, infiltration), m s-1, for the water input of `input` (> 0), the
/// layers' liquid contents `coef` and the top layer's conductivity `wcnd`.
#[inline(never)]
fn infiltration(
    input: &RichardsInput,
    cfg: &RichardsConfig,
    coef: &[f64],
    wcnd: f64,
) -> (f64, f64) {
    let n = input.dz.len();
    let (dz, ice, soil, coef) = (
        &input.dz[..n],
        &input.ice[..n],
        &input.soil[..n],
        &coef[..n],
    );
    let dt = input.dt;
    let pcpdrp = input.water_input / RHO_WATER;
    let dt1 = dt / 86400.0;
    let mut dd = 0.0;
    let mut dice = 0.0;
    for k in 0..n {
        let s = &soil[k];
        // Storage deficit of the layer: its available pore volume
        // (porosity - wilting) times (1 - relative wetness), m.
        let smcav = s.porosity - s.wilting;
        let dmax = dz[k] * smcav * (1.0 - (coef[k] + ice[k] - s.wilting) / smcav);
        dd += dmax;
        dice += dz[k] * ice[k];
    }
    let kdt = cfg.refkdt * soil[0].k_sat / cfg.refdk;
    let val = 1.0 - (-kdt * dt1).exp();
    let ddt = dd * val;
    let px = (pcpdrp * dt).max(0.0);
    let mut infmax = if px + ddt > 0.0 {
        px * (ddt / (px + ddt)) / dt
    } else {
        0.0
    };
    if cfg.ice_impedance == IceImpedance::Noah {
        infmax *= frozen_infiltration_factor(dice, cfg.frzk, &soil[0]);
    }
    infmax = infmax.max(wcnd).min(px / dt);
    if pcpdrp > infmax {
        (pcpdrp - infmax, infmax)
    } else {
        (0.0, pcpdrp)
    }
}

/// Back substitution of the Thomas algorithm from the sweep's (-cp, dp) per
/// row: x_k = dp_k - cp_k x_(k+1) = dp_k + (-cp_k) x_(k+1), x_(n-1) = dp_(n-1).
#[inline]
fn back_substitute(sweep: &[[f64; 2]], x: &mut [f64]) {
    let mut below = 0.0;
    for (i, ([ncp, dp], x)) in sweep.iter().zip(x.iter_mut()).rev().enumerate() {
        below = if i == 0 { *dp } else { dp + ncp * below };
        *x = below;
    }
}

/// The rest of Noah SSTEP: adds the solved increments in `out` to the
/// liquid contents and redistributes water above porosity downward; layers
/// that would fall below the minimum total content are refilled from the
/// layers below. `out` then holds the new liquid contents. Returns (excess
/// leaving the bottom, water added at the bottom), both m per step.
fn redistribute(
    input: &RichardsInput,
    cfg: &RichardsConfig,
    layers: &[Layer],
    out: &mut [f64],
) -> (f64, f64) {
    let mut carry = 0.0; // m of water passed to the next layer (negative: borrowed)
    let n = out.len();
    let (liquid, ice, soil, dz, layers) = (
        &input.liquid[..n],
        &input.ice[..n],
        &input.soil[..n],
        &input.dz[..n],
        &layers[..n],
    );
    for k in 0..n {
        let ice = ice[k];
        let mut liq = liquid[k] + out[k] + carry * layers[k].inv_dz;
        let cap = (soil[k].porosity - ice).max(0.0);
        carry = 0.0;
        if liq > cap {
            carry = (liq - cap) * dz[k];
            liq = cap;
        } else {
            let floor = (cfg.min_water - ice).max(0.0).min(cap);
            if liq < floor {
                carry = (liq - floor) * dz[k];
                liq = floor;
            }
        }
        out[k] = liq;
    }
    if carry >= 0.0 {
        (carry, 0.0)
    } else {
        (0.0, -carry)
    }
}

/// Thomas algorithm for a tridiagonal system with sub-diagonal `a` (a[0]
/// unused), diagonal `b`, super-diagonal `c` (c[n-1] unused) and right-hand
/// side `d`, by the elimination of [`pass`] and [`back_substitute`]; the
/// solution goes to `x`. `sweep` is scratch of length n.
#[cfg(test)]
fn solve_tridiagonal(
    a: &[f64],
    b: &[f64],
    c: &[f64],
    d: &[f64],
    sweep: &mut [[f64; 2]],
    x: &mut [f64],
) -> Result<()> {
    let n = d.len();
    let mut pivots_finite = true;
    let (mut ncp_up, mut dp_up) = (-0.0, 0.0);
    for k in 0..n {
        let a = if k == 0 { 0.0 } else { a[k] };
        let c = if k + 1 == n { 0.0 } else { c[k] };
        let m = b[k] + a * ncp_up;
        pivots_finite &= (m != 0.0) & (m.abs() < f64::INFINITY);
        let inv = 1.0 / m;
        ncp_up = -c * inv;
        dp_up = (d[k] - a * dp_up) * inv;
        sweep[k] = [ncp_up, dp_up];
    }
    if !pivots_finite {
        return Err(Error::model(
            None,
            "soil water: singular tridiagonal system",
        ));
    }
    back_substitute(&sweep[..n], &mut x[..n]);
    Ok(())
}

/// Parameters of the soil and canopy water step that stay fixed during a run.
#[derive(Clone, Copy, Debug)]
pub struct SoilWaterParams<'a> {
    /// Layer thicknesses, m.
    pub dz: &'a [f64],
    /// Hydraulic parameters of each layer.
    pub soil: &'a [SoilHydraulics],
    /// Root fraction of each root layer (from
    /// [`crate::physics::canopy::root_distribution`]), dimensionless.
    pub root_fraction: &'a [f64],
    /// Green vegetation fraction SHDFAC, 0-1.
    pub green_fraction: f64,
    /// Canopy water capacity CMCMAX, kg m-2 (Noah 0.5e-3 m = 0.5 kg m-2).
    pub canopy_capacity: f64,
    /// Canopy water exponent CFACTR (0.5), dimensionless.
    pub cfactr: f64,
    /// Soil evaporation exponent FXEXP (2.0), dimensionless.
    pub fxexp: f64,
    /// Soil-water solver settings.
    pub richards: RichardsConfig,
}

/// Atmospheric drivers of one soil and canopy water step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoilWaterForcing {
    /// Potential evaporation ETP from the Penman equation, kg m-2 s-1
    /// (positive upward; negative values are dew or frost).
    pub potential_evaporation: f64,
    /// Liquid water arriving on top of the canopy: rain that did not join the
    /// snowpack plus snowmelt (Noah PRCP1 of NOPAC/SNOPAC), kg m-2 s-1.
    pub water_input: f64,
    /// Plant coefficient PC from [`crate::physics::canopy::canopy_resistance`]
    /// (0 without green vegetation).
    pub plant_coefficient: f64,
    /// Whether a snowpack is present (Noah's SNOPAC branch): dew then forms
    /// on the snow, and evaporation from soil and canopy is scaled by
    /// 1 - `snow_cover`.
    pub snowpack: bool,
    /// Snow cover fraction, 0-1 (used only with a snowpack).
    pub snow_cover: f64,
    /// Time step, s.
    pub dt: f64,
}

/// Fluxes of [`soil_water_step`], kg m-2 s-1 averaged over the step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoilWaterFluxes {
    /// Canopy water at the end of the step, kg m-2.
    pub canopy_water: f64,
    /// Direct soil evaporation EDIR.
    pub soil_evaporation: f64,
    /// Evaporation of intercepted water EC.
    pub canopy_evaporation: f64,
    /// Total transpiration ETT (the per-layer values are written to the
    /// caller's slice).
    pub transpiration: f64,
    /// Dew or frost added to canopy and soil (snow-free branch only).
    pub dew: f64,
    /// Drip from the canopy.
    pub drip: f64,
    /// Water reaching the soil surface (Noah PCPDRP).
    pub throughfall: f64,
    /// The soil-water step's fluxes (infiltration, runoff, drainage).
    pub soil: RichardsFluxes,
}

/// Noah LSM 3.4.1 water part of NOPAC and SNOPAC (EVAPO, DEVAP, TRANSP and
/// SMFLX): evaporation and transpiration from the potential evaporation,
/// canopy interception and drip, then the soil-water step
/// ([`richards_step_into`]) with the resulting sinks and throughfall.
///
/// Without a snowpack (NOPAC), a positive ETP drives EDIR (from the top
/// layer's total water), EC and the per-layer transpiration; a negative ETP is
/// dew added to the water input. With a snowpack (SNOPAC) the three terms are
/// multiplied by 1 - snow cover and dew goes to the snow (not handled here).
/// `liquid` and `ice` are the layer contents (m3 m-3), `canopy_water` the
/// intercepted water (kg m-2). The new liquid contents go to `liquid_out`, the
/// per-layer transpiration (kg m-2 s-1) to `transpiration_out`.
///
/// Water balance (tested): change of soil and canopy water
/// = (water_input + dew - soil_evaporation - canopy_evaporation - transpiration
///    - surface_runoff - drainage - excess + floor_source) * dt.
#[allow(clippy::too_many_arguments)]
pub fn soil_water_step(
    p: &SoilWaterParams,
    f: &SoilWaterForcing,
    liquid: &[f64],
    ice: &[f64],
    canopy_water: f64,
    liquid_out: &mut [f64],
    transpiration_out: &mut [f64],
    work: &mut RichardsWork,
) -> Result<SoilWaterFluxes> {
    use crate::physics::canopy::{
        canopy_evaporation, canopy_interception, transpiration_soil_into, TranspirationInput,
    };
    let n = p.dz.len();
    if p.soil.len() != n || liquid.len() != n || ice.len() != n || transpiration_out.len() != n {
        return Err(Error::Parameter {
            name: "soil_water_step.layers".into(),
            message: format!(
                "dz {n}, soil {}, liquid {}, ice {}, transpiration_out {}",
                p.soil.len(),
                liquid.len(),
                ice.len(),
                transpiration_out.len()
            ),
        });
    }
    if !(f.potential_evaporation.is_finite() && f.water_input.is_finite() && f.water_input >= 0.0) {
        return Err(Error::Parameter {
            name: "soil_water_step.forcing".into(),
            message: format!(
                "potential evaporation {} and water input {} kg m-2 s-1 must be finite, input >= 0",
                f.potential_evaporation, f.water_input
            ),
        });
    }
    if !(canopy_water.is_finite() && canopy_water >= 0.0) {
        return Err(Error::Parameter {
            name: "soil_water_step.canopy_water".into(),
            message: format!("{canopy_water} kg m-2"),
        });
    }
    let etp = f.potential_evaporation;
    let scale = if f.snowpack {
        (1.0 - f.snow_cover).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mut edir = 0.0;
    let mut ec = 0.0;
    let mut dew = 0.0;
    transpiration_out.iter_mut().for_each(|v| *v = 0.0);
    if etp > 0.0 && scale > 0.0 {
        if p.green_fraction < 1.0 {
            edir = direct_evaporation(
                etp,
                liquid[0] + ice[0],
                &p.soil[0],
                p.green_fraction,
                p.fxexp,
            );
        }
        if p.green_fraction > 0.0 {
            let t = TranspirationInput {
                potential: etp,
                green_fraction: p.green_fraction,
                plant_coefficient: f.plant_coefficient,
                canopy_water,
                canopy_capacity: p.canopy_capacity,
                cfactr: p.cfactr,
            };
            transpiration_soil_into(&t, liquid, p.soil, p.root_fraction, transpiration_out)?;
            ec = canopy_evaporation(
                etp,
                p.green_fraction,
                canopy_water,
                p.canopy_capacity,
                p.cfactr,
                f.dt,
            );
        }
        edir *= scale;
        ec *= scale;
        transpiration_out.iter_mut().for_each(|v| *v *= scale);
    } else if etp < 0.0 && !f.snowpack {
        dew = -etp;
    }
    let canopy = canopy_interception(
        canopy_water,
        f.water_input + dew,
        ec,
        p.green_fraction,
        p.canopy_capacity,
        f.dt,
    );
    let input = RichardsInput {
        dz: p.dz,
        soil: p.soil,
        liquid,
        ice,
        water_input: canopy.throughfall,
        evaporation: edir,
        transpiration: transpiration_out,
        dt: f.dt,
        powers: None,
    };
    let soil = richards_step_into(&input, &p.richards, liquid_out, work)?;
    Ok(SoilWaterFluxes {
        canopy_water: canopy.canopy_water,
        soil_evaporation: edir,
        canopy_evaporation: ec,
        transpiration: transpiration_out.iter().sum(),
        dew,
        drip: canopy.drip,
        throughfall: canopy.throughfall,
        soil,
    })
}

/// Total water stored in the column (liquid + ice), kg m-2.
pub fn column_water(dz: &[f64], liquid: &[f64], ice: &[f64]) -> f64 {
    dz.iter()
        .zip(liquid.iter().zip(ice))
        .map(|(d, (l, i))| d * (l + i))
        .sum::<f64>()
        * RHO_WATER
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOILPARM.TBL (STAS) class 7, LOAM, of the Noah-Tibet tables.
    pub(crate) fn loam() -> SoilHydraulics {
        SoilHydraulics {
            porosity: 0.439,
            b: 5.25,
            psi_sat: 0.355,
            k_sat: 3.38e-6,
            dw_sat: 0.143e-4,
            wilting: 0.066,
            reference: 0.329,
            dry: 0.066,
        }
    }

    /// SOILPARM.TBL (STAS) class 1, CLAY.
    fn clay() -> SoilHydraulics {
        SoilHydraulics {
            porosity: 0.468,
            b: 11.55,
            psi_sat: 0.468,
            k_sat: 9.74e-7,
            dw_sat: 0.112e-4,
            wilting: 0.138,
            reference: 0.412,
            dry: 0.138,
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn wdfcnd_loam_hand_values() {
        // theta = 0.3: ratio 0.3/0.439 = 0.683371298...
        // D = 1.43e-5 * r^7.25, K = 3.38e-6 * r^13.5 (computed independently).
        let r: f64 = 0.3 / 0.439;
        let (d, k) = wdfcnd_noah(0.3, 0.0, &loam());
        assert!(close(d, 1.43e-5 * r.powf(7.25), 1e-14));
        assert!(close(k, 3.38e-6 * r.powf(13.5), 1e-14));
        // Closed-form numbers computed by hand: D = 9.0489e-7 m2/s, K = 1.9805e-8 m/s.
        assert!((d - 9.0489e-7).abs() < 1e-10, "D = {d}");
        assert!((k - 1.9805e-8).abs() < 1e-11, "K = {k}");
        // Saturated values equal the table.
        let (ds, ks) = wdfcnd_noah(0.439, 0.0, &loam());
        assert!(close(ds, 1.43e-5, 1e-14) && close(ks, 3.38e-6, 1e-14));
    }

    #[test]
    fn wdfcnd_noah_ice_blends_diffusivity() {
        // With ice_max = 0.01 the weight is 1/(1+125) and the diffusivity is
        // pulled towards its value at 0.05.
        let s = clay();
        let (d0, k0) = wdfcnd_noah(0.3, 0.0, &s);
        let (d1, k1) = wdfcnd_noah(0.3, 0.01, &s);
        let w = 1.0 / 126.0;
        let dlow = s.dw_sat * (0.05f64 / 0.468).powf(13.55);
        assert!(close(d1, w * d0 + (1.0 - w) * dlow, 1e-12));
        assert_eq!(k0, k1);
    }

    #[test]
    fn niu_yang_impedance_closed_form() {
        let s = loam();
        // Half the pores frozen: F_imp = (e^-2 - e^-4)/(1 - e^-4).
        let ice = 0.5 * s.porosity;
        let f = impermeable_fraction(ice, s.porosity, 4.0);
        let expect = ((-2f64).exp() - (-4f64).exp()) / (1.0 - (-4f64).exp());
        assert!(close(f, expect, 1e-14));
        assert!((f - 0.1192).abs() < 1e-4);
        let (d, k) = wdfcnd_niu_yang(0.1, ice, &s);
        let r = (0.1 + ice) / s.porosity;
        assert!(close(k, (1.0 - expect) * s.k_sat * r.powf(13.5), 1e-13));
        assert!(close(d, (1.0 - expect) * s.dw_sat * r.powf(7.25), 1e-13));
        // No ice, no impedance; fully frozen, impermeable.
        assert_eq!(impermeable_fraction(0.0, s.porosity, 4.0), 0.0);
        assert!(close(
            impermeable_fraction(s.porosity, s.porosity, 4.0),
            1.0,
            1e-14
        ));
    }

    #[test]
    fn noah_tibet_impedance_closed_form() {
        let s = loam();
        let (d, k) = wdfcnd_noah_tibet(0.1, 0.2, &s);
        let r: f64 = 0.3 / 0.439;
        let ek = 1.25 * (3.38e-6f64 - 3.0).powi(2) + 6.0;
        assert!(close(
            k,
            10f64.powf(-ek * 0.2) * 3.38e-6 * r.powf(13.5),
            1e-13
        ));
        assert!(d < s.dw_sat * r.powf(7.25) * 1e-3);
        assert!((ek - 17.25).abs() < 1e-4);
    }

    #[test]
    fn direct_evaporation_devap() {
        let s = loam();
        // sratio = (0.25 - 0.066)/(0.439 - 0.066) = 0.49329759; squared 0.24334...
        let e = direct_evaporation(1e-4, 0.25, &s, 0.3, 2.0);
        let sr: f64 = (0.25 - 0.066) / (0.439 - 0.066);
        assert!(close(e, sr * sr * 0.7 * 1e-4, 1e-14));
        assert_eq!(direct_evaporation(1e-4, 0.05, &s, 0.3, 2.0), 0.0);
        assert_eq!(direct_evaporation(-1e-4, 0.3, &s, 0.3, 2.0), 0.0);
    }

    #[test]
    fn fac2_limits() {
        assert_eq!(fac2_limit(0.439), 0.74);
        assert_eq!(fac2_limit(0.468), 0.90);
        assert_eq!(fac2_limit(0.2), 0.80);
    }

    #[test]
    fn niu_yang_exponential_constant() {
        assert_eq!(EXP_NEG_NIU_YANG_A, (-NIU_YANG_A).exp());
    }

    #[test]
    fn frozen_infiltration_factor_closed_form() {
        let s = clay();
        // A = 3 * 0.15 * (0.468/0.412)(0.412/0.468) / 0.1 = 4.5.
        let f = frozen_infiltration_factor(0.1, 0.15, &s);
        let a: f64 = 4.5;
        assert!(close(f, 1.0 - (-a).exp() * (1.0 + a + a * a / 2.0), 1e-12));
        assert_eq!(frozen_infiltration_factor(0.005, 0.15, &s), 1.0);
    }

    #[test]
    fn step_cache_matches_public_hydraulics() {
        let soil = [loam(), clay(), loam(), clay()];
        let dz = [0.1, 0.2, 0.3, 0.4];
        let liq = [0.3, 0.01, 0.2, 0.02];
        let ice = [0.0, 0.3, 0.1, 0.0];
        let et = [0.0; 4];
        let input = RichardsInput {
            dz: &dz,
            soil: &soil,
            liquid: &liq,
            ice: &ice,
            water_input: 0.0,
            evaporation: 0.0,
            transpiration: &et,
            dt: 3600.0,
            powers: None,
        };
        for scheme in [
            IceImpedance::Noah,
            IceImpedance::NiuYang2006,
            IceImpedance::NoahTibet,
        ] {
            let cfg = RichardsConfig {
                ice_impedance: scheme,
                gravity: GravityScheme::Implicit,
                ..RichardsConfig::default()
            };
            let mut w = RichardsWork::default();
            w.resize(4);
            let st = prepare(&input, &cfg, &mut w);
            assert!(st.state_ok && st.ice_max == 0.3);
            for k in 0..4 {
                let (d, c) = hydraulic_properties(scheme, liq[k], ice[k], 0.3, &soil[k]);
                let lay = &w.layers[k];
                let (wdf, wcnd, g) = if scheme == IceImpedance::Noah {
                    layer_hydraulics::<false, true, false>(&soil[k], lay, None, liq[k], ice[k], &st)
                } else {
                    layer_hydraulics::<true, true, false>(&soil[k], lay, None, liq[k], ice[k], &st)
                };
                assert!(close(wdf, d, 1e-13), "{scheme:?} D[{k}]");
                assert!(close(wcnd, c, 1e-13), "{scheme:?} K[{k}]");
                let dk = conductivity_derivative(scheme, liq[k], ice[k], c, &soil[k]);
                assert!(close(g, dk, 1e-13), "{scheme:?} dK/dtheta[{k}]");
            }
        }
    }

    #[test]
    fn reused_work_gives_the_results_of_fresh_work() {
        // The work keeps values derived from the last step's inputs: steps
        // of different columns and states through one work must match
        // steps with fresh work exactly.
        let soil_a = [loam(), clay(), loam(), clay()];
        let soil_b = [clay(), loam(), clay(), loam()];
        let dz_a = [0.1, 0.2, 0.3, 0.4];
        let dz_b = [0.05, 0.25, 0.3, 0.6];
        let liq = [0.3, 0.05, 0.2, 0.1];
        let ice_a = [0.0, 0.3, 0.1, 0.0];
        let ice_b = [0.1, 0.3, 0.0, 0.2];
        let et = [1e-6, 1e-7, 0.0, 0.0];
        for scheme in [
            IceImpedance::Noah,
            IceImpedance::NiuYang2006,
            IceImpedance::NoahTibet,
        ] {
            let cfg = RichardsConfig {
                ice_impedance: scheme,
                gravity: GravityScheme::Implicit,
                ..RichardsConfig::default()
            };
            let mut shared = RichardsWork::default();
            for (soil, dz, ice, water_input) in [
                (&soil_a, &dz_a, &ice_a, 0.0),
                (&soil_a, &dz_a, &ice_a, 1e-4),
                (&soil_b, &dz_a, &ice_a, 0.0),
                (&soil_b, &dz_b, &ice_b, 0.0),
                (&soil_a, &dz_a, &ice_b, 1e-3),
                (&soil_a, &dz_a, &ice_a, 0.0),
            ] {
                let input = RichardsInput {
                    dz,
                    soil,
                    liquid: &liq,
                    ice,
                    water_input,
                    evaporation: 1e-6,
                    transpiration: &et,
                    dt: 3600.0,
                    powers: None,
                };
                let mut out = [0.0; 4];
                let f = richards_step_into(&input, &cfg, &mut out, &mut shared).unwrap();
                let fresh = richards_step(&input, &cfg).unwrap();
                assert_eq!(f, fresh.fluxes, "{scheme:?}");
                for (k, (a, b)) in out.iter().zip(&fresh.liquid).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "{scheme:?} {k}");
                }
            }
        }
    }

    #[test]
    fn tridiagonal_matches_dense_solution() {
        let a = [0.0, -1.0, -0.5, -0.2];
        let b = [4.0, 3.0, 5.0, 2.0];
        let c = [1.0, -0.3, 0.7, 0.0];
        let d = [1.0, 2.0, -1.0, 0.5];
        let (mut sweep, mut x) = ([[0.0; 2]; 4], [0.0; 4]);
        solve_tridiagonal(&a, &b, &c, &d, &mut sweep, &mut x).unwrap();
        for k in 0..4 {
            let mut r = b[k] * x[k] - d[k];
            if k > 0 {
                r += a[k] * x[k - 1];
            }
            if k < 3 {
                r += c[k] * x[k + 1];
            }
            assert!(r.abs() < 1e-14);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let s = [loam(); 3];
        let dz = [0.1, 0.2, 0.3];
        let liq = [0.2, 0.2, 0.2];
        let ice = [0.0, 0.0, 0.0];
        let et = [0.0; 3];
        let mut input = RichardsInput {
            dz: &dz,
            soil: &s,
            liquid: &liq,
            ice: &ice,
            water_input: -1.0,
            evaporation: 0.0,
            transpiration: &et,
            dt: 3600.0,
            powers: None,
        };
        let cfg = RichardsConfig::default();
        let e = richards_step(&input, &cfg).unwrap_err().to_string();
        assert!(e.contains("water_input"), "{e}");
        input.water_input = 0.0;
        let short = [0.2, 0.2];
        input.liquid = &short;
        let e = richards_step(&input, &cfg).unwrap_err().to_string();
        assert!(e.contains("liquid"), "{e}");
        input.liquid = &liq;
        input.dt = 0.0;
        assert!(richards_step(&input, &cfg).is_err());
        assert!(IceImpedance::from_name("bogus").is_err());
        assert_eq!(
            IceImpedance::from_name("niu06").unwrap(),
            IceImpedance::NiuYang2006
        );
    }
}
