//! Plots (PNG) and summary tables.

pub mod plot;
pub mod table;

pub use plot::{
    categorical_map, class_agreement_map, continuous_map, difference_map, frozen_ground_classes,
    line_plot, ranked_bars, scatter_one_to_one, ColorScale, Series,
};
pub use table::{fmt_num, Table};
