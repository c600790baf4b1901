//! Annual diagnostics of a simulated ground-temperature history: active-layer
//! thickness (ALT), mean annual ground temperature (MAGT) at any depth,
//! temperature at the top of permafrost (TTOP), ground temperature at 10 m
//! (GT10m) and the frozen-ground class.

use serde::{Deserialize, Serialize};

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
    /// A continuous permafrost margin (C): the lowest annual maximum temperature of
    /// any layer (below 0 means a layer stayed frozen). Calibration uses it as a
    /// tie-breaker where the class alone is piecewise constant.
    pub margin: f64,
}
