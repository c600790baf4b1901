//! `calimap validate`: compare a gridded annual product with borehole observations.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::validate::{
    validate, validation_config_from_experiment, MatchMethod, SiteSubset, ValidationConfig,
};

/// Arguments of `calimap validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Take every setting from the `[validation]` table of this experiment file;
    /// the product defaults to the one the experiment's run validated (a
    /// calibration's ensemble or best-set product, a hindcast's hindcast.nc),
    /// other kinds name it in `product`. The other options must not be given.
    #[arg(long, conflicts_with_all = ["product", "observations", "out", "lapse_rate",
        "elevation", "sensitive", "magt_depth", "depth_tolerance"])]
    pub experiment: Option<PathBuf>,
    /// The annual product (netCDF from a hindcast or calibration run).
    #[arg(long, required_unless_present = "experiment")]
    pub product: Option<PathBuf>,
    /// The observation CSV (site_id,name,lat,lon,elevation,variable,depth,year,start,end,value,uncertainty).
    #[arg(long, required_unless_present = "experiment")]
    pub observations: Option<PathBuf>,
    /// Output folder for pairs.csv, unmatched.csv, trends.csv, summary.csv, summary.md and plots.
    #[arg(long, required_unless_present = "experiment")]
    pub out: Option<PathBuf>,
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
    /// Largest difference (m) between an observed MAGT depth and a product depth (10 m or --magt-depth).
    #[arg(long, default_value_t = 0.25)]
    pub depth_tolerance: f64,
    /// Skip the scatter plots.
    #[arg(long)]
    pub no_plots: bool,
}

/// Run `calimap validate` from its options or from an experiment's `[validation]` table.
pub fn run(args: ValidateArgs) -> anyhow::Result<()> {
    let cfg = match &args.experiment {
        Some(exp) => validation_config_from_experiment(exp, None)?.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the experiment has no [validation] table",
                exp.display()
            )
        })?,
        None => config_from_args(args)?,
    };
    run_config(cfg)
}

fn config_from_args(args: ValidateArgs) -> anyhow::Result<ValidationConfig> {
    let (Some(product), Some(observations), Some(out)) =
        (args.product, args.observations, args.out)
    else {
        anyhow::bail!("give --product, --observations and --out, or --experiment");
    };
    let mut cfg = ValidationConfig::new(product, observations, out);
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
    cfg.depth_tolerance = args.depth_tolerance;
    cfg.plots = !args.no_plots;
    Ok(cfg)
}

/// Run `calimap validate` and print the all-sites scores.
fn run_config(cfg: ValidationConfig) -> anyhow::Result<()> {
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
