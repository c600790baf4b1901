//! Validation against borehole observations: reading observation files, matching sites to cells, metrics and reports.
pub mod obs;
