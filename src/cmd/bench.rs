//! `calimap bench`: benchmarks, one subcommand each.
//!
//! - `calimap bench column`: column-steps per second at daily and 3-hourly steps.
//! - `calimap bench optimizers`: BO against random search, Latin hypercube and
//!   particle swarm on Branin (50 evaluations) and Hartmann-6 (100).
//! - `calimap bench calibrate-testfn` (hidden): a model-free calibration on a
//!   test function with a resumable log, used by the kill-and-resume test.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::calibrate::compare::{compare_optimizers, markdown_table};
use crate::calibrate::optimizer::OptimizerKind;
use crate::calibrate::run::{calibrate, write_outputs, CalibrationOptions};
use crate::calibrate::testfn::{TestFn, TestObjective};

/// Arguments of `calimap bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Column-steps per second of the 20-layer column at daily and 3-hourly steps.
    Column(super::bench_column::ColumnArgs),
    /// Cell-years per second of the gridded runner on 1 and 2 threads, and peak RSS of a streamed large domain.
    Domain(super::bench_domain::DomainBenchArgs),
    /// Compare BO, random search, Latin hypercube and particle swarm on test functions.
    Optimizers(OptimizersArgs),
    /// Calibrate a test function with a resumable evaluation log (for resume tests).
    #[command(hide = true, name = "calibrate-testfn")]
    CalibrateTestfn(CalibrateTestfnArgs),
}

/// Arguments of `calimap bench optimizers`.
#[derive(Debug, Args)]
pub struct OptimizersArgs {
    /// Number of seeds (1, 2, ...); medians are over these.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Points per optimiser iteration.
    #[arg(long, default_value_t = 1)]
    pub q: usize,
    /// Optimisers to compare (comma-separated: bo, random, lhs, pso).
    #[arg(long, default_value = "bo,random,lhs,pso")]
    pub optimizers: String,
    /// Cases as function:budget (comma-separated).
    #[arg(long, default_value = "branin:50,hartmann6:100")]
    pub cases: String,
    /// Folder for the evaluation logs of the runs.
    #[arg(long, default_value = "target/bench-optimizers")]
    pub work_dir: PathBuf,
    /// Also write the Markdown table here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `calimap bench calibrate-testfn`.
#[derive(Debug, Args)]
pub struct CalibrateTestfnArgs {
    /// Test function: branin, hartmann6, rosenbrock<d>, sphere<d>.
    #[arg(long = "fn", default_value = "hartmann6")]
    pub func: String,
    /// Optimiser: bo, random, lhs, pso.
    #[arg(long, default_value = "bo")]
    pub optimizer: String,
    /// Evaluation budget.
    #[arg(long, default_value_t = 40)]
    pub budget: usize,
    /// Points per iteration.
    #[arg(long, default_value_t = 2)]
    pub q: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Evaluation log (resumed if it exists).
    #[arg(long)]
    pub log: PathBuf,
    /// Sleep per evaluation, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub sleep_ms: u64,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `calimap bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Column(a) => super::bench_column::run(a),
        BenchCommand::Domain(a) => super::bench_domain::run(a),
        BenchCommand::Optimizers(a) => optimizers(a),
        BenchCommand::CalibrateTestfn(a) => calibrate_testfn(a),
    }
}

fn optimizers(a: OptimizersArgs) -> anyhow::Result<()> {
    let kinds = a
        .optimizers
        .split(',')
        .map(|s| OptimizerKind::parse(s.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cases = Vec::new();
    for c in a.cases.split(',') {
        let (f, b) = c
            .split_once(':')
            .with_context(|| format!("case `{c}` is not function:budget"))?;
        let budget: usize = b
            .parse()
            .with_context(|| format!("case `{c}`: bad budget"))?;
        cases.push((TestFn::parse(f.trim())?, budget));
    }
    let seeds: Vec<u64> = (1..=a.seeds).collect();
    let rows = compare_optimizers(&cases, &kinds, &seeds, a.q, &a.work_dir, |r| {
        eprintln!(
            "{} {}: median evals to 1 % {} ({}/{} seeds), median best {:.5}, optimiser {:.4} s/iteration",
            r.func.name(),
            r.optimizer.as_str(),
            r.median_evals(),
            r.n_reached(),
            r.evals_to_target.len(),
            r.median_best(),
            r.mean_ask_seconds
        );
    })?;
    let table = markdown_table(&rows);
    print!("{table}");
    if let Some(out) = a.out {
        crate::calibrate::registry::write_atomic(&out, table.as_bytes())?;
    }
    Ok(())
}

fn calibrate_testfn(a: CalibrateTestfnArgs) -> anyhow::Result<()> {
    let func = TestFn::parse(&a.func)?;
    let kind = OptimizerKind::parse(&a.optimizer)?;
    let space = func.space()?;
    let mut opt = kind.build(space.dim(), a.budget, a.seed)?;
    let obj = TestObjective {
        func,
        sleep: Duration::from_millis(a.sleep_ms),
        fail_above_x0: None,
    };
    let opts = CalibrationOptions {
        budget: a.budget,
        q: a.q,
        seed: a.seed,
        ..Default::default()
    };
    let res = calibrate(&obj, &space, opt.as_mut(), &opts, &a.log, !a.quiet)
        .with_context(|| format!("calibrating {} with log {}", func.name(), a.log.display()))?;
    let dir = a.log.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let stem = a
        .log
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calibration".into());
    write_outputs(
        &res,
        &space,
        &[],
        &dir.join(format!("{stem}-best.toml")),
        &dir.join(format!("{stem}-topk.csv")),
    )?;
    println!(
        "{}",
        serde_json::json!({
            "function": func.name(),
            "optimizer": kind.as_str(),
            "evaluations": res.records.len(),
            "replayed": res.replayed,
            "evaluated": res.evaluated,
            "best": res.best_value(),
            "optimum": func.optimum(),
        })
    );
    Ok(())
}
