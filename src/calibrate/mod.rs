//! Calibration: the parameter registry and space, optimisers behind one trait, the evaluation loop with checkpoint and resume, and top-K ensemble selection.

pub mod optimizer;
pub mod registry;
