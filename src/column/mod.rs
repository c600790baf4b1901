//! The Noah-Tibet-style soil column: parameters, prognostic state, one time step, spin-up and energy and water balance checks.

pub mod heat;
pub mod tables;
