//! `calimap kappa`: agreement of two frozen-ground class maps on one grid.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::io::geotiff::{read_geotiff, Raster};
use crate::metrics::{score_class_rasters, ClassScheme, KappaWeights};

/// Arguments of `calimap kappa`.
#[derive(Debug, Args)]
pub struct KappaArgs {
    /// Reference class map (GeoTIFF, u8 codes 1 permafrost, 2 seasonally frozen, 3 non-frozen).
    #[arg(long)]
    pub reference: PathBuf,
    /// Simulated class map on the same grid (GeoTIFF, u8).
    #[arg(long)]
    pub simulated: PathBuf,
    /// 2: permafrost against the rest; 3: the three classes.
    #[arg(long, default_value_t = 2)]
    pub classes: u32,
    /// Weighting of disagreements: none, linear or quadratic.
    #[arg(long, default_value = "none")]
    pub weights: String,
    /// Optional mask on the same grid (GeoTIFF, u8): only cells with a
    /// non-zero value that is not the mask's nodata are scored.
    #[arg(long)]
    pub mask: Option<PathBuf>,
}

/// Run `calimap kappa`: print Kappa, OA and the confusion matrix as JSON.
pub fn run(args: KappaArgs) -> anyhow::Result<()> {
    let scheme = ClassScheme::from_count(args.classes)?;
    let weights = KappaWeights::parse(&args.weights)?;
    let reference: Raster<u8> = read_geotiff(&args.reference)
        .with_context(|| format!("reading the reference map {}", args.reference.display()))?;
    let simulated: Raster<u8> = read_geotiff(&args.simulated)
        .with_context(|| format!("reading the simulated map {}", args.simulated.display()))?;
    let mask = match &args.mask {
        None => None,
        Some(p) => {
            let m: Raster<u8> =
                read_geotiff(p).with_context(|| format!("reading the mask {}", p.display()))?;
            m.grid
                .check_same(&reference.grid)
                .with_context(|| format!("mask {} against the reference map", p.display()))?;
            Some(
                m.data
                    .iter()
                    .map(|&v| v != 0 && !m.is_nodata(v))
                    .collect::<Vec<bool>>(),
            )
        }
    };
    let score = score_class_rasters(&reference, &simulated, mask.as_deref(), scheme, weights)
        .with_context(|| {
            format!(
                "comparing {} with {}",
                args.reference.display(),
                args.simulated.display()
            )
        })?;
    let out = serde_json::json!({
        "reference": args.reference,
        "simulated": args.simulated,
        "mask": args.mask,
        "classes": args.classes,
        "weights": score.weights,
        "kappa": score.kappa,
        "overall_accuracy": score.overall_accuracy,
        "n": score.n,
        "single_class": score.degenerate,
        "labels": score.confusion.labels,
        "confusion_matrix": score.confusion.counts,
        "confusion_rows": "reference",
        "confusion_columns": "simulated",
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
