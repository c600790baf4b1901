//! Global sensitivity analysis: Morris elementary effects and Sobol indices with Saltelli sampling.
//!
//! Every method works on a sample matrix in the unit cube (one row per model
//! evaluation, one column per parameter) and on the vector of a scalar output
//! evaluated at those rows, so the methods plug into any parameter registry
//! that maps the unit cube onto physical ranges (linear or log transforms).
//!
//! - [`sobol_seq`]: the Sobol low-discrepancy sequence with Joe-Kuo direction numbers.
//! - [`saltelli`]: Saltelli sample designs (blocks A, AB_j, optional BA_j, B per base sample).
//! - [`sobol`]: first-order (Saltelli 2010), total (Jansen 1999) and second-order
//!   (Saltelli 2002) estimators with seeded bootstrap confidence intervals.
//! - [`morris`]: Morris trajectories with the optimised spread of Campolongo et al.
//!   (2007), and the mu, mu*, sigma statistics.
//! - [`testfn`]: analytic benchmark functions (Ishigami, Sobol g-function) with
//!   their exact indices.
//! - [`study`]: a checkpointed, resumable, parallel study runner writing indices,
//!   a ranked bar chart and a screened parameter list.
//! - [`section`]: the `[sensitivity]` table of an experiment file.
//!
//! Wiring a study to a model (the registry's parameter space maps unit-cube
//! rows to parameter sets; the objective returns one value per named output):
//!
//! ```text
//! let section = SensitivitySection::from_experiment(&exp.path, &exp.raw)?;
//! let space = match &section.parameters {
//!     Some(names) => ParamSpace::select(registry, &names.iter().map(String::as_str).collect::<Vec<_>>())?,
//!     None => ParamSpace::all(registry),
//! };
//! let study = Study::new(section.to_spec(space.names(), exp.seed))?;
//! study.run(&exp.output, |rows| rows.iter().map(|u| {
//!     let set = space.to_physical(u)?;
//!     space.check(&set)?;
//!     evaluate_outputs(&set)          // -> Result<Vec<f64>>, in section.outputs order
//! }).collect(), &RunOptions { quiet })?;
//! ```

pub mod morris;
pub mod saltelli;
pub mod section;
pub mod sobol;
pub mod sobol_seq;
pub mod stats;
pub mod study;
pub mod testfn;
