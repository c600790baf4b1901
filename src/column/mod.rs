//! The Noah-Tibet-style soil column: parameters, prognostic state, one time
//! step, spin-up and energy and water balance checks.
//!
//! Build a [`ColumnConfig`] from the Noah tables ([`tables`]) plus class
//! indices (and override any parameter by name with [`ColumnConfig::set`]),
//! validate it once with [`ColumnModel::new`], make a [`ColumnState`] with
//! [`ColumnModel::initial_state`], then [`spin_up`] and [`run`], or call
//! [`ColumnModel::step`] directly.
//!
//! One step follows Noah's SFLX operator order: season and snow cover;
//! exchange coefficients (Monin-Obukhov, Zilitinkevich or Yang et al. 2008
//! thermal roughness); Penman potential evaporation and its partition into
//! soil evaporation, canopy evaporation, transpiration and snow sublimation;
//! the skin energy balance solved together with implicit enthalpy-conserving
//! soil heat conduction and phase change ([`heat`]); the snowpack; canopy
//! interception and the Richards soil-water step; balance checks. Every step
//! reports its heat imbalance (soil enthalpy change minus boundary fluxes,
//! W m-2) and water imbalance (kg m-2) in [`StepFluxes`]; both are at
//! round-off level.

pub mod bench;
pub mod config;
pub mod heat;
pub mod model;
pub mod run;
pub mod tables;

pub use config::{ColumnConfig, LowerBoundary, PhysicsOptions, DEFAULT_LAYERS};
pub use model::{ColumnModel, ColumnState, InitialCondition, StepFluxes};
pub use run::{run, spin_up, SpinupCriterion, SpinupOptions, SpinupReport, SpinupStart};
