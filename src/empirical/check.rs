//! Input checks shared by the empirical models: each returns an error that names
//! the variable (and the cell index for rasters) instead of panicking.

use crate::{Error, Result};

/// `value` must be finite.
pub fn finite(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::Parameter {
            name: name.to_string(),
            message: format!("must be finite, got {value}"),
        })
    }
}

/// `value` must be finite and >= 0 (degree-days, depths, fractions).
pub fn non_negative(name: &str, value: f64) -> Result<f64> {
    finite(name, value)?;
    if value < 0.0 {
        return Err(Error::Parameter {
            name: name.to_string(),
            message: format!("must be >= 0, got {value}"),
        });
    }
    Ok(value)
}

/// `value` must be finite and > 0 (conductivities, heat capacities, periods).
pub fn positive(name: &str, value: f64) -> Result<f64> {
    finite(name, value)?;
    if value <= 0.0 {
        return Err(Error::Parameter {
            name: name.to_string(),
            message: format!("must be > 0, got {value}"),
        });
    }
    Ok(value)
}

/// `value` must lie in the closed interval `[lo, hi]`.
pub fn in_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<f64> {
    finite(name, value)?;
    if value < lo || value > hi {
        return Err(Error::Parameter {
            name: name.to_string(),
            message: format!("must lie in [{lo}, {hi}], got {value}"),
        });
    }
    Ok(value)
}

/// Two rasters or series that must have the same number of cells.
pub fn same_len(name_a: &str, len_a: usize, name_b: &str, len_b: usize) -> Result<()> {
    if len_a != len_b {
        return Err(Error::Grid(format!(
            "`{name_a}` has {len_a} cells but `{name_b}` has {len_b}"
        )));
    }
    Ok(())
}
