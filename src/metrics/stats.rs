//! Point scores of simulated against observed values (RMSE, bias, MAE,
//! Pearson r) and trend estimators (ordinary least squares, Sen's slope).
//!
//! Pairs in which either value is not finite are skipped and not counted in
//! `n`; every function errors when fewer pairs remain than it needs, naming
//! how many there were. Bias is `mean(sim - obs)` (positive: the model is too
//! warm / too deep).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Scores of simulated against observed values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointScores {
    /// Number of finite pairs scored.
    pub n: usize,
    /// Root-mean-square error, `sqrt(mean((sim - obs)^2))`, in the variable's unit.
    pub rmse: f64,
    /// Mean error `mean(sim - obs)`, in the variable's unit.
    pub bias: f64,
    /// Mean absolute error `mean(|sim - obs|)`, in the variable's unit.
    pub mae: f64,
    /// Pearson correlation coefficient; NaN when either series has zero variance or n < 2.
    pub r: f64,
}

fn finite_pairs(a: &[f64], b: &[f64], what: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    if a.len() != b.len() {
        return Err(Error::Other(format!(
            "{what}: the two series differ in length ({} and {})",
            a.len(),
            b.len()
        )));
    }
    Ok(a.iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .unzip())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// RMSE, bias, MAE and Pearson r of `sim` against `obs` (paired by index).
pub fn point_scores(sim: &[f64], obs: &[f64]) -> Result<PointScores> {
    let (s, o) = finite_pairs(sim, obs, "point scores")?;
    let n = s.len();
    if n == 0 {
        return Err(Error::Other(
            "point scores: no pair of finite simulated and observed values".into(),
        ));
    }
    let nf = n as f64;
    let err: Vec<f64> = s.iter().zip(&o).map(|(a, b)| a - b).collect();
    let rmse = (err.iter().map(|e| e * e).sum::<f64>() / nf).sqrt();
    let bias = err.iter().sum::<f64>() / nf;
    let mae = err.iter().map(|e| e.abs()).sum::<f64>() / nf;
    Ok(PointScores {
        n,
        rmse,
        bias,
        mae,
        r: pearson_r(&s, &o).unwrap_or(f64::NAN),
    })
}

/// Root-mean-square error of `sim` against `obs`.
pub fn rmse(sim: &[f64], obs: &[f64]) -> Result<f64> {
    Ok(point_scores(sim, obs)?.rmse)
}

/// Mean error `mean(sim - obs)`.
pub fn bias(sim: &[f64], obs: &[f64]) -> Result<f64> {
    Ok(point_scores(sim, obs)?.bias)
}

/// Mean absolute error.
pub fn mae(sim: &[f64], obs: &[f64]) -> Result<f64> {
    Ok(point_scores(sim, obs)?.mae)
}

/// Pearson's product-moment correlation coefficient. Errors with fewer than
/// two finite pairs or when either series is constant.
pub fn pearson_r(x: &[f64], y: &[f64]) -> Result<f64> {
    let (x, y) = finite_pairs(x, y, "Pearson r")?;
    if x.len() < 2 {
        return Err(Error::Other(format!(
            "Pearson r needs at least 2 finite pairs, got {}",
            x.len()
        )));
    }
    let (mx, my) = (mean(&x), mean(&y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(&y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return Err(Error::Other(
            "Pearson r is undefined for a constant series".into(),
        ));
    }
    Ok(sxy / (sxx * syy).sqrt())
}

/// A straight line `y = intercept + slope * x`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// Slope, in units of y per unit of x.
    pub slope: f64,
    /// Intercept at x = 0, in units of y.
    pub intercept: f64,
    /// Number of finite pairs used.
    pub n: usize,
}

impl LinearFit {
    /// The fitted value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Ordinary least-squares line with intercept. Errors with fewer than two
/// finite pairs or when all x are equal.
pub fn ols_fit(x: &[f64], y: &[f64]) -> Result<LinearFit> {
    let (x, y) = finite_pairs(x, y, "OLS fit")?;
    if x.len() < 2 {
        return Err(Error::Other(format!(
            "OLS fit needs at least 2 finite pairs, got {}",
            x.len()
        )));
    }
    let (mx, my) = (mean(&x), mean(&y));
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in x.iter().zip(&y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
    }
    if sxx == 0.0 {
        return Err(Error::Other(
            "OLS fit: all x values are equal, the slope is undefined".into(),
        ));
    }
    let slope = sxy / sxx;
    Ok(LinearFit {
        slope,
        intercept: my - slope * mx,
        n: x.len(),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Sen's slope estimator (Sen 1968, J. Am. Stat. Assoc. 63:1379-1389): the
/// median of the slopes `(y_j - y_i) / (x_j - x_i)` over all pairs `i < j`
/// with `x_i != x_j`; the intercept is the median of `y - slope * x`
/// (Conover's convention). Errors when no pair has distinct x.
pub fn sen_slope(x: &[f64], y: &[f64]) -> Result<LinearFit> {
    let (x, y) = finite_pairs(x, y, "Sen's slope")?;
    let mut slopes = Vec::with_capacity(x.len() * x.len().saturating_sub(1) / 2);
    for i in 0..x.len() {
        for j in (i + 1)..x.len() {
            if x[j] != x[i] {
                slopes.push((y[j] - y[i]) / (x[j] - x[i]));
            }
        }
    }
    if slopes.is_empty() {
        return Err(Error::Other(format!(
            "Sen's slope needs two finite pairs with distinct x, got {} pairs",
            x.len()
        )));
    }
    let slope = median(&mut slopes);
    let mut resid: Vec<f64> = x.iter().zip(&y).map(|(a, b)| b - slope * a).collect();
    Ok(LinearFit {
        slope,
        intercept: median(&mut resid),
        n: x.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn point_scores_hand_computed() {
        // errors: 1, -1, 2, 0 -> rmse sqrt(6/4), bias 0.5, mae 1.
        let sim = [2.0, 1.0, 5.0, 4.0];
        let obs = [1.0, 2.0, 3.0, 4.0];
        let s = point_scores(&sim, &obs).unwrap();
        assert_eq!(s.n, 4);
        assert!(close(s.rmse, 1.5f64.sqrt()));
        assert!(close(s.bias, 0.5));
        assert!(close(s.mae, 1.0));
        // mx = 3, my = 2.5; sxy = (-1)(-1.5)+(-2)(-0.5)+2(0.5)+1(1.5) = 5;
        // sxx = 1+4+4+1 = 10; syy = 2.25+0.25+0.25+2.25 = 5 -> r = 5/sqrt(50).
        assert!(close(s.r, 5.0 / 50f64.sqrt()));
    }

    #[test]
    fn non_finite_pairs_are_skipped() {
        let s = point_scores(&[1.0, f64::NAN, 3.0], &[0.0, 5.0, 3.0]).unwrap();
        assert_eq!(s.n, 2);
        assert!(close(s.bias, 0.5));
        assert!(point_scores(&[f64::NAN], &[1.0]).is_err());
        assert!(point_scores(&[1.0], &[1.0, 2.0]).is_err());
        assert!(pearson_r(&[1.0, 1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn ols_hand_computed() {
        // y = 1 + 2x exactly, then with a perturbation.
        let x = [0.0, 1.0, 2.0, 3.0];
        let f = ols_fit(&x, &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert!(close(f.slope, 2.0) && close(f.intercept, 1.0));
        // y = [1, 3, 5, 9]: my = 4.5, sxy = (-1.5)(-3.5)+(-0.5)(-1.5)+0.5*0.5+1.5*4.5 = 13,
        // sxx = 5 -> slope 2.6, intercept 4.5 - 2.6*1.5 = 0.6.
        let f = ols_fit(&x, &[1.0, 3.0, 5.0, 9.0]).unwrap();
        assert!(close(f.slope, 2.6) && close(f.intercept, 0.6));
        assert!(close(f.at(10.0), 26.6));
        assert!(ols_fit(&[1.0, 1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn sen_slope_hand_computed_and_robust() {
        // x = 0..4, y = [0, 1, 2, 3, 40]: pairwise slopes
        // 1,1,1,10 | 1,1,13 | 1,19 | 37 -> sorted 1,1,1,1,1,1,10,13,19,37 -> median 1.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [0.0, 1.0, 2.0, 3.0, 40.0];
        let f = sen_slope(&x, &y).unwrap();
        assert!(close(f.slope, 1.0));
        // residuals y - x = 0,0,0,0,36 -> median 0.
        assert!(close(f.intercept, 0.0));
        // Even number of slopes: x = 0,1,2, y = 0,2,3 -> slopes 2, 1.5, 1 -> median 1.5.
        let f = sen_slope(&[0.0, 1.0, 2.0], &[0.0, 2.0, 3.0]).unwrap();
        assert!(close(f.slope, 1.5));
        // x = 0,1,2,3, y = 0,1,3,6: slopes 1,1.5,2,2,2.5,3 -> median (2+2)/2 = 2.
        let f = sen_slope(&[0.0, 1.0, 2.0, 3.0], &[0.0, 1.0, 3.0, 6.0]).unwrap();
        assert!(close(f.slope, 2.0));
        // Ties in x are skipped: (0,0),(0,1),(1,3) -> slopes 3, 2 -> median 2.5.
        let f = sen_slope(&[0.0, 0.0, 1.0], &[0.0, 1.0, 3.0]).unwrap();
        assert!(close(f.slope, 2.5));
        assert!(sen_slope(&[2.0, 2.0], &[1.0, 3.0]).is_err());
    }
}
