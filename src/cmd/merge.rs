//! `calimap merge`.

use clap::Args;

/// Arguments of `calimap merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {}

/// Run `calimap merge`.
pub fn run(_args: MergeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`calimap merge` is not available yet")
}
