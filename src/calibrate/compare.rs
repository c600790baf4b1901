//! Optimiser comparison on test functions with known optima: evaluations
//! needed to reach within 1 % of the optimum (median over seeds) at an equal
//! budget, and the optimiser's own time per iteration.

use std::path::Path;

use super::optimizer::OptimizerKind;
use super::run::{calibrate, CalibrationOptions};
use super::testfn::{TestFn, TestObjective};
use crate::{Error, Result};

/// One (function, optimiser) line of a comparison.
#[derive(Debug, Clone)]
pub struct CompareRow {
    /// Test function.
    pub func: TestFn,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Evaluation budget.
    pub budget: usize,
    /// Per seed: evaluations needed to get within 1 % of the optimum (`None`: not reached).
    pub evals_to_target: Vec<Option<usize>>,
    /// Per seed: best value found.
    pub best: Vec<f64>,
    /// Mean optimiser seconds per model-based iteration (GP fit + acquisition
    /// for BO; 0 for the model-free optimisers).
    pub mean_ask_seconds: f64,
    /// Largest optimiser seconds of one iteration.
    pub max_ask_seconds: f64,
}

impl CompareRow {
    /// Median of evaluations-to-target, counting a seed that never reached the
    /// target as `budget + 1` (so a median above the budget means "not reached
    /// by most seeds").
    pub fn median_evals(&self) -> f64 {
        let mut v: Vec<f64> = self
            .evals_to_target
            .iter()
            .map(|e| e.map(|n| n as f64).unwrap_or(self.budget as f64 + 1.0))
            .collect();
        median(&mut v)
    }

    /// Seeds that reached the target.
    pub fn n_reached(&self) -> usize {
        self.evals_to_target.iter().filter(|e| e.is_some()).count()
    }

    /// Median best value.
    pub fn median_best(&self) -> f64 {
        let mut v = self.best.clone();
        median(&mut v)
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Run every optimiser on every (function, budget) with each seed and `q`
/// points per iteration. Logs go to `work_dir` (one file per run, replaced).
pub fn compare_optimizers(
    cases: &[(TestFn, usize)],
    optimizers: &[OptimizerKind],
    seeds: &[u64],
    q: usize,
    work_dir: &Path,
    mut on_row: impl FnMut(&CompareRow),
) -> Result<Vec<CompareRow>> {
    std::fs::create_dir_all(work_dir).map_err(|e| Error::io(work_dir, e))?;
    let mut rows = Vec::new();
    for &(func, budget) in cases {
        let space = func.space()?;
        let obj = TestObjective::new(func);
        for &kind in optimizers {
            let mut row = CompareRow {
                func,
                optimizer: kind,
                budget,
                evals_to_target: Vec::new(),
                best: Vec::new(),
                mean_ask_seconds: 0.0,
                max_ask_seconds: 0.0,
            };
            let mut asks = Vec::new();
            for &seed in seeds {
                let log = work_dir.join(format!("{}-{}-{seed}.csv", func.name(), kind.as_str()));
                for p in [
                    log.clone(),
                    work_dir.join(format!("{}-{}-{seed}.csv.json", func.name(), kind.as_str())),
                ] {
                    if p.exists() {
                        std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                    }
                }
                let mut opt = kind.build(space.dim(), budget, seed)?;
                let opts = CalibrationOptions {
                    budget,
                    q,
                    seed,
                    ..Default::default()
                };
                let res = calibrate(&obj, &space, opt.as_mut(), &opts, &log, false)?;
                let trace = res.best_trace();
                row.evals_to_target.push(
                    trace
                        .iter()
                        .position(|v| func.within(*v, 0.01))
                        .map(|i| i + 1),
                );
                row.best.push(res.best_value().unwrap_or(f64::NAN));
                asks.extend(res.model_ask_seconds);
            }
            if !asks.is_empty() {
                row.mean_ask_seconds = asks.iter().sum::<f64>() / asks.len() as f64;
                row.max_ask_seconds = asks.iter().cloned().fold(0.0, f64::max);
            }
            on_row(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The comparison as a Markdown table.
pub fn markdown_table(rows: &[CompareRow]) -> String {
    let mut s = String::from(
        "| function | budget | optimiser | median evals to 1 % | seeds reaching 1 % | median best | surrogate fit + acquisition s/iteration (mean, max) |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let med = r.median_evals();
        let med = if med > r.budget as f64 {
            format!("> {}", r.budget)
        } else {
            format!("{med}")
        };
        s.push_str(&format!(
            "| {} (opt {:.5}) | {} | {} | {} | {}/{} | {:.5} | {:.4}, {:.4} |\n",
            r.func.name(),
            r.func.optimum(),
            r.budget,
            r.optimizer.as_str(),
            med,
            r.n_reached(),
            r.evals_to_target.len(),
            r.median_best(),
            r.mean_ask_seconds,
            r.max_ask_seconds
        ));
    }
    s
}
