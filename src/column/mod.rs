//! The Noah-Tibet-style soil column: parameters, prognostic state, one time step, spin-up and energy and water balance checks.

pub mod bench;
pub mod config;
pub mod heat;
pub mod model;
pub mod point;
pub mod run;
pub mod tables;

pub use config::{ColumnConfig, LowerBoundary, PhysicsOptions, DEFAULT_LAYERS};
pub use model::{ColumnModel, ColumnState, InitialCondition, StepFluxes};
pub use run::{run, spin_up, SpinupOptions, SpinupReport, SpinupStart};
