//! Point scores of simulated against observed values (RMSE, bias, MAE,
//! Pearson r), trend estimators (ordinary least squares with the slope's
//! standard error, Sen's slope) and the Mann-Kendall trend test.
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

/// Standard error of the OLS slope, `sqrt(sum(r^2) / (n - 2) / sxx)` with
/// `r` the residuals of [`ols_fit`]. Errors with fewer than three finite
/// pairs (no residual degree of freedom) or when all x are equal.
pub fn ols_slope_se(x: &[f64], y: &[f64]) -> Result<f64> {
    let fit = ols_fit(x, y)?;
    let (x, y) = finite_pairs(x, y, "OLS slope standard error")?;
    if x.len() < 3 {
        return Err(Error::Other(format!(
            "the OLS slope's standard error needs at least 3 finite pairs, got {}",
            x.len()
        )));
    }
    let mx = mean(&x);
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let rss: f64 = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (b - fit.at(*a)).powi(2))
        .sum();
    Ok((rss / (x.len() - 2) as f64 / sxx).sqrt())
}

/// The complementary error function `erfc(x) = 2/sqrt(pi) int_x^inf
/// exp(-t^2) dt`, to about 2e-14 relative: below |x| = 1.5 from the series
/// `erf(x) = 2/sqrt(pi) exp(-x^2) sum_k 2^k x^(2k+1) / (1 3 5 ... (2k+1))`
/// (positive terms, no cancellation), above from Laplace's continued
/// fraction `erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x
/// + ...))))`, evaluated from its 100th term back.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let inv_sqrt_pi = 1.0 / std::f64::consts::PI.sqrt();
    if x < 1.5 {
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        let mut k = 0.0;
        while term > 1e-17 * sum {
            k += 1.0;
            term *= 2.0 * x2 / (2.0 * k + 1.0);
            sum += term;
        }
        1.0 - 2.0 * inv_sqrt_pi * (-x2).exp() * sum
    } else {
        let mut f = x;
        for k in (1..=100).rev() {
            f = x + 0.5 * f64::from(k) / f;
        }
        (-x * x).exp() * inv_sqrt_pi / f
    }
}

/// The Mann-Kendall trend test of a series against time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MannKendall {
    /// Kendall's S, the number of concordant minus discordant pairs.
    pub s: f64,
    /// Variance of S under no trend, corrected for ties.
    pub var_s: f64,
    /// Normal score with continuity correction, `(S - sign S) / sqrt(var S)`.
    pub z: f64,
    /// Two-sided p-value of `z` under the standard normal.
    pub p: f64,
    /// Number of finite pairs used.
    pub n: usize,
}

/// The sign of `d` as 1, -1 or 0 (`f64::signum` gives 1 for 0).
pub(crate) fn sign(d: f64) -> f64 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Sizes of the groups of equal values in `v` (sorted in place).
fn tie_groups(v: &mut [f64]) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let j = i + v[i..].iter().take_while(|&&w| w == v[i]).count();
        if j - i > 1 {
            out.push((j - i) as f64);
        }
        i = j;
    }
    out
}

/// The Mann-Kendall test (Mann 1945; Kendall 1975) of `y` against the times
/// `x`: `S = sum_{i<j} sign(x_j - x_i) sign(y_j - y_i)`, which for distinct
/// times is Mann's statistic in time order. Its variance is Kendall's with
/// ties in y (and in x, should two values share a time):
/// `[n(n-1)(2n+5) - sum t(t-1)(2t+5) - sum u(u-1)(2u+5)] / 18 + sum
/// t(t-1)(t-2) sum u(u-1)(u-2) / (9n(n-1)(n-2)) + sum t(t-1) sum u(u-1) /
/// (2n(n-1))` over the tie groups t of y and u of x. The p-value is the
/// normal approximation's with continuity correction, the usual form in
/// hydrology and permafrost trend studies; for fewer than about ten values
/// it is only indicative (with three values no p below 0.29 is possible).
/// Errors when S has no variance (fewer than two pairs, or all y or all x
/// equal).
pub fn mann_kendall(x: &[f64], y: &[f64]) -> Result<MannKendall> {
    let (x, y) = finite_pairs(x, y, "Mann-Kendall test")?;
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in (i + 1)..n {
            s += sign(x[j] - x[i]) * sign(y[j] - y[i]);
        }
    }
    let nf = n as f64;
    let (tx, ty) = (tie_groups(&mut x.clone()), tie_groups(&mut y.clone()));
    let sum = |g: &[f64], f: fn(f64) -> f64| g.iter().map(|&t| f(t)).sum::<f64>();
    let v0 = nf * (nf - 1.0) * (2.0 * nf + 5.0);
    let a = |t: f64| t * (t - 1.0) * (2.0 * t + 5.0);
    let b = |t: f64| t * (t - 1.0) * (t - 2.0);
    let c = |t: f64| t * (t - 1.0);
    let mut var_s = (v0 - sum(&tx, a) - sum(&ty, a)) / 18.0;
    if n > 2 {
        var_s += sum(&tx, b) * sum(&ty, b) / (9.0 * nf * (nf - 1.0) * (nf - 2.0));
    }
    if n > 1 {
        var_s += sum(&tx, c) * sum(&ty, c) / (2.0 * nf * (nf - 1.0));
    }
    if !(var_s > 0.0) {
        return Err(Error::Other(format!(
            "Mann-Kendall test: S has no variance ({n} finite pairs; all values or all \
             times equal?)"
        )));
    }
    let z = (s - sign(s)) / var_s.sqrt();
    Ok(MannKendall {
        s,
        var_s,
        z,
        p: erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0),
        n,
    })
}

/// Linear trends of an annual series, in units per decade.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecadalTrend {
    /// Ordinary least-squares slope x 10 (units per decade).
    pub ols_per_decade: f64,
    /// Standard error of the OLS slope x 10; `None` with fewer than three values.
    pub ols_se_per_decade: Option<f64>,
    /// Sen's slope x 10 (units per decade).
    pub sen_per_decade: f64,
    /// Two-sided p-value of the Mann-Kendall test; `None` when every value is equal.
    pub mann_kendall_p: Option<f64>,
    /// Number of finite (year, value) pairs used.
    pub n: usize,
}

/// OLS (with its standard error) and Sen's slope of `values` against
/// `years` (calendar years), per decade, and the Mann-Kendall p-value.
pub fn decadal_trend(years: &[f64], values: &[f64]) -> Result<DecadalTrend> {
    let ols = ols_fit(years, values)?;
    let sen = sen_slope(years, values)?;
    Ok(DecadalTrend {
        ols_per_decade: 10.0 * ols.slope,
        ols_se_per_decade: ols_slope_se(years, values).ok().map(|se| 10.0 * se),
        sen_per_decade: 10.0 * sen.slope,
        mann_kendall_p: mann_kendall(years, values).ok().map(|m| m.p),
        n: ols.n,
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
    fn decadal_trends() {
        // 0.03 per year is 0.3 per decade; one outlier moves OLS but not Sen.
        let years: Vec<f64> = (2000..2010).map(f64::from).collect();
        let mut v: Vec<f64> = years.iter().map(|y| 0.03 * (y - 2000.0)).collect();
        let t = decadal_trend(&years, &v).unwrap();
        assert!((t.ols_per_decade - 0.3).abs() < 1e-12);
        assert!((t.sen_per_decade - 0.3).abs() < 1e-12);
        assert_eq!(t.n, 10);
        v[9] += 3.0;
        let t = decadal_trend(&years, &v).unwrap();
        assert!((t.sen_per_decade - 0.3).abs() < 1e-12);
        // OLS slope rises by 3 * (x9 - mean x) / sxx = 3 * 4.5 / 82.5 per year.
        assert!((t.ols_per_decade - (0.3 + 10.0 * 3.0 * 4.5 / 82.5)).abs() < 1e-12);
    }

    #[test]
    fn erfc_matches_scipy() {
        // scipy.special.erfc 1.17.1 (Cephes), both sides of the switch at 1.5.
        let cases = [
            (0.0, 1.0),
            (0.1, 0.8875370839817152),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028516),
            (1.4999, 0.033906748337704726),
            (1.5, 0.03389485352468927),
            (2.0, 0.004677734981047266),
            (3.0, 2.2090496998585445e-05),
            (5.0, 1.5374597944280347e-12),
            (10.0, 2.0884875837625446e-45),
            (-1.0, 1.8427007929497148),
            (-3.0, 1.9999779095030015),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= 2e-14 * want,
                "erfc({x}) = {got}, want {want}"
            );
        }
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn mann_kendall_matches_pymannkendall_and_scipy() {
        let years: Vec<f64> = (2000..2012).map(f64::from).collect();
        // pymannkendall 1.4.3 original_test: S, var S, z, p.
        let y1 = [
            0.52, 0.61, 0.58, 0.70, 0.66, 0.79, 0.75, 0.83, 0.80, 0.95, 0.91, 1.02,
        ];
        let m = mann_kendall(&years, &y1).unwrap();
        assert_eq!((m.s, m.n), (56.0, 12));
        assert!(close(m.var_s, 212.66666666666666));
        assert!(close(m.z, 3.771490147280579));
        assert!((m.p - 0.00016227556647607777).abs() < 1e-15);
        // Ties in the values.
        let y2 = [1.0, 1.2, 1.2, 0.9, 1.5, 1.5, 1.5, 1.1, 1.8, 1.6];
        let m = mann_kendall(&years[..10], &y2).unwrap();
        assert_eq!(m.s, 23.0);
        assert!(close(m.var_s, 120.33333333333333));
        assert!(close(m.z, 2.0055325140271214));
        assert!((m.p - 0.0449061483905).abs() < 1e-13);
        // Three values: the smallest p the test can give.
        let m = mann_kendall(&years[..3], &[4.09, 4.5, 4.9]).unwrap();
        assert!(close(m.var_s, 11.0 / 3.0) && (m.p - 0.2962698714842864).abs() < 1e-14);
        // Falling series: negative S and z, same p.
        let down: Vec<f64> = y1.iter().map(|v| -v).collect();
        let m = mann_kendall(&years, &down).unwrap();
        assert!(m.s == -56.0 && close(m.z, -3.771490147280579));
        // Ties in time and value: Kendall's variance as scipy.stats.kendalltau
        // (asymptotic) uses it; its z = S / sqrt(var S) = 2.5508006671194887.
        let x4 = [
            2000.0, 2000.0, 2001.0, 2002.0, 2002.0, 2003.0, 2004.0, 2005.0,
        ];
        let y4 = [1.0, 1.1, 1.1, 1.3, 1.2, 1.2, 1.6, 1.5];
        let m = mann_kendall(&x4, &y4).unwrap();
        assert_eq!(m.s, 20.0);
        assert!(close(m.var_s, 61.47619047619048));
        assert!((m.s / m.var_s.sqrt() - 2.5508006671194887).abs() < 1e-12);
        assert!(close(m.z, 19.0 / m.var_s.sqrt()));
        // No trend to test.
        assert!(mann_kendall(&years[..4], &[1.0; 4]).is_err());
        assert!(mann_kendall(&[1.0], &[2.0]).is_err());
    }

    #[test]
    fn ols_slope_se_matches_scipy_linregress() {
        let years: Vec<f64> = (2000..2012).map(f64::from).collect();
        let y = [
            0.52, 0.61, 0.58, 0.70, 0.66, 0.79, 0.75, 0.83, 0.80, 0.95, 0.91, 1.02,
        ];
        // scipy.stats.linregress: slope 0.04111888111888112, stderr 0.0035499412997194624.
        assert!((ols_slope_se(&years, &y).unwrap() - 0.0035499412997194624).abs() < 1e-15);
        let t = decadal_trend(&years, &y).unwrap();
        assert!((t.ols_per_decade - 0.4111888111888112).abs() < 1e-12);
        assert!((t.ols_se_per_decade.unwrap() - 0.035499412997194624).abs() < 1e-14);
        assert!((t.mann_kendall_p.unwrap() - 0.00016227556647607777).abs() < 1e-15);
        // An exact line has no residual; two points leave no degree of freedom.
        assert_eq!(
            ols_slope_se(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]).unwrap(),
            0.0
        );
        assert!(ols_slope_se(&[0.0, 1.0], &[1.0, 3.0]).is_err());
        let t = decadal_trend(&[0.0, 1.0], &[1.0, 3.0]).unwrap();
        assert!(t.ols_se_per_decade.is_none());
        assert!(decadal_trend(&years[..3], &[2.0; 3])
            .unwrap()
            .mann_kendall_p
            .is_none());
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
