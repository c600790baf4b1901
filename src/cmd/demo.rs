//! `calimap demo`.

use clap::Args;

/// Arguments of `calimap demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// Run `calimap demo`.
pub fn run(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("`calimap demo` is not available yet")
}
