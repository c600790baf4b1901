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
        "20-layer column, one core, synthetic plateau year ({} years timed per step length)",
        args.years
    );
    for (label, dt) in [("daily", 86400.0), ("3-hourly", 10800.0)] {
        let t = column_throughput(&soil, &veg, &gen, dt, args.years)?;
        println!(
            "{label:>9}: {:>10.0} column-steps/s, {:>8.2} us per column-step ({} steps in {:.2} s)",
            t.steps_per_second(),
            t.micros_per_step(),
            t.steps,
            t.seconds
        );
    }
    Ok(())
}
