//! `calimap kappa`.

use clap::Args;

/// Arguments of `calimap kappa`.
#[derive(Debug, Args)]
pub struct KappaArgs {}

/// Run `calimap kappa`.
pub fn run(_args: KappaArgs) -> anyhow::Result<()> {
    anyhow::bail!("`calimap kappa` is not available yet")
}
