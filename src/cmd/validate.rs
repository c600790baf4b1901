//! `calimap validate`: compare a gridded annual product with borehole observations.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::validate::{validate, MatchMethod, SiteSubset, ValidationConfig};

/// Arguments of `calimap validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The annual product (netCDF from a hindcast or calibration run).
    #[arg(long)]
    pub product: PathBuf,
    /// The observation CSV (site_id,name,lat,lon,elevation,variable,depth,year,start,end,value,uncertainty).
    #[arg(long)]
    pub observations: PathBuf,
    /// Output folder for pairs.csv, unmatched.csv, trends.csv, summary.csv, summary.md and plots.
    #[arg(long)]
    pub out: PathBuf,
    /// Matching: nearest or bilinear.
    #[arg(long, default_value = "nearest")]
    pub method: String,
    /// Elevation lapse rate in K/m for temperatures (needs --elevation).
    #[arg(long, allow_hyphen_values = true)]
    pub lapse_rate: Option<f64>,
    /// Cell elevations (m) on the product grid (GeoTIFF or netCDF); enables the lapse correction.
    #[arg(long)]
    pub elevation: Option<PathBuf>,
    /// Variable name of the elevation in a netCDF file.
    #[arg(long, default_value = "elevation")]
    pub elevation_variable: String,
    /// The calibration's sensitive region (GeoTIFF mask or CSV of row,col cells).
    #[arg(long)]
    pub sensitive: Option<PathBuf>,
    /// Depth (m) of the product's `magt` field, to compare MAGT observations at that depth.
    #[arg(long)]
    pub magt_depth: Option<f64>,
    /// Skip the scatter plots.
    #[arg(long)]
    pub no_plots: bool,
}

/// Run `calimap validate` and print the all-sites scores.
pub fn run(args: ValidateArgs) -> anyhow::Result<()> {
    let mut cfg = ValidationConfig::new(args.product, args.observations, args.out);
    cfg.method = MatchMethod::parse(&args.method)?;
    if let Some(l) = args.lapse_rate {
        if args.elevation.is_none() {
            anyhow::bail!("--lapse-rate needs --elevation (the cell elevations of the product)");
        }
        cfg.lapse_rate = l;
    }
    cfg.elevation = args.elevation;
    cfg.elevation_variable = args.elevation_variable;
    cfg.sensitive = args.sensitive;
    cfg.magt_depth = args.magt_depth;
    cfg.plots = !args.no_plots;
    let report = validate(&cfg).with_context(|| {
        format!(
            "validating {} against {}",
            cfg.product.display(),
            cfg.observations.display()
        )
    })?;
    println!(
        "{} observations, {} matched pairs, {} unmatched rows; report in {}",
        report.n_observations,
        report.matched.pairs.len(),
        report.matched.unmatched.len(),
        cfg.out_dir.display()
    );
    for s in report.scores.iter().filter(|s| s.subset == SiteSubset::All) {
        if let Some(p) = &s.scores {
            println!(
                "{:6} {:14} n {:4}  RMSE {:.3}  bias {:+.3}  MAE {:.3}  r {:.3} {}",
                s.variable.name(),
                s.member,
                p.n,
                p.rmse,
                p.bias,
                p.mae,
                p.r,
                s.variable.unit()
            );
        }
    }
    Ok(())
}
