//! Meteorological forcing: readers for Noah ASCII, CSV and CF-netCDF files, and
//! unit conversion at the edge. Everything downstream sees SI units only.

use chrono::NaiveDateTime;

/// One forcing time step, SI units, at the reference heights of its [`PointForcing`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ForcingStep {
    /// Air temperature (K).
    pub t_air: f64,
    /// Specific humidity (kg kg-1).
    pub q_air: f64,
    /// Surface air pressure (Pa).
    pub p_air: f64,
    /// Wind speed (m s-1).
    pub wind: f64,
    /// Downward shortwave radiation at the surface (W m-2).
    pub sw_down: f64,
    /// Downward longwave radiation at the surface (W m-2).
    pub lw_down: f64,
    /// Total precipitation rate, rain and snow (kg m-2 s-1 = mm s-1).
    pub precip: f64,
}

/// A forcing time series for one point or cell, regularly spaced in time.
#[derive(Clone, Debug)]
pub struct PointForcing {
    /// Where the series came from (file name, cell id), for error messages.
    pub source: String,
    /// Time stamp of the first step (UTC), the start of the interval it covers.
    pub start: NaiveDateTime,
    /// Step length (s).
    pub dt: f64,
    /// The steps.
    pub steps: Vec<ForcingStep>,
    /// Latitude (degrees north).
    pub lat: f64,
    /// Longitude (degrees east).
    pub lon: f64,
    /// Height of the air temperature and humidity measurements above ground (m).
    pub z_temp: f64,
    /// Height of the wind measurement above ground (m).
    pub z_wind: f64,
}

impl PointForcing {
    /// Time stamp of step `i`.
    pub fn time(&self, i: usize) -> NaiveDateTime {
        self.start + chrono::Duration::milliseconds((self.dt * 1000.0 * i as f64).round() as i64)
    }
}

pub mod cf_write;
pub mod csv;
pub mod netcdf;
pub mod noah_ascii;
pub mod synthetic;
pub mod units;
pub mod validate;

pub use csv::{read_csv_forcing, write_csv_forcing};
pub use netcdf::{read_cf_point, CfForcingSpec, GriddedForcing, Stamp, VarSource};
pub use noah_ascii::{read_noah_ascii, NoahHeader, NoahPointFile};
