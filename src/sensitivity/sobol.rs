//! Sobol sensitivity indices from a Saltelli design.
//!
//! With `A`, `B`, `AB_j` (and `BA_j`) the outputs of the design blocks (see
//! [`super::saltelli`]) and `V` the population variance of the 2N values of A
//! and B:
//!
//! - first order, Saltelli et al. (2010) Table 2 (b): `S_j = mean(B (AB_j - A)) / V`;
//! - total, Jansen (1999) as in Saltelli et al. (2010) Table 2 (f):
//!   `ST_j = mean((A - AB_j)^2) / (2 V)`;
//! - second order, Saltelli (2002): `V_jk = mean(BA_j AB_k - A B) / V`,
//!   `S_jk = V_jk - S_j - S_k`.
//!
//! The first-order estimator is not invariant to a shift of Y, so, exactly as
//! SALib 1.6 `sobol.analyze`, the outputs are by default standardised over the
//! whole design, `Y <- (Y - mean(Y)) / std(Y)` with the population standard
//! deviation, before the estimators are applied. Confidence intervals come from
//! a seeded bootstrap that resamples base samples (whole blocks) with
//! replacement; `*_conf` is SALib's half-width `z_{(1+c)/2} * std(bootstrap, ddof=1)`
//! and `*_interval` the percentile interval of the bootstrap distribution.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::saltelli::SaltelliDesign;
use super::stats::{mean, normal_quantile, quantile_sorted, std_dev, variance};
use crate::{Error, Result};

/// Options of the Sobol analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SobolOptions {
    /// Whether the design holds BA blocks and second-order indices are computed.
    pub second_order: bool,
    /// Standardise Y by its mean and population standard deviation (SALib 1.6).
    pub standardize: bool,
    /// Number of bootstrap resamples (0 disables confidence intervals).
    pub bootstrap: usize,
    /// Confidence level of the intervals, in (0, 1).
    pub confidence: f64,
    /// Seed of the bootstrap resampling.
    pub seed: u64,
}

impl Default for SobolOptions {
    fn default() -> Self {
        Self {
            second_order: false,
            standardize: true,
            bootstrap: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// Sobol indices of one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SobolIndices {
    /// First-order indices, one per parameter.
    pub s1: Vec<f64>,
    /// Half-widths of the first-order confidence intervals (SALib convention).
    pub s1_conf: Vec<f64>,
    /// Percentile bootstrap intervals of the first-order indices.
    pub s1_interval: Vec<(f64, f64)>,
    /// Total-order indices.
    pub st: Vec<f64>,
    /// Half-widths of the total-order confidence intervals.
    pub st_conf: Vec<f64>,
    /// Percentile bootstrap intervals of the total-order indices.
    pub st_interval: Vec<(f64, f64)>,
    /// Second-order indices `s2[j][k]` for `j < k` (NaN elsewhere), if requested.
    pub s2: Option<Vec<Vec<f64>>>,
    /// Half-widths of the second-order confidence intervals.
    pub s2_conf: Option<Vec<Vec<f64>>>,
}

/// Blocks of one output split out of the design order.
struct Blocks {
    a: Vec<f64>,
    b: Vec<f64>,
    ab: Vec<Vec<f64>>,
    ba: Vec<Vec<f64>>,
}

fn split_blocks(y: &[f64], dims: usize, second_order: bool) -> Blocks {
    let per = SaltelliDesign::rows_per_sample(dims, second_order);
    let n = y.len() / per;
    let mut bl = Blocks {
        a: Vec::with_capacity(n),
        b: Vec::with_capacity(n),
        ab: vec![Vec::with_capacity(n); dims],
        ba: if second_order {
            vec![Vec::with_capacity(n); dims]
        } else {
            Vec::new()
        },
    };
    for blk in y.chunks_exact(per) {
        bl.a.push(blk[0]);
        for j in 0..dims {
            bl.ab[j].push(blk[1 + j]);
            if second_order {
                bl.ba[j].push(blk[1 + dims + j]);
            }
        }
        bl.b.push(blk[per - 1]);
    }
    bl
}

/// Point estimates on the base samples listed in `idx`.
fn estimate(
    bl: &Blocks,
    idx: &[usize],
    second_order: bool,
) -> (Vec<f64>, Vec<f64>, Option<Vec<Vec<f64>>>) {
    let dims = bl.ab.len();
    let n = idx.len() as f64;
    let mut ab_all: Vec<f64> = idx.iter().map(|&i| bl.a[i]).collect();
    ab_all.extend(idx.iter().map(|&i| bl.b[i]));
    let v = variance(&ab_all, 0);
    let mut s1 = vec![0.0; dims];
    let mut st = vec![0.0; dims];
    for j in 0..dims {
        let mut f = 0.0;
        let mut t = 0.0;
        for &i in idx {
            let (a, b, abj) = (bl.a[i], bl.b[i], bl.ab[j][i]);
            f += b * (abj - a);
            t += (a - abj) * (a - abj);
        }
        s1[j] = f / n / v;
        st[j] = 0.5 * t / n / v;
    }
    let s2 = second_order.then(|| {
        let mut m = vec![vec![f64::NAN; dims]; dims];
        for j in 0..dims {
            for k in (j + 1)..dims {
                let vjk: f64 = idx
                    .iter()
                    .map(|&i| bl.ba[j][i] * bl.ab[k][i] - bl.a[i] * bl.b[i])
                    .sum::<f64>()
                    / n
                    / v;
                m[j][k] = vjk - s1[j] - s1[k];
            }
        }
        m
    });
    (s1, st, s2)
}

/// Sobol indices of output `y` evaluated on a Saltelli design of `dims` parameters.
pub fn sobol_analyze(y: &[f64], dims: usize, opts: &SobolOptions) -> Result<SobolIndices> {
    let per = SaltelliDesign::rows_per_sample(dims, opts.second_order);
    if dims == 0 || y.is_empty() || !y.len().is_multiple_of(per) {
        return Err(Error::Parameter {
            name: "sobol".into(),
            message: format!(
                "{} outputs is not a multiple of {per} rows per base sample (D = {dims}, second order = {})",
                y.len(),
                opts.second_order
            ),
        });
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::Parameter {
            name: "sobol".into(),
            message: format!("output at design row {i} is not finite ({})", y[i]),
        });
    }
    if !(opts.confidence > 0.0 && opts.confidence < 1.0) {
        return Err(Error::Parameter {
            name: "confidence".into(),
            message: format!("must lie in (0, 1), got {}", opts.confidence),
        });
    }
    let n = y.len() / per;
    let yy: Vec<f64> = if opts.standardize {
        let m = mean(y);
        let s = std_dev(y, 0);
        if s == 0.0 {
            return Err(Error::Parameter {
                name: "sobol".into(),
                message: "output is constant over the design; indices are undefined".into(),
            });
        }
        y.iter().map(|v| (v - m) / s).collect()
    } else {
        y.to_vec()
    };
    let bl = split_blocks(&yy, dims, opts.second_order);
    let all: Vec<usize> = (0..n).collect();
    let (s1, st, s2) = estimate(&bl, &all, opts.second_order);

    // Bootstrap over base samples.
    let nb = opts.bootstrap;
    let mut b1 = vec![Vec::with_capacity(nb); dims];
    let mut bt = vec![Vec::with_capacity(nb); dims];
    let mut b2 = vec![vec![Vec::with_capacity(nb); dims]; if opts.second_order { dims } else { 0 }];
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let mut idx = vec![0usize; n];
    for _ in 0..nb {
        for v in idx.iter_mut() {
            *v = rng.random_range(0..n);
        }
        let (r1, rt, r2) = estimate(&bl, &idx, opts.second_order);
        for j in 0..dims {
            b1[j].push(r1[j]);
            bt[j].push(rt[j]);
        }
        if let Some(r2) = r2 {
            for j in 0..dims {
                for k in (j + 1)..dims {
                    b2[j][k].push(r2[j][k]);
                }
            }
        }
    }
    let z = normal_quantile(0.5 + opts.confidence / 2.0);
    let alpha = (1.0 - opts.confidence) / 2.0;
    let conf = |v: &[f64]| {
        if v.len() > 1 {
            z * std_dev(v, 1)
        } else {
            f64::NAN
        }
    };
    let interval = |v: &[f64]| {
        if v.len() < 2 {
            return (f64::NAN, f64::NAN);
        }
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        (quantile_sorted(&s, alpha), quantile_sorted(&s, 1.0 - alpha))
    };
    let s2_conf = opts.second_order.then(|| {
        let mut m = vec![vec![f64::NAN; dims]; dims];
        for j in 0..dims {
            for k in (j + 1)..dims {
                m[j][k] = conf(&b2[j][k]);
            }
        }
        m
    });
    Ok(SobolIndices {
        s1,
        s1_conf: b1.iter().map(|v| conf(v)).collect(),
        s1_interval: b1.iter().map(|v| interval(v)).collect(),
        st,
        st_conf: bt.iter().map(|v| conf(v)).collect(),
        st_interval: bt.iter().map(|v| interval(v)).collect(),
        s2,
        s2_conf,
    })
}
