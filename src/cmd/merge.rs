//! `calimap merge`: assemble the tiles of a tiled hindcast (`calimap run EXP
//! --tile i/n`) into the products of an untiled run; also home of the
//! command-layer glue of hindcast runs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::RunArgs;
use crate::config::hindcast::HindcastExperiment;
use crate::config::{Body, Experiment};
use crate::domain::distributed::{Engine, LocalEngine};
use crate::workflow::domain::DomainSetup;
use crate::workflow::hindcast::{
    find_tile_files, hindcast_members, merge_tiles, read_tile_header, run_hindcast_on,
    HindcastOptions, HindcastSummary, TileSpec,
};

/// Arguments of `calimap merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The experiment file and/or tile files or folders holding them
    /// (`tile-<i>-of-<n>.bin`, also looked for in their `tiles/` subfolder).
    /// Without an experiment, the one recorded in the tiles is used; without
    /// tiles, they are looked for in the output folder.
    pub inputs: Vec<PathBuf>,
    /// Output folder (default: the experiment's `output` key).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Hide messages.
    #[arg(long)]
    pub quiet: bool,
}

/// The domain of a hindcast experiment.
pub fn setup_of(exp: &Experiment, h: &HindcastExperiment) -> anyhow::Result<DomainSetup> {
    Ok(DomainSetup::from_sections(
        &exp.path, &h.domain, &h.model, &h.spinup, &h.period,
    )?)
}

fn options(
    exp: &Experiment,
    h: &HindcastExperiment,
    files: Vec<PathBuf>,
    quiet: bool,
) -> anyhow::Result<HindcastOptions> {
    Ok(HindcastOptions {
        outputs: h.outputs.clone(),
        quiet,
        tile: None,
        config: serde_json::to_value(&exp.raw).context("serialising the experiment")?,
        seed: Some(exp.seed),
        inputs: files,
        title: format!("calimap hindcast {}: annual frozen-ground maps", exp.name),
        checkpoint: true,
    })
}

fn report(s: &HindcastSummary, quiet: bool) {
    if quiet {
        return;
    }
    match &s.tile {
        Some(t) => eprintln!(
            "tile {t}: {} cells x {} members, {} failed runs; wrote {}",
            s.cells,
            s.members.len(),
            s.failed_runs,
            s.output.join(&s.products[0]).display()
        ),
        None => eprintln!(
            "hindcast: {} cells x {} members x {} years, {} failed runs; wrote {} products to {}",
            s.cells,
            s.members.len(),
            s.years.len(),
            s.failed_runs,
            s.products.len(),
            s.output.display()
        ),
    }
}

/// `calimap run` for a hindcast experiment.
pub fn run_hindcast_experiment(
    exp: &Experiment,
    h: &HindcastExperiment,
    args: &RunArgs,
) -> anyhow::Result<()> {
    run_hindcast_experiment_on(&LocalEngine::default(), exp, h, args)
}

/// [`run_hindcast_experiment`] through `engine` (rank 0 of an MPI run).
pub fn run_hindcast_experiment_on<E: Engine + ?Sized>(
    engine: &E,
    exp: &Experiment,
    h: &HindcastExperiment,
    args: &RunArgs,
) -> anyhow::Result<()> {
    let setup = setup_of(exp, h)?;
    let (members, files) = hindcast_members(&setup, &exp.path, h)?;
    let mut opts = options(exp, h, files, args.quiet)?;
    opts.tile = args.tile.as_deref().map(TileSpec::parse).transpose()?;
    let out = args.out.clone().unwrap_or_else(|| exp.output.clone());
    let t = std::time::Instant::now();
    let s = run_hindcast_on(engine, &setup, &members, &out, &opts)?;
    report(&s, args.quiet);
    if let (None, Some(v)) = (&s.tile, &h.validation) {
        crate::workflow::validation::validate_hindcast(exp, v, &setup, &out, args.quiet)
            .context("validating the hindcast")?;
    }
    if !args.quiet {
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "{:.1} s, {:.2} cell-years per second",
            secs,
            (s.cells * s.members.len() * s.years.len()) as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

fn is_experiment(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "toml")
}

/// Run `calimap merge`.
pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    let mut experiment: Option<PathBuf> = None;
    let mut tiles: Vec<PathBuf> = Vec::new();
    for p in &args.inputs {
        if is_experiment(p) {
            anyhow::ensure!(experiment.is_none(), "more than one experiment file given");
            experiment = Some(p.clone());
        } else if p.is_dir() {
            tiles.extend(find_tile_files(p)?);
        } else if p.is_file() {
            tiles.push(p.clone());
        } else {
            anyhow::bail!("{}: no such file or folder", p.display());
        }
    }
    let exp_path = match experiment {
        Some(e) => e,
        None => {
            let first = tiles
                .first()
                .context("give the experiment file or the tile files / folders to merge")?;
            read_tile_header(first)?.experiment
        }
    };
    let exp = Experiment::load(&exp_path)?;
    let Body::Hindcast(h) = &exp.body else {
        anyhow::bail!(
            "{}: only hindcast experiments are run in tiles and merged",
            exp_path.display()
        );
    };
    let out = args.out.clone().unwrap_or_else(|| exp.output.clone());
    if tiles.is_empty() {
        tiles = find_tile_files(&out)?;
    }
    let setup = setup_of(&exp, h)?;
    let (members, files) = hindcast_members(&setup, &exp.path, h)?;
    let opts = options(&exp, h, files, args.quiet)?;
    let s = merge_tiles(&setup, &members, &tiles, &out, &opts)
        .with_context(|| format!("merging the tiles of {}", exp_path.display()))?;
    report(&s, args.quiet);
    if let Some(v) = &h.validation {
        crate::workflow::validation::validate_hindcast(&exp, v, &setup, &out, args.quiet)
            .context("validating the merged hindcast")?;
    }
    Ok(())
}
