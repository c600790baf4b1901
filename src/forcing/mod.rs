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

    /// Index of the step that starts at `t`, if there is one.
    pub fn index_of(&self, t: NaiveDateTime) -> Option<usize> {
        let ms = (t - self.start).num_milliseconds();
        let dt = (self.dt * 1000.0).round() as i64;
        (dt > 0 && ms >= 0 && ms % dt == 0 && ((ms / dt) as usize) < self.steps.len())
            .then_some((ms / dt) as usize)
    }

    /// The steps that start in `[from, to)`, as a new series (e.g. the
    /// spin-up years 1979-1983: `from` 1979-01-01, `to` 1984-01-01). Errors
    /// when `from` is not a step of the series or the window is empty or runs
    /// past the end.
    pub fn window(&self, from: NaiveDateTime, to: NaiveDateTime) -> crate::Result<PointForcing> {
        let i0 = self.index_of(from).ok_or_else(|| crate::Error::Forcing {
            source_name: self.source.clone(),
            variable: "time".into(),
            message: format!(
                "{from} is not a step of the series ({} + k * {} s, {} steps)",
                self.start,
                self.dt,
                self.steps.len()
            ),
        })?;
        let span = (to - from).num_milliseconds() as f64 / 1000.0;
        let n = (span / self.dt).ceil().max(0.0) as usize;
        if n == 0 || i0 + n > self.steps.len() {
            return Err(crate::Error::Forcing {
                source_name: self.source.clone(),
                variable: "time".into(),
                message: format!(
                    "window {from} .. {to} is empty or runs past the last step {}",
                    self.time(self.steps.len().saturating_sub(1))
                ),
            });
        }
        Ok(PointForcing {
            source: self.source.clone(),
            start: from,
            steps: self.steps[i0..i0 + n].to_vec(),
            ..self.clone_meta()
        })
    }

    /// Metadata of the series with no steps.
    fn clone_meta(&self) -> PointForcing {
        PointForcing {
            source: self.source.clone(),
            start: self.start,
            dt: self.dt,
            steps: Vec::new(),
            lat: self.lat,
            lon: self.lon,
            z_temp: self.z_temp,
            z_wind: self.z_wind,
        }
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
