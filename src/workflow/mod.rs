//! Workflows: what `calimap run` does for each experiment kind, as library
//! functions over a validated [`crate::config::Experiment`]. Each reads as a
//! commented recipe; the command layer only parses arguments and reports.

pub mod calibration;
pub mod demo_truth;
pub mod domain;
pub mod hindcast;
pub mod model;
pub mod point;
pub mod point_calibration;
pub mod sensitivity;
pub mod validation;
