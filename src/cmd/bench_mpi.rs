//! `calimap mpi-selftest` (hidden; the command exists in `mpi` builds): run an uneven synthetic
//! workload through the local or the MPI engine and write the gathered
//! outputs, so that tests and users can check that an MPI run gives the same
//! bytes as a single-process run and see how it scales.
//!
//! The workload is a set of synthetic soil columns, each conducting a yearly
//! surface temperature wave downwards with an explicit finite-difference
//! scheme for a different number of years (so cells cost between 1 and 11
//! units), some failing on purpose (the failure travels back as a value) and
//! some without a zero-annual-amplitude depth (NaN, which must survive the
//! trip between ranks).
//!
//! Usage: `mpirun -np 3 calimap mpi-selftest --out out.bin`; rank 0 writes the
//! outputs (the engine codec's bytes of `Vec<Result<ColumnSummary, String>>`)
//! atomically and prints one JSON line with the wall time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::domain::distributed::{encode, engine_from_flag, map_resumable, Checkpoint, Engine};

/// Arguments of `calimap mpi-selftest`.
#[derive(Debug, Args)]
pub struct MpiSelftestArgs {
    /// Engine: `mpi` (under mpirun/srun) or `local` (rayon only).
    #[arg(long, default_value = "mpi")]
    pub engine: String,
    /// Number of synthetic cells.
    #[arg(long, default_value_t = 240)]
    pub cells: usize,
    /// Cells per chunk handed to a rank.
    #[arg(long, default_value_t = 5)]
    pub chunk: usize,
    /// Simulated years of the cheapest cell (the dearest runs 11 times longer).
    #[arg(long, default_value_t = 1)]
    pub years: u32,
    /// rayon threads per rank (default: all cores the rank sees).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Make the cell with this index panic (to check that failures end the run cleanly).
    #[arg(long)]
    pub panic_at: Option<u64>,
    /// Keep finished blocks of cells in this folder and reuse them on the next run.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Cells per checkpoint block.
    #[arg(long, default_value_t = 40)]
    pub block: usize,
    /// Output file for the gathered results (written by rank 0).
    #[arg(long)]
    pub out: PathBuf,
}

/// The run settings rank 0 sends to every rank.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Settings {
    cells: usize,
    chunk: usize,
    years: u32,
    panic_at: Option<u64>,
}

/// One synthetic soil column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticCell {
    /// Cell index.
    pub index: u64,
    /// Thermal diffusivity (m2 s-1).
    pub diffusivity: f64,
    /// Mean annual surface temperature (K).
    pub mean_surface: f64,
    /// Half the annual range of surface temperature (K).
    pub amplitude: f64,
    /// Simulated years (the cost of the cell).
    pub years: u32,
}

/// What a synthetic column reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSummary {
    /// Cell index.
    pub index: u64,
    /// Half the range of temperature over the last year at each node (K), top down.
    pub half_range: Vec<f64>,
    /// Mean temperature over the last year at each node (K), top down.
    pub mean: Vec<f64>,
    /// Shallowest node depth (m) where the half range falls below 0.1 K;
    /// NaN when the column is too shallow.
    pub zero_amplitude_depth: f64,
}

/// Node spacing of the synthetic column (m).
pub const DZ: f64 = 0.5;
/// Number of nodes of the synthetic column (the deepest at 11.5 m).
pub const NODES: usize = 24;
/// Time step (s): one day.
pub const DT: f64 = 86_400.0;
/// Steps per year.
pub const STEPS_PER_YEAR: usize = 365;

/// The synthetic domain: `n` cells with diffusivities 0.4..1.2e-6 m2 s-1,
/// amplitudes 2..14 K and costs of 1..11 times `years` years, mixed so that
/// neighbouring cells differ.
pub fn synthetic_cells(n: usize, years: u32) -> Vec<SyntheticCell> {
    (0..n as u64)
        .map(|i| SyntheticCell {
            index: i,
            diffusivity: 0.4e-6 + 0.8e-6 * ((i * 37 % 101) as f64 / 100.0),
            mean_surface: 268.0 + 8.0 * ((i * 13 % 29) as f64 / 28.0),
            amplitude: 2.0 + 12.0 * ((i * 53 % 61) as f64 / 60.0),
            years: years.max(1) * (1 + (i * 7 % 11) as u32),
        })
        .collect()
}

/// Conduct a sinusoidal annual surface wave `T(0,t) = mean + A sin(2 pi t / P)`
/// into a homogeneous column (explicit FTCS scheme, zero-flux bottom), the
/// damped periodic wave of Carslaw and Jaeger (1959, section 2.6), and
/// summarise the last year. Cells whose index is 5 mod 23 fail on purpose.
pub fn run_synthetic_cell(cell: &SyntheticCell) -> Result<ColumnSummary, String> {
    if cell.index % 23 == 5 {
        return Err(format!("cell {}: synthetic failure", cell.index));
    }
    let r = cell.diffusivity * DT / (DZ * DZ);
    if !(r > 0.0 && r <= 0.5) {
        return Err(format!(
            "cell {}: unstable explicit step (r = {r})",
            cell.index
        ));
    }
    let period = STEPS_PER_YEAR as f64 * DT;
    let mut t = vec![cell.mean_surface; NODES];
    let mut next = t.clone();
    let mut lo = vec![f64::INFINITY; NODES];
    let mut hi = vec![f64::NEG_INFINITY; NODES];
    let mut sum = vec![0.0; NODES];
    let total = cell.years as usize * STEPS_PER_YEAR;
    for step in 1..=total {
        let time = step as f64 * DT;
        next[0] =
            cell.mean_surface + cell.amplitude * (2.0 * std::f64::consts::PI * time / period).sin();
        for k in 1..NODES - 1 {
            next[k] = t[k] + r * (t[k - 1] - 2.0 * t[k] + t[k + 1]);
        }
        next[NODES - 1] = t[NODES - 1] + 2.0 * r * (t[NODES - 2] - t[NODES - 1]);
        std::mem::swap(&mut t, &mut next);
        if step > total - STEPS_PER_YEAR {
            for k in 0..NODES {
                lo[k] = lo[k].min(t[k]);
                hi[k] = hi[k].max(t[k]);
                sum[k] += t[k];
            }
        }
    }
    let half_range: Vec<f64> = lo.iter().zip(&hi).map(|(l, h)| 0.5 * (h - l)).collect();
    let zero_amplitude_depth = half_range
        .iter()
        .position(|a| *a < 0.1)
        .map(|k| k as f64 * DZ)
        .unwrap_or(f64::NAN);
    Ok(ColumnSummary {
        index: cell.index,
        half_range,
        mean: sum.iter().map(|s| s / STEPS_PER_YEAR as f64).collect(),
        zero_amplitude_depth,
    })
}

/// Run `calimap mpi-selftest`.
pub fn run(args: MpiSelftestArgs) -> anyhow::Result<()> {
    let mpi = match args.engine.as_str() {
        "mpi" => true,
        "local" => false,
        other => anyhow::bail!("--engine `{other}`: expected `mpi` or `local`"),
    };
    let engine = engine_from_flag(mpi, args.threads)?;
    let started = Instant::now();
    // Rank 0's settings win, so every rank runs the same workload.
    let settings = engine.broadcast(engine.is_root().then(|| Settings {
        cells: args.cells,
        chunk: args.chunk,
        years: args.years,
        panic_at: args.panic_at,
    }))?;
    // Only rank 0 holds the items; the workers receive theirs chunk by chunk.
    let cells = if engine.is_root() {
        synthetic_cells(settings.cells, settings.years)
    } else {
        Vec::new()
    };
    let panic_at = settings.panic_at;
    let f = move |c: &SyntheticCell| -> Result<ColumnSummary, String> {
        if Some(c.index) == panic_at {
            panic!("cell {} was asked to panic", c.index);
        }
        run_synthetic_cell(c)
    };
    let (gathered, resumed) = match &args.checkpoint {
        Some(dir) => {
            let checkpoint = Checkpoint {
                dir: dir.clone(),
                block: args.block,
                key: format!("mpi-selftest years={}", settings.years),
            };
            let (out, stats) = map_resumable(&engine, &cells, settings.chunk, &checkpoint, &f)?;
            (out, Some(stats))
        }
        None => (engine.map(&cells, settings.chunk, &f)?, None),
    };
    engine.barrier();
    if let Some(results) = gathered {
        let wall = started.elapsed().as_secs_f64();
        let bytes = encode(&results)?;
        write_atomically(&args.out, &bytes)?;
        let failed = results.iter().filter(|r| r.is_err()).count();
        let no_zaa = results
            .iter()
            .filter(|r| matches!(r, Ok(s) if s.zero_amplitude_depth.is_nan()))
            .count();
        let cell_years: u64 = cells.iter().map(|c| u64::from(c.years)).sum();
        let blocks = resumed
            .map(|r| {
                format!(
                    ",\"blocks_reused\":{},\"blocks_computed\":{}",
                    r.reused, r.computed
                )
            })
            .unwrap_or_default();
        println!(
            "{{\"engine\":\"{}\",\"ranks\":{},\"cells\":{},\"chunk\":{},\"cell_years\":{},\"failed\":{},\"without_zero_amplitude_depth\":{},\"output_bytes\":{},\"wall_s\":{:.3}{blocks}}}",
            engine.name(),
            engine.size(),
            results.len(),
            settings.chunk,
            cell_years,
            failed,
            no_zaa,
            bytes.len(),
            wall
        );
    }
    Ok(())
}

/// Write `bytes` to `path` through a temporary file in the same folder, then rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The synthetic column reproduces the damped periodic wave: the annual
    /// half range at depth z is A exp(-z / d) with d = sqrt(kappa P / pi)
    /// (Carslaw and Jaeger 1959, eq. 2.6.8), within the discretisation error.
    #[test]
    fn synthetic_column_damps_the_annual_wave_as_the_analytic_solution() {
        let cell = SyntheticCell {
            index: 0,
            diffusivity: 1.0e-6,
            mean_surface: 270.0,
            amplitude: 10.0,
            years: 10,
        };
        let s = run_synthetic_cell(&cell).unwrap();
        let period = STEPS_PER_YEAR as f64 * DT;
        let d = (cell.diffusivity * period / std::f64::consts::PI).sqrt();
        for k in [2usize, 4, 6] {
            let z = k as f64 * DZ;
            let analytic = cell.amplitude * (-z / d).exp();
            let rel = (s.half_range[k] - analytic).abs() / analytic;
            assert!(rel < 0.05, "z = {z} m: {} vs {analytic} K", s.half_range[k]);
        }
        assert!((s.mean[3] - 270.0).abs() < 0.05, "mean {}", s.mean[3]);
        assert!(run_synthetic_cell(&SyntheticCell { index: 28, ..cell }).is_err());
    }

    #[test]
    fn synthetic_domain_is_uneven_and_has_failures_and_nan() {
        let cells = synthetic_cells(120, 1);
        let years: Vec<u32> = cells.iter().map(|c| c.years).collect();
        assert_eq!(*years.iter().min().unwrap(), 1);
        assert_eq!(*years.iter().max().unwrap(), 11);
        let out: Vec<_> = cells.iter().map(run_synthetic_cell).collect();
        assert!(out.iter().any(|r| r.is_err()));
        assert!(out
            .iter()
            .any(|r| matches!(r, Ok(s) if s.zero_amplitude_depth.is_nan())));
        assert!(out
            .iter()
            .any(|r| matches!(r, Ok(s) if s.zero_amplitude_depth.is_finite())));
    }
}
