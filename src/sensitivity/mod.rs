//! Global sensitivity analysis: Morris elementary effects and Sobol indices with Saltelli sampling.
