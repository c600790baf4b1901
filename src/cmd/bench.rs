//! `calimap bench`.

use clap::Args;

/// Arguments of `calimap bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {}

/// Run `calimap bench`.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("`calimap bench` is not available yet")
}
