//! Command-line interface: one subcommand per task, each implemented in its own
//! file under `cmd/`. Library code below returns [`crate::Error`]; commands
//! add context with `anyhow` and `main` turns failures into a non-zero exit.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod bench;
pub mod bench_column;
pub mod bench_domain;
pub mod bench_mpi;
pub mod demo;
pub mod import_tables;
pub mod kappa;
pub mod merge;
pub mod run;
pub mod run_mpi;
pub mod validate;

/// calimap: permafrost land-surface modelling, calibration and validation.
#[derive(Debug, Parser)]
#[command(name = "calimap", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment file (point run, hindcast, calibration or sensitivity study).
    Run(RunArgs),
    /// Cohen's Kappa, overall accuracy and confusion matrix of two maps on one grid (JSON).
    Kappa(kappa::KappaArgs),
    /// Validate simulated diagnostics against borehole observations.
    Validate(validate::ValidateArgs),
    /// Merge the outputs of tiled runs (`run --tile i/n`) into one product.
    Merge(merge::MergeArgs),
    /// Generate the demo domain (forcing, soil and vegetation maps, masks, reference map).
    Demo(demo::DemoArgs),
    /// Import Noah SOILPARM.TBL / VEGPARM.TBL / GENPARM.TBL tables into calimap TOML.
    ImportTables(import_tables::ImportArgs),
    /// Throughput benchmarks of the column model and the domain runner.
    Bench(bench::BenchArgs),
    /// MPI engine self-test: an uneven synthetic workload through the local or MPI engine.
    #[cfg(feature = "mpi")]
    #[command(hide = true)]
    MpiSelftest(bench_mpi::MpiSelftestArgs),
}

/// Arguments of `calimap run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (TOML).
    pub experiment: PathBuf,
    /// Output folder (default: the experiment's `output` key).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only tile i of n (1-based, `i/n`), for scheduler job arrays.
    #[arg(long)]
    pub tile: Option<String>,
    /// Number of worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Distribute the run over MPI ranks (needs a build with `--features mpi`).
    #[arg(long)]
    pub mpi: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Kappa(args) => kappa::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Demo(args) => demo::run(args),
        Command::ImportTables(args) => import_tables::run(args),
        Command::Bench(args) => bench::run(args),
        #[cfg(feature = "mpi")]
        Command::MpiSelftest(args) => bench_mpi::run(args),
    }
}
