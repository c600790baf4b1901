//! Scoring regions: which cells a calibration scores.
//!
//! - [`disagreement_mask`]: the "sensitive" cells of CaliMAP, where a default
//!   run disagrees with the reference map, optionally widened by a square
//!   (Chebyshev) neighbourhood of `radius` cells;
//! - [`boundary_mask`]: cells within `radius` cells of a class boundary of
//!   the reference map (the boundary cells of the FROSTNUM/COP survey
//!   calibration, Cao et al. 2023, ESSD 15:3905).
//!
//! Both return a row-major mask on the maps' grid that is true only on cells
//! valid in every map involved (not nodata, a class of the scheme), so the
//! mask can be passed straight to [`super::score_class_rasters`].

use super::kappa::ClassScheme;
use crate::io::geotiff::Raster;
use crate::{Error, Result};

/// Grow a mask by a square neighbourhood: a cell becomes true when any cell
/// within `radius` rows and columns is true. `radius = 0` returns a copy.
pub fn dilate(mask: &[bool], cols: usize, rows: usize, radius: usize) -> Result<Vec<bool>> {
    if mask.len() != cols * rows {
        return Err(Error::Grid(format!(
            "mask has {} cells, expected {cols} x {rows}",
            mask.len()
        )));
    }
    if radius == 0 {
        return Ok(mask.to_vec());
    }
    // Separable: first along rows, then along columns.
    let mut horiz = vec![false; mask.len()];
    for r in 0..rows {
        for c in 0..cols {
            let lo = c.saturating_sub(radius);
            let hi = (c + radius).min(cols - 1);
            horiz[r * cols + c] = (lo..=hi).any(|k| mask[r * cols + k]);
        }
    }
    let mut out = vec![false; mask.len()];
    for r in 0..rows {
        let lo = r.saturating_sub(radius);
        let hi = (r + radius).min(rows - 1);
        for c in 0..cols {
            out[r * cols + c] = (lo..=hi).any(|k| horiz[k * cols + c]);
        }
    }
    Ok(out)
}

/// The scored label of every cell (`None` for nodata or a code outside the scheme).
fn labels(r: &Raster<u8>, scheme: ClassScheme) -> Vec<Option<i64>> {
    r.data
        .iter()
        .map(|&v| {
            if r.is_nodata(v) {
                None
            } else {
                scheme.label(v as i64)
            }
        })
        .collect()
}

/// Cells where `reference` and `simulated` disagree under `scheme`, widened
/// by `radius` cells, restricted to cells valid in both maps.
pub fn disagreement_mask(
    reference: &Raster<u8>,
    simulated: &Raster<u8>,
    scheme: ClassScheme,
    radius: usize,
) -> Result<Vec<bool>> {
    reference
        .grid
        .check_same(&simulated.grid)
        .map_err(|e| Error::Grid(format!("reference against simulated map: {e}")))?;
    let (a, b) = (labels(reference, scheme), labels(simulated, scheme));
    let valid: Vec<bool> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| x.is_some() && y.is_some())
        .collect();
    let differ: Vec<bool> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| x.is_some() && y.is_some() && x != y)
        .collect();
    let g = &reference.grid;
    let wide = dilate(&differ, g.cols, g.rows, radius)?;
    Ok(wide.iter().zip(&valid).map(|(w, v)| *w && *v).collect())
}

/// Cells of `reference` within `radius >= 1` cells (Chebyshev distance) of
/// a valid cell of another class under `scheme`; only valid cells are true.
pub fn boundary_mask(
    reference: &Raster<u8>,
    scheme: ClassScheme,
    radius: usize,
) -> Result<Vec<bool>> {
    if radius == 0 {
        return Err(Error::Other(
            "boundary mask: the neighbourhood radius must be at least 1 cell".into(),
        ));
    }
    let g = &reference.grid;
    let a = labels(reference, scheme);
    let mut out = vec![false; a.len()];
    for row in 0..g.rows {
        for col in 0..g.cols {
            let Some(me) = a[row * g.cols + col] else {
                continue;
            };
            let (r0, r1) = (row.saturating_sub(radius), (row + radius).min(g.rows - 1));
            let (c0, c1) = (col.saturating_sub(radius), (col + radius).min(g.cols - 1));
            out[row * g.cols + col] = (r0..=r1)
                .any(|r| (c0..=c1).any(|c| matches!(a[r * g.cols + c], Some(o) if o != me)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::geotiff::RasterGrid;

    fn raster(cols: usize, rows: usize, data: Vec<u8>) -> Raster<u8> {
        Raster::new(
            RasterGrid::geographic(cols, rows, 0.0, 0.0, 1.0, 1.0),
            data,
            Some(255),
        )
        .unwrap()
    }

    fn show(m: &[bool], cols: usize) -> Vec<String> {
        m.chunks(cols)
            .map(|r| r.iter().map(|&b| if b { '#' } else { '.' }).collect())
            .collect()
    }

    #[test]
    fn dilation_by_one_and_two_cells() {
        let mut m = vec![false; 25];
        m[12] = true; // centre of a 5 x 5 grid
        let d1 = dilate(&m, 5, 5, 1).unwrap();
        assert_eq!(show(&d1, 5), [".....", ".###.", ".###.", ".###.", "....."]);
        let d2 = dilate(&m, 5, 5, 2).unwrap();
        assert!(d2.iter().all(|&b| b));
        m[12] = false;
        m[0] = true; // a corner stays inside the grid
        assert_eq!(
            show(&dilate(&m, 5, 5, 1).unwrap(), 5),
            ["##...", "##...", ".....", ".....", "....."]
        );
        assert!(dilate(&m, 4, 5, 1).is_err());
    }

    #[test]
    fn disagreement_mask_is_widened_and_limited_to_valid_cells() {
        #[rustfmt::skip]
        let r = raster(5, 4, vec![
            1, 1, 1, 2, 2,
            1, 1, 1, 2, 2,
            1, 1, 1, 2, 255,
            1, 1, 1, 2, 2,
        ]);
        #[rustfmt::skip]
        let s = raster(5, 4, vec![
            1, 1, 1, 2, 2,
            1, 1, 2, 2, 2,
            1, 1, 1, 2, 2,
            1, 1, 1, 3, 2,
        ]);
        // Three classes: cells (1,2) and (3,3) disagree.
        let m0 = disagreement_mask(&r, &s, ClassScheme::ThreeClass, 0).unwrap();
        assert_eq!(show(&m0, 5), [".....", "..#..", ".....", "...#."]);
        // Two classes: 2 and 3 are both "not permafrost", so only (1,2).
        let m2 = disagreement_mask(&r, &s, ClassScheme::TwoClass, 0).unwrap();
        assert_eq!(show(&m2, 5), [".....", "..#..", ".....", "....."]);
        // Widened by one cell; the nodata cell (2,4) stays out.
        let m1 = disagreement_mask(&r, &s, ClassScheme::ThreeClass, 1).unwrap();
        assert_eq!(show(&m1, 5), [".###.", ".###.", ".###.", "..###"]);
        let other = raster(4, 5, vec![1; 20]);
        assert!(disagreement_mask(&r, &other, ClassScheme::TwoClass, 0).is_err());
    }

    #[test]
    fn boundary_cells_of_a_two_class_map() {
        #[rustfmt::skip]
        let r = raster(6, 3, vec![
            1, 1, 1, 2, 2, 2,
            1, 1, 1, 2, 2, 2,
            1, 1, 1, 2, 2, 255,
        ]);
        let b1 = boundary_mask(&r, ClassScheme::TwoClass, 1).unwrap();
        assert_eq!(show(&b1, 6), ["..##..", "..##..", "..##.."]);
        let b2 = boundary_mask(&r, ClassScheme::TwoClass, 2).unwrap();
        assert_eq!(show(&b2, 6), [".####.", ".####.", ".####."]);
        assert!(boundary_mask(&r, ClassScheme::TwoClass, 0).is_err());
        // A single-class map has no boundary.
        let flat = raster(3, 3, vec![1; 9]);
        assert!(boundary_mask(&flat, ClassScheme::TwoClass, 1)
            .unwrap()
            .iter()
            .all(|&b| !b));
    }
}
