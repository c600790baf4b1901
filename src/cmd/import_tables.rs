//! `calimap import-tables`: convert Noah SOILPARM.TBL / VEGPARM.TBL /
//! GENPARM.TBL into the TOML files of a calimap model folder.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::column::tables::{write_toml, GeneralParams, SoilTable, VegTable};

/// Arguments of `calimap import-tables`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Noah SOILPARM.TBL file.
    #[arg(long)]
    pub soil: PathBuf,
    /// The Noah VEGPARM.TBL file.
    #[arg(long)]
    pub veg: PathBuf,
    /// The Noah GENPARM.TBL file.
    #[arg(long)]
    pub gen: PathBuf,
    /// Output folder (created if missing); receives soil.toml, vegetation.toml, general.toml.
    #[arg(long)]
    pub out: PathBuf,
    /// Soil data set to import.
    #[arg(long, default_value = "STAS")]
    pub soil_dataset: String,
    /// Vegetation data set to import.
    #[arg(long, default_value = "USGS")]
    pub veg_dataset: String,
}

/// Run `calimap import-tables`.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    // Parse everything before writing anything, so bad input leaves no partial output.
    let soil = SoilTable::from_noah_tbl(&args.soil, &args.soil_dataset)?;
    let veg = VegTable::from_noah_tbl(&args.veg, &args.veg_dataset)?;
    let gen = GeneralParams::from_noah_tbl(&args.gen)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let note = |src: &PathBuf, set: &str| {
        format!(
            "# Imported by `calimap import-tables` from {} (data set {set}).\n# Units as in Noah LSM 3.4.1: m3 m-3, m, m s-1, m2 s-1, s m-1, J m-3 K-1.\n\n",
            src.file_name().and_then(|s| s.to_str()).unwrap_or("?")
        )
    };
    write_toml(
        &args.out.join("soil.toml"),
        &soil,
        &note(&args.soil, &args.soil_dataset),
    )?;
    write_toml(
        &args.out.join("vegetation.toml"),
        &veg,
        &note(&args.veg, &args.veg_dataset),
    )?;
    write_toml(
        &args.out.join("general.toml"),
        &gen,
        &note(&args.gen, "GENPARM"),
    )?;
    println!(
        "wrote {} soil classes, {} vegetation classes and the general parameters to {}",
        soil.classes.len(),
        veg.classes.len(),
        args.out.display()
    );
    Ok(())
}
