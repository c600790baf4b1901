//! `calimap demo`: generate the synthetic demo domain (or a larger one for
//! streaming benchmarks) as CF-netCDF.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::forcing::synthetic::{write_synthetic_domain, SyntheticSpec, MASK_GLACIER, MASK_LAKE};

/// Arguments of `calimap demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder (gets `static.nc` and `forcing/<var>_<year>.nc`).
    #[arg(long, default_value = "data/demo")]
    pub out: PathBuf,
    /// Number of columns (0.1 degree each).
    #[arg(long, default_value_t = 40)]
    pub nx: usize,
    /// Number of rows (0.1 degree each).
    #[arg(long, default_value_t = 30)]
    pub ny: usize,
    /// Number of years of forcing (from 2000).
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// Forcing step: `1h`, `3h`, `6h`, `1d`, `30min` or seconds.
    #[arg(long, default_value = "3h")]
    pub step: String,
    /// Seed of the synthetic weather and terrain.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First year.
    #[arg(long, default_value_t = 2000)]
    pub start_year: i32,
    /// Deflate the forcing files (smaller, slower).
    #[arg(long)]
    pub compress: bool,
}

/// Parse a step length: `3h`, `1d`, `30min`, `10800s` or `10800`.
pub fn parse_step(s: &str) -> anyhow::Result<f64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("min") {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86400.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .with_context(|| format!("--step `{s}`: expected e.g. 3h, 1d, 30min or seconds"))?;
    let dt = v * mult;
    anyhow::ensure!(
        dt >= 60.0 && 86400.0 % dt == 0.0,
        "--step `{s}` = {dt} s must be at least a minute and divide a day"
    );
    Ok(dt)
}

/// Run `calimap demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dt = parse_step(&args.step)?;
    let mut spec = SyntheticSpec::demo(args.nx, args.ny, args.years, dt, args.seed)?;
    spec.start_year = args.start_year;
    spec.compress = args.compress;
    let t = std::time::Instant::now();
    let d = write_synthetic_domain(&args.out, &spec)
        .with_context(|| format!("writing the demo domain to {}", args.out.display()))?;
    let n = d.maps.grid.n_cells();
    let lakes = d.maps.mask.iter().filter(|m| **m == MASK_LAKE).count();
    let glaciers = d.maps.mask.iter().filter(|m| **m == MASK_GLACIER).count();
    println!(
        "demo domain: {} x {} cells ({n}), {} years from {} at {dt} s steps, seed {}",
        args.nx, args.ny, args.years, args.start_year, args.seed
    );
    println!(
        "  static maps: {} (elevation, soil, vegetation, mask: {lakes} lake and {glaciers} glacier cells)",
        d.static_file.display()
    );
    println!(
        "  forcing:     {} files in {} ({:.1} s)",
        d.forcing_files.len(),
        d.forcing_dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
