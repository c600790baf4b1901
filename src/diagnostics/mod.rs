//! Annual diagnostics of a simulated ground-temperature history: active-layer
//! thickness (ALT), mean annual ground temperature (MAGT) at any depth,
//! temperature at the top of permafrost (TTOP), ground temperature at 10 m
//! (GT10m) and the frozen-ground class.

use serde::{Deserialize, Serialize};

pub mod annual;

pub use annual::{
    alt_from_tmax, annual_diagnostics, interp_at, magt_at, try_annual_diagnostics, ttop,
    zero_amplitude_depth, GT_DEPTH_M,
};

/// The frozen-ground class of a cell in one year, coded as in the published maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum FrozenClass {
    /// At least one layer stays at or below 0 C through the whole current and preceding year.
    Permafrost = 1,
    /// Some layer freezes during the year, but none stays frozen for two years.
    SeasonallyFrozen = 2,
    /// No layer freezes.
    NonFrozen = 3,
}

impl FrozenClass {
    /// The map code: 1, 2 or 3.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class for a map code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Permafrost),
            2 => Some(Self::SeasonallyFrozen),
            3 => Some(Self::NonFrozen),
            _ => None,
        }
    }
}

/// Diagnostics of one simulated year at one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnualDiagnostics {
    /// Calendar year.
    pub year: i32,
    /// Active-layer thickness (m): the deepest 0 C crossing of the annual maximum
    /// temperature profile, interpolated between layer midpoints; `None` without permafrost.
    pub alt: Option<f64>,
    /// Temperature at the top of permafrost (C): the annual mean at the permafrost table.
    pub ttop: Option<f64>,
    /// Annual mean ground temperature at 10 m (C), interpolated between layer midpoints.
    pub gt10m: f64,
    /// Annual mean ground temperature (C) at the depth of the lowest layer midpoint
    /// that the model resolves, or at the depth the experiment requests.
    pub magt: f64,
    /// The frozen-ground class.
    pub class: FrozenClass,
    /// A continuous permafrost margin (C): over the layers, the lowest two-year
    /// maximum of the thaw-equivalent temperature where the statistics carry
    /// it (see [`AnnualProfileStats::thaw_max`]), else of the temperature; at or
    /// below 0 exactly when the class is permafrost. Calibration uses it as a
    /// tie-breaker where the class alone is piecewise constant.
    pub margin: f64,
}

/// Annual statistics of a simulated temperature profile, the input of [`annual_diagnostics`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnualProfileStats {
    /// Calendar year.
    pub year: i32,
    /// Depth of each layer midpoint below the surface (m, positive down).
    pub depths: Vec<f64>,
    /// Time-weighted annual mean temperature per layer (C).
    pub t_mean: Vec<f64>,
    /// Annual maximum temperature per layer (C).
    pub t_max: Vec<f64>,
    /// Annual minimum temperature per layer (C).
    pub t_min: Vec<f64>,
    /// Annual maximum thaw-equivalent temperature per layer (C), empty when not
    /// tracked. The thaw-equivalent temperature of a layer is its enthalpy
    /// (relative to 0 C with all water liquid) divided by its heat capacity
    /// with all water liquid: equal to the temperature when the layer holds no
    /// ice, negative while any ice is left, and continuous through the zero
    /// curtain, where the temperature itself stays within hundredths of a
    /// degree of 0 C while the ice melts. Its maximum is above 0 C exactly
    /// when `t_max` is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thaw_max: Vec<f64>,
    /// Seconds of the year that were simulated (a partial first or last year has fewer).
    pub seconds: f64,
}

/// Accumulates per-layer temperatures through one calendar year.
#[derive(Clone, Debug)]
pub struct YearAccumulator {
    year: i32,
    depths: Vec<f64>,
    sum: Vec<f64>,
    t_max: Vec<f64>,
    t_min: Vec<f64>,
    thaw_max: Vec<f64>,
    seconds: f64,
}

impl YearAccumulator {
    /// Start accumulating `year` for layers whose midpoints lie at `depths` (m).
    pub fn new(year: i32, depths: &[f64]) -> Self {
        let n = depths.len();
        Self {
            year,
            depths: depths.to_vec(),
            sum: vec![0.0; n],
            t_max: vec![f64::NEG_INFINITY; n],
            t_min: vec![f64::INFINITY; n],
            thaw_max: Vec::new(),
            seconds: 0.0,
        }
    }

    /// The year being accumulated.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Add one time step of `dt` seconds with layer temperatures `temps_c` (C).
    pub fn add(&mut self, temps_c: &[f64], dt: f64) {
        for (i, &t) in temps_c.iter().enumerate() {
            self.sum[i] += t * dt;
            self.t_max[i] = self.t_max[i].max(t);
            self.t_min[i] = self.t_min[i].min(t);
        }
        self.seconds += dt;
    }

    /// Track the annual maximum of the layers' thaw-equivalent temperatures
    /// `thaw_c` (C; see [`AnnualProfileStats::thaw_max`]) at one time step.
    pub fn add_thaw_equivalent(&mut self, thaw_c: &[f64]) {
        if self.thaw_max.is_empty() {
            self.thaw_max = vec![f64::NEG_INFINITY; thaw_c.len()];
        }
        for (m, &q) in self.thaw_max.iter_mut().zip(thaw_c) {
            *m = m.max(q);
        }
    }

    /// Finish the year; `None` if no step was added.
    pub fn finish(&self) -> Option<AnnualProfileStats> {
        if self.seconds <= 0.0 {
            return None;
        }
        Some(AnnualProfileStats {
            year: self.year,
            depths: self.depths.clone(),
            t_mean: self.sum.iter().map(|s| s / self.seconds).collect(),
            t_max: self.t_max.clone(),
            t_min: self.t_min.clone(),
            thaw_max: self.thaw_max.clone(),
            seconds: self.seconds,
        })
    }
}
