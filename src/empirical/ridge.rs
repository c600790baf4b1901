//! Ridge regression with k-fold cross-validation, used to estimate ground-surface
//! temperature indices from air or land-surface temperature (the TTOP map method
//! of the Tarim basin study; ridge regression as in Hoerl and Kennard 1970).
//!
//! The model is `y = b0 + sum_j b_j x_j`, fitted by minimising
//! `sum_i (y_i - b0 - x_i . b)^2 + lambda * |b|^2` (the intercept is not
//! penalised). With centred data this is the linear system
//! `(Xc^T Xc + lambda I) b = Xc^T yc`, `b0 = mean(y) - mean(x) . b`, solved here by
//! Gaussian elimination with partial pivoting. Features may be standardised to unit
//! variance first so that one `lambda` treats all features alike; coefficients are
//! always reported on the original scale.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{Error, Result};

/// Solve the dense linear system `a x = b` (`a` row-major, n x n) by Gaussian
/// elimination with partial pivoting. Errors on a singular or non-finite system.
pub fn solve_linear(a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    let n = b.len();
    if a.len() != n * n {
        return Err(Error::Other(format!(
            "linear solve: matrix has {} entries, expected {n} x {n}",
            a.len()
        )));
    }
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return Err(Error::Other("linear solve: non-finite entry".into()));
    }
    let mut m = a.to_vec();
    let mut x = b.to_vec();
    let scale = m.iter().fold(0.0_f64, |s, v| s.max(v.abs())).max(1e-300);
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs()))
            .unwrap_or(col);
        if m[pivot * n + col].abs() <= 1e-13 * scale {
            return Err(Error::Other(format!(
                "linear solve: matrix is singular (pivot {col})"
            )));
        }
        if pivot != col {
            for k in 0..n {
                m.swap(col * n + k, pivot * n + k);
            }
            x.swap(col, pivot);
        }
        let p = m[col * n + col];
        for row in col + 1..n {
            let f = m[row * n + col] / p;
            if f != 0.0 {
                for k in col..n {
                    m[row * n + k] -= f * m[col * n + k];
                }
                x[row] -= f * x[col];
            }
        }
    }
    for row in (0..n).rev() {
        let mut s = x[row];
        for k in row + 1..n {
            s -= m[row * n + k] * x[k];
        }
        x[row] = s / m[row * n + row];
    }
    Ok(x)
}

/// A fitted ridge regression on the original feature scale.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeModel {
    /// Intercept `b0` (unit of the target).
    pub intercept: f64,
    /// One coefficient per feature (target unit per feature unit).
    pub coef: Vec<f64>,
    /// The penalty the model was fitted with.
    pub lambda: f64,
}

impl RidgeModel {
    /// Prediction for one feature row.
    pub fn predict_one(&self, x: &[f64]) -> Result<f64> {
        if x.len() != self.coef.len() {
            return Err(Error::Other(format!(
                "ridge predict: {} features given, model has {}",
                x.len(),
                self.coef.len()
            )));
        }
        Ok(self.intercept + x.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>())
    }

    /// Predictions for many rows.
    pub fn predict(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        rows.iter().map(|r| self.predict_one(r)).collect()
    }
}

fn check_xy(x: &[Vec<f64>], y: &[f64]) -> Result<usize> {
    if x.is_empty() {
        return Err(Error::Other("ridge: no samples".into()));
    }
    if x.len() != y.len() {
        return Err(Error::Grid(format!(
            "ridge: {} feature rows but {} targets",
            x.len(),
            y.len()
        )));
    }
    let p = x[0].len();
    if p == 0 {
        return Err(Error::Other("ridge: no features".into()));
    }
    for (i, row) in x.iter().enumerate() {
        if row.len() != p {
            return Err(Error::Grid(format!(
                "ridge: row {i} has {} features, row 0 has {p}",
                row.len()
            )));
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::Other(format!(
                "ridge: feature {j} of row {i} is not finite"
            )));
        }
        if !y[i].is_finite() {
            return Err(Error::Other(format!(
                "ridge: target of row {i} is not finite"
            )));
        }
    }
    Ok(p)
}

/// Fit a ridge regression with penalty `lambda` (>= 0). With `standardize`, features
/// are scaled to unit standard deviation before the penalty is applied (constant
/// features are left unscaled).
pub fn fit_ridge(x: &[Vec<f64>], y: &[f64], lambda: f64, standardize: bool) -> Result<RidgeModel> {
    let p = check_xy(x, y)?;
    if !lambda.is_finite() || lambda < 0.0 {
        return Err(Error::Parameter {
            name: "lambda".into(),
            message: format!("must be finite and >= 0, got {lambda}"),
        });
    }
    let n = x.len() as f64;
    let mean_x: Vec<f64> = (0..p)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mean_y = y.iter().sum::<f64>() / n;
    let scale: Vec<f64> = (0..p)
        .map(|j| {
            if !standardize {
                return 1.0;
            }
            let var = x.iter().map(|r| (r[j] - mean_x[j]).powi(2)).sum::<f64>() / n;
            if var > 0.0 {
                var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for (row, &yi) in x.iter().zip(y) {
        let z: Vec<f64> = (0..p).map(|j| (row[j] - mean_x[j]) / scale[j]).collect();
        for j in 0..p {
            b[j] += z[j] * (yi - mean_y);
            for k in 0..p {
                a[j * p + k] += z[j] * z[k];
            }
        }
    }
    for j in 0..p {
        a[j * p + j] += lambda;
    }
    let beta_z = solve_linear(&a, &b)?;
    let coef: Vec<f64> = beta_z.iter().zip(&scale).map(|(b, s)| b / s).collect();
    let intercept = mean_y - mean_x.iter().zip(&coef).map(|(m, c)| m * c).sum::<f64>();
    Ok(RidgeModel {
        intercept,
        coef,
        lambda,
    })
}

/// Result of choosing `lambda` by k-fold cross-validation.
#[derive(Clone, Debug)]
pub struct RidgeCv {
    /// The model refitted on all samples with the chosen `lambda`.
    pub model: RidgeModel,
    /// The candidate penalties, in the order given.
    pub lambdas: Vec<f64>,
    /// Cross-validated root-mean-square error per candidate (target unit).
    pub cv_rmse: Vec<f64>,
    /// Index of the chosen candidate (smallest CV RMSE; the larger penalty on ties).
    pub best: usize,
}

/// Assign `n` samples to `k` folds after a seeded shuffle: fold sizes differ by at
/// most one and the assignment depends only on `n`, `k` and `seed`.
pub fn kfold_assignment(n: usize, k: usize, seed: u64) -> Result<Vec<usize>> {
    if k < 2 || k > n {
        return Err(Error::Parameter {
            name: "folds".into(),
            message: format!("k-fold needs 2 <= k <= samples ({n}), got {k}"),
        });
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    idx.shuffle(&mut rng);
    let mut fold = vec![0; n];
    for (pos, &i) in idx.iter().enumerate() {
        fold[i] = pos % k;
    }
    Ok(fold)
}

/// Choose `lambda` among `lambdas` by `k`-fold cross-validation (seeded shuffle),
/// then refit on all samples.
pub fn fit_ridge_cv(
    x: &[Vec<f64>],
    y: &[f64],
    lambdas: &[f64],
    k: usize,
    standardize: bool,
    seed: u64,
) -> Result<RidgeCv> {
    check_xy(x, y)?;
    if lambdas.is_empty() {
        return Err(Error::Parameter {
            name: "lambdas".into(),
            message: "need at least one candidate".into(),
        });
    }
    let fold = kfold_assignment(x.len(), k, seed)?;
    let mut cv_rmse = Vec::with_capacity(lambdas.len());
    for &lambda in lambdas {
        let mut sse = 0.0;
        for f in 0..k {
            let (mut xt, mut yt) = (Vec::new(), Vec::new());
            for i in 0..x.len() {
                if fold[i] != f {
                    xt.push(x[i].clone());
                    yt.push(y[i]);
                }
            }
            let m = fit_ridge(&xt, &yt, lambda, standardize)?;
            for i in 0..x.len() {
                if fold[i] == f {
                    sse += (m.predict_one(&x[i])? - y[i]).powi(2);
                }
            }
        }
        cv_rmse.push((sse / x.len() as f64).sqrt());
    }
    let mut best = 0;
    for i in 1..lambdas.len() {
        let better = cv_rmse[i] < cv_rmse[best]
            || (cv_rmse[i] == cv_rmse[best] && lambdas[i] > lambdas[best]);
        if better {
            best = i;
        }
    }
    let model = fit_ridge(x, y, lambdas[best], standardize)?;
    Ok(RidgeCv {
        model,
        lambdas: lambdas.to_vec(),
        cv_rmse,
        best,
    })
}
