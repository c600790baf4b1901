//! The parallel domain runner: many cells (and parameter sets) through one
//! model, tile by tile, so that forcing is never held for the whole domain.
//!
//! Recipe of one run:
//! 1. split the active cells into tiles of at most `tile_cells` cells;
//! 2. for each tile, read the forcing of its cells (all time steps) through the
//!    caller's reader;
//! 3. run the tile's cells in parallel (rayon); each cell's run is a pure
//!    function of its inputs, so results do not depend on the thread count;
//! 4. drop the tile's forcing and keep only the small per-cell outputs.
//!
//! A failing cell is recorded as a failed outcome with its message; it never
//! aborts the run.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::Result;

/// The outcome of one cell.
#[derive(Clone, Debug)]
pub struct CellOutcome<O> {
    /// Index of the cell in the caller's cell list.
    pub index: usize,
    /// The cell's output, or the error message of its failure.
    pub result: std::result::Result<O, String>,
}

/// Progress callback: called with (cells done, cells total) after each tile.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Run `run_cell` over `cells`, reading forcing tile by tile with `read_tile`.
///
/// `read_tile` gets the cells of one tile and returns one forcing value per
/// cell in the same order; its failure (an unreadable file) aborts the run,
/// while a failure of `run_cell` is recorded for that cell only.
pub fn run_tiled<C, F, O>(
    cells: &[C],
    tile_cells: usize,
    read_tile: &(dyn Fn(&[C]) -> Result<Vec<F>> + Sync),
    run_cell: &(dyn Fn(&C, &F) -> Result<O> + Sync),
    progress: Option<Progress<'_>>,
) -> Result<Vec<CellOutcome<O>>>
where
    C: Sync,
    F: Send + Sync,
    O: Send,
{
    let tile_cells = tile_cells.max(1);
    let done = AtomicUsize::new(0);
    let mut out = Vec::with_capacity(cells.len());
    for (t, tile) in cells.chunks(tile_cells).enumerate() {
        let forcing = read_tile(tile)?;
        if forcing.len() != tile.len() {
            return Err(crate::Error::Other(format!(
                "forcing reader returned {} series for a tile of {} cells",
                forcing.len(),
                tile.len()
            )));
        }
        let base = t * tile_cells;
        let mut results: Vec<CellOutcome<O>> = tile
            .par_iter()
            .zip(forcing.par_iter())
            .enumerate()
            .map(|(i, (cell, f))| CellOutcome {
                index: base + i,
                result: run_cell(cell, f).map_err(|e| e.to_string()),
            })
            .collect();
        out.append(&mut results);
        let n = done.fetch_add(tile.len(), Ordering::Relaxed) + tile.len();
        if let Some(p) = progress {
            p(n, cells.len());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_cell_in_order_and_failures_are_recorded() {
        let cells: Vec<usize> = (0..23).collect();
        let reads = AtomicUsize::new(0);
        let read = |tile: &[usize]| -> Result<Vec<f64>> {
            reads.fetch_add(1, Ordering::Relaxed);
            Ok(tile.iter().map(|&c| c as f64 * 0.5).collect())
        };
        let run = |c: &usize, f: &f64| -> Result<f64> {
            if *c == 7 {
                Err(crate::Error::model(Some(format!("{c}")), "diverged"))
            } else {
                Ok(f * 2.0)
            }
        };
        let out = run_tiled(&cells, 5, &read, &run, None).unwrap();
        assert_eq!(reads.load(Ordering::Relaxed), 5);
        assert_eq!(out.len(), 23);
        for (i, o) in out.iter().enumerate() {
            assert_eq!(o.index, i);
            if i == 7 {
                assert!(o.result.as_ref().unwrap_err().contains("diverged"));
            } else {
                assert_eq!(*o.result.as_ref().unwrap(), i as f64);
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let cells: Vec<u64> = (0..200).collect();
        let read = |tile: &[u64]| -> Result<Vec<u64>> { Ok(tile.to_vec()) };
        let run = |c: &u64, _: &u64| -> Result<f64> {
            // a little floating-point work whose result depends only on the cell
            Ok((0..1000).fold(*c as f64, |a, k| (a * 1.000001 + k as f64).sin()))
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let a = one.install(|| run_tiled(&cells, 64, &read, &run, None).unwrap());
        let b = two.install(|| run_tiled(&cells, 64, &read, &run, None).unwrap());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                x.result.as_ref().unwrap().to_bits(),
                y.result.as_ref().unwrap().to_bits()
            );
        }
    }
}
