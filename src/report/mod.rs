//! Plots (PNG) and summary tables.
