//! Grids, masks and cells, and the parallel runner that takes many cells and parameter sets through a model.

pub mod distributed;
pub mod grid;
pub mod runner;

pub use grid::Grid;
