//! Cheap published permafrost models behind the same model interface: frost number, TTOP with rk, Kudryavtsev, Stefan ALT, InSAR seasonal deformation, daily freeze-thaw state.
//!
//! Every model is a set of pure process functions (one per equation, named after
//! the process and its reference) plus a small parameter struct. Inputs are
//! validated at the function boundary: negative degree-days, non-finite values
//! and rasters of different sizes are returned as [`crate::Error`] values that
//! name the variable and, for rasters, the cell.
//!
//! Units: temperatures in degrees Celsius (differences are kelvin), degree-days
//! in degC day (the unit of the published indices), depths in metres, thermal
//! conductivity in W m-1 K-1, volumetric heat capacity in J m-3 K-1, latent heat
//! in J kg-1, time in seconds unless a name says days.

pub mod check;
pub mod freeze_thaw;
pub mod frost_number;
pub mod insar;
pub mod kudryavtsev;
pub mod map_model;
pub mod ridge;
pub mod stefan;
pub mod survey;
pub mod ttop;

/// Seconds per day (s d-1).
pub const SECONDS_PER_DAY: f64 = 86_400.0;
/// Days in the annual period used by the TTOP and Kudryavtsev models (d).
pub const DAYS_PER_YEAR: f64 = 365.0;
/// Density of liquid water (kg m-3).
pub const RHO_WATER: f64 = 1000.0;
/// Density of ice (kg m-3).
pub const RHO_ICE: f64 = 917.0;
/// Latent heat of fusion of water (J kg-1).
pub const LATENT_HEAT_FUSION: f64 = 3.34e5;

// Parameter and diagnostic types are shared across rayon workers.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<frost_number::FrostNumberParams>();
    send_sync::<frost_number::FrostNumberGrid>();
    send_sync::<ttop::TtopParams>();
    send_sync::<ridge::RidgeModel>();
    send_sync::<kudryavtsev::KudryavtsevParams>();
    send_sync::<kudryavtsev::KudryavtsevForcing>();
    send_sync::<kudryavtsev::KudryavtsevDiagnostics>();
    send_sync::<insar::InsarParams>();
    send_sync::<insar::DeformationSeries>();
    send_sync::<freeze_thaw::FreezeThawRule>();
    send_sync::<survey::SurveyData>();
    send_sync::<survey::SurveyConfig>();
};
