//! Global sensitivity analysis: Morris elementary effects and Sobol indices with Saltelli sampling.
//!
//! Every method works on a sample matrix in the unit cube (one row per model
//! evaluation, one column per parameter) and on the vector of a scalar output
//! evaluated at those rows, so the methods plug into any parameter registry
//! that maps the unit cube onto physical ranges (linear or log transforms).
//!
//! - [`sobol_seq`]: the Sobol low-discrepancy sequence with Joe-Kuo direction numbers.
//! - [`saltelli`]: Saltelli sample designs (A, AB_j, [BA_j], B blocks per base sample).
//! - [`sobol`]: first-order (Saltelli 2010), total (Jansen 1999) and second-order
//!   (Saltelli 2002) estimators with seeded bootstrap confidence intervals.
//! - [`morris`]: Morris trajectories with the optimised spread of Campolongo et al.
//!   (2007), and the mu, mu*, sigma statistics.
//! - [`testfn`]: analytic benchmark functions (Ishigami, Sobol g-function) with
//!   their exact indices.
//! - [`study`]: a checkpointed, resumable, parallel study runner writing indices,
//!   a ranked bar chart and a screened parameter list.

pub mod morris;
pub mod saltelli;
pub mod section;
pub mod sobol;
pub mod sobol_seq;
pub mod stats;
pub mod study;
pub mod testfn;
