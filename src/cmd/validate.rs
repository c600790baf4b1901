//! `calimap validate`.

use clap::Args;

/// Arguments of `calimap validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {}

/// Run `calimap validate`.
pub fn run(_args: ValidateArgs) -> anyhow::Result<()> {
    anyhow::bail!("`calimap validate` is not available yet")
}
