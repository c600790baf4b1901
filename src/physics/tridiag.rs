//! Tridiagonal linear systems by the Thomas algorithm.

use crate::{Error, Result};

/// Solve the tridiagonal system `a[i] x[i-1] + b[i] x[i] + c[i] x[i+1] = d[i]`
/// (`a[0]` and `c[n-1]` are ignored) by the Thomas algorithm (Press et al.,
/// Numerical Recipes, 3rd ed., section 2.4). `x` receives the solution and
/// `work` (length `n`) is scratch space. The algorithm is stable without
/// pivoting for diagonally dominant matrices, which the implicit heat equation
/// always produces. Returns an error on a zero pivot or mismatched lengths.
pub fn solve_tridiagonal(
    a: &[f64],
    b: &[f64],
    c: &[f64],
    d: &[f64],
    x: &mut [f64],
    work: &mut [f64],
) -> Result<()> {
    let n = b.len();
    if a.len() != n || c.len() != n || d.len() != n || x.len() != n || work.len() != n {
        return Err(Error::Other(format!(
            "tridiagonal solve: inconsistent lengths (a {}, b {}, c {}, d {}, x {}, work {})",
            a.len(),
            b.len(),
            c.len(),
            d.len(),
            x.len(),
            work.len()
        )));
    }
    if n == 0 {
        return Ok(());
    }
    let mut beta = b[0];
    if beta == 0.0 || !beta.is_finite() {
        return Err(Error::Other(
            "tridiagonal solve: zero or non-finite pivot in row 0".into(),
        ));
    }
    x[0] = d[0] / beta;
    for i in 1..n {
        work[i] = c[i - 1] / beta;
        beta = b[i] - a[i] * work[i];
        if beta == 0.0 || !beta.is_finite() {
            return Err(Error::Other(format!(
                "tridiagonal solve: zero or non-finite pivot in row {i}"
            )));
        }
        x[i] = (d[i] - a[i] * x[i - 1]) / beta;
    }
    for i in (0..n - 1).rev() {
        x[i] -= work[i + 1] * x[i + 1];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 5x5 system whose solution is known; checks against dense multiplication.
    #[test]
    fn thomas_solves_known_system() {
        let a = [0.0, -1.0, -2.0, -1.0, -0.5];
        let b = [4.0, 5.0, 6.0, 5.0, 3.0];
        let c = [-1.0, -2.0, -1.0, -0.5, 0.0];
        let x_true = [1.0, -2.0, 3.0, 0.5, -1.5];
        let mut d = [0.0; 5];
        for i in 0..5 {
            d[i] = b[i] * x_true[i];
            if i > 0 {
                d[i] += a[i] * x_true[i - 1];
            }
            if i < 4 {
                d[i] += c[i] * x_true[i + 1];
            }
        }
        let mut x = [0.0; 5];
        let mut w = [0.0; 5];
        solve_tridiagonal(&a, &b, &c, &d, &mut x, &mut w).unwrap();
        for i in 0..5 {
            assert!((x[i] - x_true[i]).abs() < 1e-12, "x[{i}] = {}", x[i]);
        }
    }

    #[test]
    fn thomas_reports_zero_pivot() {
        let z = [0.0; 2];
        let mut x = [0.0; 2];
        let mut w = [0.0; 2];
        assert!(solve_tridiagonal(&z, &z, &z, &z, &mut x, &mut w).is_err());
    }
}
