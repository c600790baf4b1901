//! calimap: a harness for permafrost land-surface modelling.
//!
//! Data flows one way: an experiment file is parsed and validated into a typed
//! [`config::Experiment`]; forcing is read into per-cell time series in SI
//! units; a model (the Noah-Tibet-style [`column`] or one of the cheap
//! [`empirical`] models) turns a cell's forcing and a parameter set into annual
//! [`diagnostics`]; the [`domain`] runner does that for many cells and
//! parameter sets in parallel; [`metrics`] score maps and boreholes;
//! [`calibrate`] and [`sensitivity`] drive the runner; [`io`] and [`report`]
//! write GeoTIFF, CF-netCDF, CSV and PNG outputs.

pub mod calibrate;
pub mod cmd;
pub mod column;
pub mod config;
pub mod diagnostics;
pub mod domain;
pub mod empirical;
pub mod error;
pub mod forcing;
pub mod io;
pub mod metrics;
pub mod physics;
pub mod report;
pub mod sensitivity;
pub mod validate;
pub mod workflow;

pub use error::{Error, Result};
