//! A regular latitude-longitude (or projected) grid, north-up.
//!
//! Conventions, shared by the forcing readers, the raster writers and the
//! runner:
//! * cells are addressed `(row, col)`; row 0 is the northernmost row, col 0 the
//!   westernmost column; the linear index is `row * nx + col` (row-major);
//! * `lon0`, `lat0` are the outer west and north edges of the grid (the
//!   upper-left corner of cell (0, 0), as in a GeoTIFF transform);
//! * `dlon`, `dlat` are positive cell sizes; rows go south, so the centre of
//!   cell (row, col) is `(lat0 - (row + 0.5) dlat, lon0 + (col + 0.5) dlon)`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// EPSG code of geographic WGS 84 coordinates (degrees).
pub const EPSG_WGS84: u32 = 4326;

/// A regular north-up grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Number of columns (west to east).
    pub nx: usize,
    /// Number of rows (north to south).
    pub ny: usize,
    /// West edge of the grid (degrees east, or metres for a projected CRS).
    pub lon0: f64,
    /// North edge of the grid (degrees north, or metres for a projected CRS).
    pub lat0: f64,
    /// Column width (degrees, or metres), positive.
    pub dlon: f64,
    /// Row height (degrees, or metres), positive; rows go south.
    pub dlat: f64,
    /// EPSG code of the coordinate reference system (4326 for lat/lon).
    pub epsg: u32,
}

impl Grid {
    /// A grid from its upper-left corner and cell sizes. Errors when a size is
    /// zero or a spacing is not positive and finite.
    pub fn new(
        nx: usize,
        ny: usize,
        lon0: f64,
        lat0: f64,
        dlon: f64,
        dlat: f64,
        epsg: u32,
    ) -> Result<Self> {
        if nx == 0 || ny == 0 {
            return Err(Error::Grid(format!("grid has no cells ({nx} x {ny})")));
        }
        for (name, v) in [("dlon", dlon), ("dlat", dlat)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::Grid(format!(
                    "cell size {name} = {v} must be positive"
                )));
            }
        }
        if !(lon0.is_finite() && lat0.is_finite()) {
            return Err(Error::Grid(format!(
                "grid corner ({lon0}, {lat0}) is not finite"
            )));
        }
        Ok(Self {
            nx,
            ny,
            lon0,
            lat0,
            dlon,
            dlat,
            epsg,
        })
    }

    /// A geographic grid from cell-centre coordinate vectors as found in a
    /// netCDF file: `lats` in either order, `lons` west to east, each regularly
    /// spaced within `rel_tol` of the mean spacing. A one-element axis takes
    /// the spacing of the other axis, or `default_step` if both have one element.
    pub fn from_centres(lats: &[f64], lons: &[f64], default_step: f64) -> Result<Self> {
        fn step(name: &str, v: &[f64]) -> Result<Option<f64>> {
            if v.is_empty() {
                return Err(Error::Grid(format!("coordinate `{name}` is empty")));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::Grid(format!(
                    "coordinate `{name}` has non-finite values"
                )));
            }
            if v.len() == 1 {
                return Ok(None);
            }
            let d = (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64;
            if d == 0.0 {
                return Err(Error::Grid(format!("coordinate `{name}` is constant")));
            }
            for (i, w) in v.windows(2).enumerate() {
                let di = w[1] - w[0];
                if ((di - d) / d).abs() > 1e-3 {
                    return Err(Error::Grid(format!(
                        "coordinate `{name}` is not regular: step {di} between index {i} and {} \
                         differs from the mean step {d}",
                        i + 1
                    )));
                }
            }
            Ok(Some(d))
        }
        let dlat_signed = step("lat", lats)?;
        let dlon = step("lon", lons)?;
        if let Some(d) = dlon {
            if d < 0.0 {
                return Err(Error::Grid(
                    "coordinate `lon` decreases; only west-to-east longitudes are supported".into(),
                ));
            }
        }
        let dlat = dlat_signed.map(f64::abs);
        let (dlon, dlat) = match (dlon, dlat) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a),
            (None, Some(b)) => (b, b),
            (None, None) => (default_step, default_step),
        };
        let north = lats.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let west = lons.iter().cloned().fold(f64::INFINITY, f64::min);
        Grid::new(
            lons.len(),
            lats.len(),
            west - 0.5 * dlon,
            north + 0.5 * dlat,
            dlon,
            dlat,
            EPSG_WGS84,
        )
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.nx * self.ny
    }

    /// Latitude of the centre of row `row` (row 0 is the northernmost).
    pub fn lat(&self, row: usize) -> f64 {
        self.lat0 - (row as f64 + 0.5) * self.dlat
    }

    /// Longitude of the centre of column `col`.
    pub fn lon(&self, col: usize) -> f64 {
        self.lon0 + (col as f64 + 0.5) * self.dlon
    }

    /// Centre `(lat, lon)` of cell `(row, col)`.
    pub fn centre(&self, row: usize, col: usize) -> (f64, f64) {
        (self.lat(row), self.lon(col))
    }

    /// Row-centre latitudes, north to south.
    pub fn lats(&self) -> Vec<f64> {
        (0..self.ny).map(|r| self.lat(r)).collect()
    }

    /// Column-centre longitudes, west to east.
    pub fn lons(&self) -> Vec<f64> {
        (0..self.nx).map(|c| self.lon(c)).collect()
    }

    /// Linear (row-major) index of cell `(row, col)`, or `None` outside the grid.
    pub fn index(&self, row: usize, col: usize) -> Option<usize> {
        (row < self.ny && col < self.nx).then_some(row * self.nx + col)
    }

    /// `(row, col)` of a linear index, or `None` outside the grid.
    pub fn cell(&self, index: usize) -> Option<(usize, usize)> {
        (index < self.n_cells()).then_some((index / self.nx, index % self.nx))
    }

    /// The cell `(row, col)` containing the point `(lat, lon)`, or `None` when
    /// it lies outside the grid. Points on an inner edge belong to the cell to
    /// their south and east.
    pub fn locate(&self, lat: f64, lon: f64) -> Option<(usize, usize)> {
        let fc = (lon - self.lon0) / self.dlon;
        let fr = (self.lat0 - lat) / self.dlat;
        if !(fc.is_finite() && fr.is_finite()) || fc < 0.0 || fr < 0.0 {
            return None;
        }
        let (r, c) = (fr.floor() as usize, fc.floor() as usize);
        (r < self.ny && c < self.nx).then_some((r, c))
    }

    /// Affine GeoTIFF-style transform `[lon0, dlon, 0, lat0, 0, -dlat]`.
    pub fn geo_transform(&self) -> [f64; 6] {
        [self.lon0, self.dlon, 0.0, self.lat0, 0.0, -self.dlat]
    }

    /// Whether two grids describe the same cells, with corners and cell sizes
    /// equal to within 1e-3 of a cell size (coordinates stored as `f32`, as in
    /// many netCDF files, carry errors of about 1e-5 degrees).
    pub fn same_as(&self, other: &Grid) -> bool {
        self.check_same(other, "").is_ok()
    }

    /// `Ok` when `other` is the same grid; otherwise an error that names
    /// `what` (e.g. a file and variable) and says which property differs.
    pub fn check_same(&self, other: &Grid, what: &str) -> Result<()> {
        let what = if what.is_empty() {
            String::from("the other grid")
        } else {
            what.to_string()
        };
        let mut diffs = Vec::new();
        if self.nx != other.nx || self.ny != other.ny {
            diffs.push(format!(
                "shape {} x {} (nx x ny) vs {} x {}",
                self.nx, self.ny, other.nx, other.ny
            ));
        }
        if self.epsg != other.epsg {
            diffs.push(format!("EPSG:{} vs EPSG:{}", self.epsg, other.epsg));
        }
        let tol = 1e-3 * self.dlon.min(self.dlat).max(1e-12);
        for (name, a, b) in [
            ("dlon", self.dlon, other.dlon),
            ("dlat", self.dlat, other.dlat),
            ("west edge lon0", self.lon0, other.lon0),
            ("north edge lat0", self.lat0, other.lat0),
            (
                "east edge",
                self.lon0 + self.nx as f64 * self.dlon,
                other.lon0 + other.nx as f64 * other.dlon,
            ),
            (
                "south edge",
                self.lat0 - self.ny as f64 * self.dlat,
                other.lat0 - other.ny as f64 * other.dlat,
            ),
        ] {
            if (a - b).abs() > tol {
                diffs.push(format!("{name} {a} vs {b}"));
            }
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(Error::Grid(format!(
                "{what} is on another grid: {}",
                diffs.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Grid {
        Grid::new(40, 30, 90.0, 36.0, 0.1, 0.1, EPSG_WGS84).unwrap()
    }

    #[test]
    fn centres_and_indices() {
        let g = demo();
        let (lat, lon) = g.centre(0, 0);
        assert!((lat - 35.95).abs() < 1e-12 && (lon - 90.05).abs() < 1e-12);
        let (lat, lon) = g.centre(29, 39);
        assert!((lat - 33.05).abs() < 1e-9 && (lon - 93.95).abs() < 1e-9);
        assert_eq!(g.index(2, 3), Some(83));
        assert_eq!(g.cell(83), Some((2, 3)));
        assert_eq!(g.index(30, 0), None);
        assert_eq!(g.cell(1200), None);
        assert_eq!(g.locate(35.95, 90.05), Some((0, 0)));
        assert_eq!(g.locate(33.01, 93.99), Some((29, 39)));
        assert_eq!(g.locate(36.01, 90.5), None);
        assert_eq!(g.locate(35.0, 89.99), None);
    }

    #[test]
    fn from_centres_either_latitude_order() {
        let lats_s2n: Vec<f64> = (0..30).map(|i| 33.05 + 0.1 * i as f64).collect();
        let lats_n2s: Vec<f64> = lats_s2n.iter().rev().cloned().collect();
        let lons: Vec<f64> = (0..40).map(|i| 90.05 + 0.1 * i as f64).collect();
        let a = Grid::from_centres(&lats_s2n, &lons, 0.25).unwrap();
        let b = Grid::from_centres(&lats_n2s, &lons, 0.25).unwrap();
        assert!(a.same_as(&demo()), "{a:?}");
        assert!(b.same_as(&demo()));
        let p = Grid::from_centres(&[47.9], &[107.3], 0.25).unwrap();
        assert_eq!((p.nx, p.ny), (1, 1));
        assert!((p.lat(0) - 47.9).abs() < 1e-12 && (p.lon(0) - 107.3).abs() < 1e-12);
        let irregular = [33.0, 33.1, 33.3];
        assert!(Grid::from_centres(&irregular, &lons, 0.1).is_err());
    }

    #[test]
    fn mismatch_is_explained() {
        let g = demo();
        let mut h = demo();
        h.lon0 += 0.05;
        let err = g.check_same(&h, "soil.nc variable `soil`").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("soil.nc") && msg.contains("lon0") && msg.contains("90.05"),
            "{msg}"
        );
        let h = Grid::new(41, 30, 90.0, 36.0, 0.1, 0.1, EPSG_WGS84).unwrap();
        assert!(g
            .check_same(&h, "x")
            .unwrap_err()
            .to_string()
            .contains("41 x 30"));
        assert!(Grid::new(0, 3, 0.0, 0.0, 1.0, 1.0, 4326).is_err());
        assert!(Grid::new(3, 3, 0.0, 0.0, -1.0, 1.0, 4326).is_err());
    }
}
