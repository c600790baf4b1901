//! Morris elementary-effects screening (Morris 1991) with the improved
//! statistics and optimised trajectory spread of Campolongo, Cariboni and
//! Saltelli (2007), "An effective screening design for sensitivity analysis of
//! large models", Environ. Model. Softw. 22, 1509-1518.
//!
//! A trajectory is `D + 1` points of a `p`-level grid in the unit cube; each
//! step changes one coordinate by `+-Delta`, `Delta = p / (2 (p - 1))`. The
//! elementary effect of parameter j on a step is `(y_next - y) / (x_next,j - x_j)`.
//! Per parameter: `mu` (mean effect), `mu*` (mean absolute effect) and `sigma`
//! (sample standard deviation, ddof = 1, as SALib) over the trajectories.
//!
//! Spread optimisation: `M` candidate trajectories are drawn and the `r` of
//! them maximising Campolongo's spread `D^2 = sum over pairs (m, l) of d_ml^2`
//! are kept, where `d_ml` is the sum of the Euclidean distances between every
//! point of trajectory m and every point of trajectory l. When the number of
//! subsets `C(M, r)` is at most [`BRUTE_FORCE_LIMIT`] every subset is tried;
//! otherwise a greedy heuristic starts from the farthest pair and repeatedly
//! adds the candidate with the largest sum of squared distances to those
//! already chosen (the forward selection of Ruano et al. 2012, "An optimal
//! Morris screening method...", Environ. Model. Softw. 37, 103-109).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::stats::{mean, normal_quantile, std_dev};
use crate::{Error, Result};

/// Largest number of candidate subsets searched exhaustively.
pub const BRUTE_FORCE_LIMIT: u64 = 200_000;

/// Options of the Morris design.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MorrisOptions {
    /// Number of grid levels p (even, >= 2).
    pub levels: usize,
    /// Number of trajectories r kept.
    pub trajectories: usize,
    /// Number of candidate trajectories M drawn for the spread optimisation
    /// (`None` or a value <= r keeps r random trajectories without optimisation).
    pub candidates: Option<usize>,
    /// Seed of the trajectory generator.
    pub seed: u64,
}

impl Default for MorrisOptions {
    fn default() -> Self {
        Self {
            levels: 4,
            trajectories: 10,
            candidates: Some(50),
            seed: 0,
        }
    }
}

/// A Morris design: `trajectories * (dims + 1)` rows in the unit cube.
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisDesign {
    /// Number of parameters D.
    pub dims: usize,
    /// Number of grid levels p.
    pub levels: usize,
    /// Number of trajectories r.
    pub trajectories: usize,
    /// Rows, trajectory after trajectory.
    pub rows: Vec<Vec<f64>>,
}

/// One random trajectory on a `levels`-level grid (Morris 1991, eq. B*):
/// a random base point on `{0, 1/(p-1), ..., 1 - Delta}`, a random order of the
/// coordinates and a random direction per coordinate.
pub fn random_trajectory<R: Rng>(dims: usize, levels: usize, rng: &mut R) -> Vec<Vec<f64>> {
    let delta = levels as f64 / (2.0 * (levels as f64 - 1.0));
    // Base levels 0 ..= p/2 - 1 leave room for +Delta.
    let base_levels = levels / 2;
    let mut x: Vec<f64> = (0..dims)
        .map(|_| rng.random_range(0..base_levels) as f64 / (levels as f64 - 1.0))
        .collect();
    // Random sign per coordinate: a negative sign starts at base + Delta and steps down.
    let up: Vec<bool> = (0..dims).map(|_| rng.random::<bool>()).collect();
    for j in 0..dims {
        if !up[j] {
            x[j] += delta;
        }
    }
    let mut order: Vec<usize> = (0..dims).collect();
    order.shuffle(rng);
    let mut traj = Vec::with_capacity(dims + 1);
    traj.push(x.clone());
    for &j in &order {
        x[j] += if up[j] { delta } else { -delta };
        // Snap to the grid to remove rounding drift.
        x[j] = (x[j] * (levels as f64 - 1.0)).round() / (levels as f64 - 1.0);
        traj.push(x.clone());
    }
    traj
}

/// Campolongo's distance between two trajectories: the sum of Euclidean
/// distances over all pairs of their points.
pub fn trajectory_distance(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let mut d = 0.0;
    for p in a {
        for q in b {
            d += p
                .iter()
                .zip(q)
                .map(|(u, v)| (u - v) * (u - v))
                .sum::<f64>()
                .sqrt();
        }
    }
    d
}

/// Campolongo's spread `D^2` of a set of trajectories given by index into a
/// pairwise distance matrix.
pub fn spread(dist: &[Vec<f64>], chosen: &[usize]) -> f64 {
    let mut s = 0.0;
    for (i, &m) in chosen.iter().enumerate() {
        for &l in &chosen[i + 1..] {
            s += dist[m][l] * dist[m][l];
        }
    }
    s
}

fn binomial(n: usize, k: usize) -> u64 {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > u64::MAX as u128 {
            return u64::MAX;
        }
    }
    c as u64
}

/// Select `r` of the candidate trajectories maximising the spread: exhaustive
/// when `C(M, r) <= BRUTE_FORCE_LIMIT`, greedy forward selection otherwise.
/// Returns the chosen candidate indices in increasing order.
pub fn select_trajectories(candidates: &[Vec<Vec<f64>>], r: usize) -> Result<Vec<usize>> {
    let m = candidates.len();
    if r == 0 || r > m {
        return Err(Error::Parameter {
            name: "trajectories".into(),
            message: format!("cannot choose {r} of {m} candidate trajectories"),
        });
    }
    if r == m {
        return Ok((0..m).collect());
    }
    let mut dist = vec![vec![0.0; m]; m];
    for i in 0..m {
        for j in (i + 1)..m {
            let d = trajectory_distance(&candidates[i], &candidates[j]);
            dist[i][j] = d;
            dist[j][i] = d;
        }
    }
    if binomial(m, r) <= BRUTE_FORCE_LIMIT {
        // Enumerate combinations in lexicographic order; keep the first best.
        let mut comb: Vec<usize> = (0..r).collect();
        let mut best = comb.clone();
        let mut best_s = spread(&dist, &comb);
        loop {
            let mut i = r;
            while i > 0 && comb[i - 1] == m - r + i - 1 {
                i -= 1;
            }
            if i == 0 {
                break;
            }
            comb[i - 1] += 1;
            for k in i..r {
                comb[k] = comb[k - 1] + 1;
            }
            let s = spread(&dist, &comb);
            if s > best_s {
                best_s = s;
                best.copy_from_slice(&comb);
            }
        }
        return Ok(best);
    }
    // Greedy: farthest pair, then add the candidate adding the most spread.
    let (mut bi, mut bj, mut bd) = (0, 1, f64::NEG_INFINITY);
    for (i, row) in dist.iter().enumerate() {
        for (j, &d) in row.iter().enumerate().skip(i + 1) {
            if d > bd {
                (bi, bj, bd) = (i, j, d);
            }
        }
    }
    let mut chosen = vec![bi, bj];
    let mut gain: Vec<f64> = (0..m)
        .map(|k| dist[bi][k].powi(2) + dist[bj][k].powi(2))
        .collect();
    let mut used = vec![false; m];
    used[bi] = true;
    used[bj] = true;
    while chosen.len() < r {
        let mut best = None;
        for k in 0..m {
            if !used[k] && best.is_none_or(|b: usize| gain[k] > gain[b]) {
                best = Some(k);
            }
        }
        let k = best.ok_or_else(|| Error::Other("no candidate trajectory left".into()))?;
        used[k] = true;
        chosen.push(k);
        for (l, g) in gain.iter_mut().enumerate() {
            *g += dist[k][l].powi(2);
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Generate a Morris design of `dims` parameters.
pub fn morris_design(dims: usize, opts: &MorrisOptions) -> Result<MorrisDesign> {
    if dims == 0 {
        return Err(Error::Parameter {
            name: "morris".into(),
            message: "need at least one parameter".into(),
        });
    }
    if opts.levels < 2 || !opts.levels.is_multiple_of(2) {
        return Err(Error::Parameter {
            name: "levels".into(),
            message: format!(
                "the number of Morris levels must be even and >= 2, got {}",
                opts.levels
            ),
        });
    }
    if opts.trajectories == 0 {
        return Err(Error::Parameter {
            name: "trajectories".into(),
            message: "need at least one trajectory".into(),
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let m = opts
        .candidates
        .unwrap_or(opts.trajectories)
        .max(opts.trajectories);
    let cands: Vec<Vec<Vec<f64>>> = (0..m)
        .map(|_| random_trajectory(dims, opts.levels, &mut rng))
        .collect();
    let chosen = select_trajectories(&cands, opts.trajectories)?;
    let rows = chosen
        .iter()
        .flat_map(|&i| cands[i].iter().cloned())
        .collect();
    Ok(MorrisDesign {
        dims,
        levels: opts.levels,
        trajectories: opts.trajectories,
        rows,
    })
}

/// Morris statistics of one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MorrisIndices {
    /// Mean elementary effect per parameter (output unit per unit-cube unit).
    pub mu: Vec<f64>,
    /// Mean absolute elementary effect.
    pub mu_star: Vec<f64>,
    /// Sample standard deviation of the elementary effects (ddof = 1; NaN for r = 1).
    pub sigma: Vec<f64>,
    /// Half-width of the bootstrap confidence interval of mu* (SALib convention).
    pub mu_star_conf: Vec<f64>,
    /// The elementary effects, `effects[j][t]` for parameter j and trajectory t.
    pub effects: Vec<Vec<f64>>,
}

/// Options of the Morris analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MorrisAnalyzeOptions {
    /// Bootstrap resamples for the mu* interval (0 disables it).
    pub bootstrap: usize,
    /// Confidence level in (0, 1).
    pub confidence: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Default for MorrisAnalyzeOptions {
    fn default() -> Self {
        Self {
            bootstrap: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// Elementary effects and Morris statistics of output `y` on trajectory rows `x`
/// (`r * (dims + 1)` rows). Every step must change exactly one coordinate and
/// every trajectory must move every coordinate once.
pub fn morris_analyze(
    x: &[Vec<f64>],
    y: &[f64],
    dims: usize,
    opts: &MorrisAnalyzeOptions,
) -> Result<MorrisIndices> {
    let per = dims + 1;
    let bad = |message: String| Error::Parameter {
        name: "morris".into(),
        message,
    };
    if dims == 0 || x.is_empty() || !x.len().is_multiple_of(per) || x.len() != y.len() {
        return Err(bad(format!(
            "{} rows and {} outputs do not form whole trajectories of {per} points",
            x.len(),
            y.len()
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "output at design row {i} is not finite ({})",
            y[i]
        )));
    }
    let r = x.len() / per;
    let mut effects = vec![vec![f64::NAN; r]; dims];
    #[allow(clippy::needless_range_loop)] // t indexes both rows and effects
    for t in 0..r {
        for s in 0..dims {
            let i = t * per + s;
            let (p, q) = (&x[i], &x[i + 1]);
            if p.len() != dims || q.len() != dims {
                return Err(bad(format!("design row {i} does not have {dims} columns")));
            }
            let changed: Vec<usize> = (0..dims).filter(|&j| p[j] != q[j]).collect();
            if changed.len() != 1 {
                return Err(bad(format!(
                    "rows {i} and {} change {} coordinates; a Morris step changes exactly one",
                    i + 1,
                    changed.len()
                )));
            }
            let j = changed[0];
            if !effects[j][t].is_nan() {
                return Err(bad(format!("trajectory {t} moves parameter {j} twice")));
            }
            effects[j][t] = (y[i + 1] - y[i]) / (q[j] - p[j]);
        }
    }
    let mu = effects.iter().map(|e| mean(e)).collect();
    let abs: Vec<Vec<f64>> = effects
        .iter()
        .map(|e| e.iter().map(|v| v.abs()).collect())
        .collect();
    let mu_star = abs.iter().map(|e| mean(e)).collect();
    let sigma = effects
        .iter()
        .map(|e| if r > 1 { std_dev(e, 1) } else { f64::NAN })
        .collect();
    // Bootstrap of mu* over trajectories.
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let mut boot = vec![Vec::with_capacity(opts.bootstrap); dims];
    let mut idx = vec![0usize; r];
    for _ in 0..opts.bootstrap {
        for v in idx.iter_mut() {
            *v = rng.random_range(0..r);
        }
        for j in 0..dims {
            boot[j].push(idx.iter().map(|&t| abs[j][t]).sum::<f64>() / r as f64);
        }
    }
    let z = normal_quantile(0.5 + opts.confidence / 2.0);
    let mu_star_conf = boot
        .iter()
        .map(|b| {
            if b.len() > 1 {
                z * std_dev(b, 1)
            } else {
                f64::NAN
            }
        })
        .collect();
    Ok(MorrisIndices {
        mu,
        mu_star,
        sigma,
        mu_star_conf,
        effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectories_lie_on_the_grid_and_move_each_coordinate_once() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..50 {
            let t = random_trajectory(5, 6, &mut rng);
            assert_eq!(t.len(), 6);
            let mut moved = [0usize; 5];
            for w in t.windows(2) {
                let ch: Vec<usize> = (0..5).filter(|&j| w[0][j] != w[1][j]).collect();
                assert_eq!(ch.len(), 1);
                moved[ch[0]] += 1;
                assert!(((w[1][ch[0]] - w[0][ch[0]]).abs() - 0.6).abs() < 1e-12);
            }
            assert_eq!(moved, [1; 5]);
            for p in &t {
                for &v in p {
                    assert!((0.0..=1.0).contains(&v));
                    assert!(((v * 5.0) - (v * 5.0).round()).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn brute_force_finds_the_most_spread_subset() {
        // Four one-point "trajectories" on a line: 0, 0.1, 0.5, 1 -> best pair {0, 1}.
        let c: Vec<Vec<Vec<f64>>> = [0.0, 0.1, 0.5, 1.0]
            .iter()
            .map(|&v| vec![vec![v]])
            .collect();
        assert_eq!(select_trajectories(&c, 2).unwrap(), vec![0, 3]);
        // Best triple maximises the sum of squared distances: {0, 0.1, 1} gives
        // 0.01 + 1 + 0.81 = 1.82 against 0.25 + 1 + 0.25 = 1.5 for {0, 0.5, 1}.
        assert_eq!(select_trajectories(&c, 3).unwrap(), vec![0, 1, 3]);
    }

    #[test]
    fn greedy_matches_brute_force_on_a_small_case_and_beats_random() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let c: Vec<Vec<Vec<f64>>> = (0..40).map(|_| random_trajectory(4, 4, &mut rng)).collect();
        let mut dist = vec![vec![0.0; 40]; 40];
        for i in 0..40 {
            for j in 0..40 {
                dist[i][j] = trajectory_distance(&c[i], &c[j]);
            }
        }
        // C(40, 6) > limit: greedy path.
        assert!(binomial(40, 6) > BRUTE_FORCE_LIMIT);
        let g = select_trajectories(&c, 6).unwrap();
        let first: Vec<usize> = (0..6).collect();
        assert!(spread(&dist, &g) > spread(&dist, &first));
        // C(12, 4) is small: exhaustive is at least as good as greedy would be.
        let small = &c[..12];
        let b = select_trajectories(small, 4).unwrap();
        let mut best = 0.0f64;
        for i in 0..12 {
            for j in i + 1..12 {
                for k in j + 1..12 {
                    for l in k + 1..12 {
                        best = best.max(spread(&dist, &[i, j, k, l]));
                    }
                }
            }
        }
        assert!((spread(&dist, &b) - best).abs() < 1e-9);
    }

    #[test]
    fn designs_are_seeded() {
        let o = MorrisOptions {
            levels: 4,
            trajectories: 4,
            candidates: Some(12),
            seed: 5,
        };
        assert_eq!(morris_design(3, &o).unwrap(), morris_design(3, &o).unwrap());
        let o2 = MorrisOptions { seed: 6, ..o };
        assert_ne!(
            morris_design(3, &o).unwrap(),
            morris_design(3, &o2).unwrap()
        );
        assert!(morris_design(3, &MorrisOptions { levels: 3, ..o }).is_err());
    }
}
