//! `calimap import-tables`.

use clap::Args;

/// Arguments of `calimap import-tables`.
#[derive(Debug, Args)]
pub struct ImportArgs {}

/// Run `calimap import-tables`.
pub fn run(_args: ImportArgs) -> anyhow::Result<()> {
    anyhow::bail!("`calimap import-tables` is not available yet")
}
