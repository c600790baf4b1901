//! `calimap bench column`: throughput of the column model on one core.

use std::path::PathBuf;

use clap::Args;

use crate::column::bench::column_throughput;
use crate::column::tables::{read_toml, GeneralParams, SoilTable, VegTable};

/// Arguments of `calimap bench column`.
#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Synthetic years timed per step length.
    #[arg(long, default_value_t = 3)]
    pub years: usize,
    /// Timed repetitions per step length: the fastest and the median are reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Folder with the model tables (soil.toml, vegetation.toml, general.toml).
    #[arg(long)]
    pub tables: Option<PathBuf>,
}

/// Run `calimap bench column`.
pub fn run(args: ColumnArgs) -> anyhow::Result<()> {
    let dir = args
        .tables
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet"));
    let soil: SoilTable = read_toml(&dir.join("soil.toml"))?;
    let veg: VegTable = read_toml(&dir.join("vegetation.toml"))?;
    let gen: GeneralParams = read_toml(&dir.join("general.toml"))?;
    println!(
        "20-layer column, one core, synthetic plateau year ({} years timed per step length, {} repeats)",
        args.years,
        args.repeats.max(1)
    );
    println!("load average before: {}", load_average());
    for (label, dt) in [("daily", 86400.0), ("3-hourly", 10800.0)] {
        let mut runs = Vec::new();
        for _ in 0..args.repeats.max(1) {
            runs.push(column_throughput(&soil, &veg, &gen, dt, args.years)?);
        }
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let best = runs[0];
        let median = runs[runs.len() / 2];
        println!(
            "{label:>9}: {:>10.0} column-steps/s, {:>8.2} us per column-step (fastest of {}; median {:.2} us; {} steps per run; {:.2} heat iterations per step)",
            best.steps_per_second(),
            best.micros_per_step(),
            runs.len(),
            median.micros_per_step(),
            best.steps,
            best.heat_iterations,
        );
    }
    println!("load average after: {}", load_average());
    Ok(())
}

/// The 1, 5 and 15 minute load averages of the machine (Linux), for judging
/// how much the timings were disturbed by other work.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
