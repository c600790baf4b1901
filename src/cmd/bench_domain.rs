//! `calimap bench domain`: throughput of the gridded runner and peak memory
//! of a streamed large domain.
//!
//! 1. Throughput: the first `--cells` land cells of the demo domain (40 x 30
//!    cells, 3-hourly, generated on first use), each spun up for exactly
//!    `--cycles` cycles of one recycled year and run for `--years` transient
//!    years, on a 1-thread and a 2-thread pool; reports simulated
//!    cell-years per second (spin-up and transient years) and the speed-up.
//! 2. Memory: a larger synthetic domain (`--big-nx` x `--big-ny` cells,
//!    `--big-years` years, 3-hourly) is streamed chunk by chunk through the
//!    runner's forcing reader within the domain's memory budget, running the
//!    column on the first cell of every chunk (or every cell with
//!    `--big-all`); reports the peak resident set size (VmHWM of
//!    /proc/self/status). Peak memory is bound by the tile budget, not by the
//!    number of cells or years: a 40-year domain streams 40 times as many
//!    steps per cell through tiles of 1/40 the cells.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::config::domain::{DomainSection, PeriodSection};
use crate::config::{ModelSection, SpinupSection};
use crate::workflow::domain::DomainSetup;
use crate::workflow::hindcast::run_cells;

/// Arguments of `calimap bench domain`.
#[derive(Debug, Args)]
pub struct DomainBenchArgs {
    /// Demo domain folder (generated there if missing: 40 x 30 cells, 5 years, 3-hourly, seed 1).
    #[arg(long, default_value = "data/demo")]
    pub dir: PathBuf,
    /// Land cells timed.
    #[arg(long, default_value_t = 24)]
    pub cells: usize,
    /// Spin-up cycles of one recycled year, per cell.
    #[arg(long, default_value_t = 2)]
    pub cycles: u32,
    /// Transient years (from 2000).
    #[arg(long, default_value_t = 2)]
    pub years: i32,
    /// Large-domain folder (generated there if missing).
    #[arg(long, default_value = "data/demo/large")]
    pub big_dir: PathBuf,
    /// Columns of the large domain (0 skips the memory benchmark).
    #[arg(long, default_value_t = 130)]
    pub big_nx: usize,
    /// Rows of the large domain.
    #[arg(long, default_value_t = 100)]
    pub big_ny: usize,
    /// Years of the large domain.
    #[arg(long, default_value_t = 1)]
    pub big_years: u32,
    /// Forcing memory budget of the large domain's tiles (MB).
    #[arg(long, default_value_t = 256)]
    pub big_tile_mb: usize,
    /// Run the column on every cell of the large domain, not one per chunk.
    #[arg(long)]
    pub big_all: bool,
}

fn setup(
    dir: &Path,
    nx: usize,
    ny: usize,
    years: u32,
    tile_mb: usize,
    cycles: u32,
    period: PeriodSection,
) -> anyhow::Result<DomainSetup> {
    let dir = &std::path::absolute(dir)?;
    let exp = dir.join("bench.toml");
    let domain: DomainSection = toml::from_str(&format!(
        r#"
forcing = "cmfd"
forcing_dir = "{d}/forcing"
static = "{d}/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
tile_memory_mb = {tile_mb}
generate = {{ nx = {nx}, ny = {ny}, years = {years}, step = "3h", seed = 1 }}
"#,
        d = dir.display()
    ))?;
    let model: ModelSection = toml::from_str(&format!(
        "tables = \"{}/models/noah-tibet\"",
        env!("CARGO_MANIFEST_DIR")
    ))?;
    // A tolerance no run reaches: every cell spins up for exactly `cycles` cycles.
    let spinup = SpinupSection {
        tolerance: 1e-12,
        max_cycles: cycles,
        ..Default::default()
    };
    Ok(DomainSetup::from_sections(
        &exp, &domain, &model, &spinup, &period,
    )?)
}

/// Peak resident set size of this process (kB), from /proc/self/status.
pub fn peak_rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Run `calimap bench domain`.
pub fn run(args: DomainBenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| args.dir.display().to_string())?;
    let period = PeriodSection {
        spinup: [2000, 2000],
        start: 2000,
        end: 2000 + args.years - 1,
    };
    let s = setup(&args.dir, 40, 30, 5, 256, args.cycles, period)?;
    let n = args.cells.min(s.cells().len());
    let members = vec![("default".to_string(), Vec::new())];
    let cell_years = (n as u32 * (args.cycles + args.years as u32)) as f64;
    println!(
        "gridded runner, demo domain (40 x 30 at 0.1 degree, 3-hourly): {n} land cells x ({} spin-up + {} transient years)",
        args.cycles, args.years
    );
    // Warm the forcing reader's file cache so both timings read from memory.
    s.read_forcing(&s.cells()[..n])?;
    let mut rates = Vec::new();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let t = Instant::now();
        let r = pool.install(|| run_cells(&s, &members, 0..n, &|_| {}))?;
        let secs = t.elapsed().as_secs_f64();
        let failed = r.outcomes.iter().flatten().filter(|o| o.is_err()).count();
        let rate = cell_years / secs;
        println!(
            "  {threads} thread(s): {secs:>7.2} s, {rate:>7.2} cell-years/s ({:.1} ms per cell-year){}",
            1000.0 * secs / cell_years,
            if failed > 0 { format!(", {failed} failed") } else { String::new() }
        );
        rates.push(rate);
    }
    println!("  speed-up on 2 threads: {:.2}x", rates[1] / rates[0]);

    if args.big_nx == 0 {
        return Ok(());
    }
    std::fs::create_dir_all(&args.big_dir).with_context(|| args.big_dir.display().to_string())?;
    let y0 = 2000;
    let period = PeriodSection {
        spinup: [y0, y0],
        start: y0,
        end: y0 + args.big_years as i32 - 1,
    };
    let t = Instant::now();
    let big = setup(
        &args.big_dir,
        args.big_nx,
        args.big_ny,
        args.big_years,
        args.big_tile_mb,
        1,
        period,
    )?;
    let prep = t.elapsed().as_secs_f64();
    let cells = big.cells().to_vec();
    let steps = (365.25 * args.big_years as f64 * 8.0).round() as usize;
    let per_chunk =
        crate::forcing::netcdf::GriddedForcing::cells_per_tile(big.tile_bytes, steps).max(1);
    let before = peak_rss_kb().unwrap_or(0);
    let t = Instant::now();
    let (mut ran, mut failed, mut chunks) = (0usize, 0usize, 0usize);
    for chunk in cells.chunks(per_chunk) {
        let forcing = big.read_forcing(chunk)?;
        let take = if args.big_all { chunk.len() } else { 1 };
        for (c, f) in chunk.iter().zip(&forcing).take(take) {
            ran += 1;
            if big.run_cell(*c, f, &[]).is_err() {
                failed += 1;
            }
        }
        chunks += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    let bytes = cells.len() as f64 * steps as f64 * 7.0 * 4.0;
    println!(
        "streamed large domain: {} x {} cells ({} land), {} year(s) 3-hourly = {:.2} GB of f32 forcing, in {chunks} chunks of <= {per_chunk} cells ({} MB budget)",
        args.big_nx,
        args.big_ny,
        cells.len(),
        args.big_years,
        bytes / 1e9,
        args.big_tile_mb
    );
    println!(
        "  read in {secs:.1} s (domain ready in {prep:.1} s); column run on {ran} cells ({failed} failed)"
    );
    println!(
        "  peak RSS (VmHWM): {:.0} MB (before streaming: {:.0} MB)",
        peak_rss_kb().unwrap_or(0) as f64 / 1024.0,
        before as f64 / 1024.0
    );
    println!(
        "  scaling: 13,000 cells x 40 years x 3-hourly is about {:.0} GB as f32; with the same budget each tile holds 1/40 the cells, so the peak stays at the budget plus one read chunk",
        13_000.0 * 40.0 * 2922.0 * 7.0 * 4.0 / 1e9
    );
    Ok(())
}
