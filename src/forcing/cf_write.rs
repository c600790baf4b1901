//! Writing and reading CF-1.8 netCDF grids: forcing files `(time, lat, lon)`
//! written in time blocks, and static rasters `(lat, lon)` read back in grid
//! (north-up) order.
//!
//! Files are written under a temporary name in the destination folder and
//! renamed when complete, so a crash never leaves a partial file under the
//! final name. Latitudes are stored south to north (as CMFD does); the readers
//! accept either order.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::csv::tmp_path;
use crate::domain::Grid;
use crate::{Error, Result};

/// CF time units used by the writers.
pub const TIME_UNITS: &str = "hours since 1900-01-01 00:00:00";

/// Fill value of float variables written by calimap.
pub const FILL_F32: f32 = 1.0e20;

/// Description of one written variable.
#[derive(Clone, Debug)]
pub struct CfVar {
    /// Variable name in the file.
    pub name: String,
    /// CF `units`.
    pub units: String,
    /// CF `long_name`.
    pub long_name: String,
    /// CF `standard_name`, if there is one.
    pub standard_name: Option<String>,
    /// CF `cell_methods` (e.g. `time: mean`), if any.
    pub cell_methods: Option<String>,
}

fn nc(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::NetCdf {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn hours_since_1900(t: NaiveDateTime) -> f64 {
    let base = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    (t - base).num_milliseconds() as f64 / 3.6e6
}

/// Add `lat`/`lon` dimensions and coordinate variables (latitudes south to north).
fn add_coords(file: &mut netcdf::FileMut, grid: &Grid, path: &Path) -> Result<()> {
    file.add_dimension("lat", grid.ny)
        .map_err(|e| nc(path, e))?;
    file.add_dimension("lon", grid.nx)
        .map_err(|e| nc(path, e))?;
    let lats: Vec<f64> = (0..grid.ny).rev().map(|r| grid.lat(r)).collect();
    let lons = grid.lons();
    for (name, vals, units, std, axis) in [
        ("lat", lats, "degrees_north", "latitude", "Y"),
        ("lon", lons, "degrees_east", "longitude", "X"),
    ] {
        let mut v = file
            .add_variable::<f64>(name, &[name])
            .map_err(|e| nc(path, e))?;
        v.put_attribute("units", units).map_err(|e| nc(path, e))?;
        v.put_attribute("standard_name", std)
            .map_err(|e| nc(path, e))?;
        v.put_attribute("long_name", std).map_err(|e| nc(path, e))?;
        v.put_attribute("axis", axis).map_err(|e| nc(path, e))?;
        v.put_values(&vals, ..).map_err(|e| nc(path, e))?;
    }
    let mut crs = file
        .add_variable::<i32>("crs", &[])
        .map_err(|e| nc(path, e))?;
    crs.put_attribute("grid_mapping_name", "latitude_longitude")
        .map_err(|e| nc(path, e))?;
    crs.put_attribute("epsg_code", format!("EPSG:{}", grid.epsg))
        .map_err(|e| nc(path, e))?;
    crs.put_attribute("semi_major_axis", 6378137.0)
        .map_err(|e| nc(path, e))?;
    crs.put_attribute("inverse_flattening", 298.257223563)
        .map_err(|e| nc(path, e))?;
    Ok(())
}

fn add_global(file: &mut netcdf::FileMut, title: &str, path: &Path) -> Result<()> {
    file.add_attribute("Conventions", "CF-1.8")
        .map_err(|e| nc(path, e))?;
    file.add_attribute("title", title)
        .map_err(|e| nc(path, e))?;
    file.add_attribute("source", format!("calimap {}", env!("CARGO_PKG_VERSION")))
        .map_err(|e| nc(path, e))?;
    Ok(())
}

/// A gridded forcing file being written block by block.
pub struct CfGridWriter {
    file: netcdf::FileMut,
    tmp: PathBuf,
    path: PathBuf,
    grid: Grid,
    vars: Vec<String>,
    nt: usize,
    written: usize,
}

impl CfGridWriter {
    /// Create `path` (under a temporary name) for `vars` on `grid` with the
    /// time stamps `times`; data chunked as `(chunk_t, <=16, <=16)`, optionally
    /// deflated (level 1, shuffle).
    pub fn create(
        path: &Path,
        grid: &Grid,
        times: &[NaiveDateTime],
        vars: &[CfVar],
        title: &str,
        chunk_t: usize,
        compress: bool,
    ) -> Result<Self> {
        let tmp = tmp_path(path);
        let mut file = netcdf::create(&tmp).map_err(|e| nc(&tmp, e))?;
        add_global(&mut file, title, &tmp)?;
        file.add_dimension("time", times.len())
            .map_err(|e| nc(&tmp, e))?;
        {
            let mut t = file
                .add_variable::<f64>("time", &["time"])
                .map_err(|e| nc(&tmp, e))?;
            t.put_attribute("units", TIME_UNITS)
                .map_err(|e| nc(&tmp, e))?;
            t.put_attribute("calendar", "standard")
                .map_err(|e| nc(&tmp, e))?;
            t.put_attribute("standard_name", "time")
                .map_err(|e| nc(&tmp, e))?;
            t.put_attribute("axis", "T").map_err(|e| nc(&tmp, e))?;
            let hours: Vec<f64> = times.iter().map(|t| hours_since_1900(*t)).collect();
            t.put_values(&hours, ..).map_err(|e| nc(&tmp, e))?;
        }
        add_coords(&mut file, grid, &tmp)?;
        for v in vars {
            let mut var = file
                .add_variable::<f32>(&v.name, &["time", "lat", "lon"])
                .map_err(|e| nc(&tmp, e))?;
            var.set_chunking(&[
                chunk_t.clamp(1, times.len().max(1)),
                grid.ny.min(16),
                grid.nx.min(16),
            ])
            .map_err(|e| nc(&tmp, e))?;
            if compress {
                var.set_compression(1, true).map_err(|e| nc(&tmp, e))?;
            }
            var.set_fill_value(FILL_F32).map_err(|e| nc(&tmp, e))?;
            var.put_attribute("units", v.units.as_str())
                .map_err(|e| nc(&tmp, e))?;
            var.put_attribute("long_name", v.long_name.as_str())
                .map_err(|e| nc(&tmp, e))?;
            if let Some(s) = &v.standard_name {
                var.put_attribute("standard_name", s.as_str())
                    .map_err(|e| nc(&tmp, e))?;
            }
            if let Some(s) = &v.cell_methods {
                var.put_attribute("cell_methods", s.as_str())
                    .map_err(|e| nc(&tmp, e))?;
            }
            var.put_attribute("grid_mapping", "crs")
                .map_err(|e| nc(&tmp, e))?;
        }
        Ok(Self {
            file,
            tmp,
            path: path.to_path_buf(),
            grid: grid.clone(),
            vars: vars.iter().map(|v| v.name.clone()).collect(),
            nt: times.len(),
            written: 0,
        })
    }

    /// Write the next `n` steps of variable `k` (index into the `vars` given
    /// to [`create`](Self::create)) from `data`, laid out `[step][row][col]`
    /// in grid order (row 0 north). Every variable must be written for the
    /// same blocks; call [`advance`](Self::advance) after each block.
    pub fn put_block(&mut self, k: usize, n: usize, data: &[f32]) -> Result<()> {
        let (ny, nx) = (self.grid.ny, self.grid.nx);
        if data.len() != n * ny * nx || self.written + n > self.nt {
            return Err(Error::Other(format!(
                "{}: block of {} values for {n} steps does not fit",
                self.path.display(),
                data.len()
            )));
        }
        let name = self.vars.get(k).cloned().unwrap_or_default();
        let mut flipped = vec![0f32; data.len()];
        for t in 0..n {
            for r in 0..ny {
                let src = (t * ny + r) * nx;
                let dst = (t * ny + (ny - 1 - r)) * nx;
                flipped[dst..dst + nx].copy_from_slice(&data[src..src + nx]);
            }
        }
        let mut var = self
            .file
            .variable_mut(&name)
            .ok_or_else(|| nc(&self.tmp, format!("variable `{name}` not defined")))?;
        var.put_values(&flipped, (&[self.written, 0, 0][..], &[n, ny, nx][..]))
            .map_err(|e| nc(&self.tmp, e))
    }

    /// Mark `n` steps as written for all variables.
    pub fn advance(&mut self, n: usize) {
        self.written += n;
    }

    /// Close the file and move it to its final name.
    pub fn finish(self) -> Result<PathBuf> {
        if self.written != self.nt {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(Error::Other(format!(
                "{}: only {} of {} steps were written",
                self.path.display(),
                self.written,
                self.nt
            )));
        }
        self.file.close().map_err(|e| nc(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(self.path)
    }
}

/// Write static rasters `(lat, lon)` on `grid`, each given in grid order
/// (row-major, row 0 north); NaN becomes the fill value. Atomic.
pub fn write_cf_rasters(
    path: &Path,
    grid: &Grid,
    layers: &[(CfVar, &[f64])],
    title: &str,
) -> Result<()> {
    let tmp = tmp_path(path);
    let res = (|| -> Result<()> {
        let mut file = netcdf::create(&tmp).map_err(|e| nc(&tmp, e))?;
        add_global(&mut file, title, &tmp)?;
        add_coords(&mut file, grid, &tmp)?;
        for (v, data) in layers {
            if data.len() != grid.n_cells() {
                return Err(Error::Grid(format!(
                    "raster `{}` has {} values for a grid of {} cells",
                    v.name,
                    data.len(),
                    grid.n_cells()
                )));
            }
            let mut out = vec![FILL_F32; data.len()];
            for r in 0..grid.ny {
                for c in 0..grid.nx {
                    let x = data[r * grid.nx + c];
                    if x.is_finite() {
                        out[(grid.ny - 1 - r) * grid.nx + c] = x as f32;
                    }
                }
            }
            let mut var = file
                .add_variable::<f32>(&v.name, &["lat", "lon"])
                .map_err(|e| nc(&tmp, e))?;
            var.set_fill_value(FILL_F32).map_err(|e| nc(&tmp, e))?;
            var.put_attribute("units", v.units.as_str())
                .map_err(|e| nc(&tmp, e))?;
            var.put_attribute("long_name", v.long_name.as_str())
                .map_err(|e| nc(&tmp, e))?;
            if let Some(s) = &v.standard_name {
                var.put_attribute("standard_name", s.as_str())
                    .map_err(|e| nc(&tmp, e))?;
            }
            var.put_attribute("grid_mapping", "crs")
                .map_err(|e| nc(&tmp, e))?;
            var.put_values(&out, ..).map_err(|e| nc(&tmp, e))?;
        }
        file.close().map_err(|e| nc(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Read a 2-D raster `(lat, lon)` of a CF-netCDF file into grid order (row 0
/// north, row-major), applying `scale_factor`/`add_offset`; fill and missing
/// values become NaN. Returns the grid built from the coordinates.
pub fn read_cf_raster(path: &Path, name: &str) -> Result<(Grid, Vec<f64>)> {
    super::netcdf::quiet_hdf5_on_this_thread();
    let file = netcdf::open(path).map_err(|e| nc(path, format!("cannot open: {e}")))?;
    let var = file.variable(name).ok_or_else(|| {
        let names: Vec<String> = file.variables().map(|v| v.name()).collect();
        nc(
            path,
            format!(
                "variable `{name}` not found (the file has: {})",
                names.join(", ")
            ),
        )
    })?;
    let dims: Vec<String> = var.dimensions().iter().map(|d| d.name()).collect();
    if dims.len() != 2 {
        return Err(nc(
            path,
            format!(
                "variable `{name}` has dimensions ({}); expected (lat, lon)",
                dims.join(", ")
            ),
        ));
    }
    let coord = |d: &str| -> Result<Vec<f64>> {
        file.variable(d)
            .ok_or_else(|| nc(path, format!("coordinate variable `{d}` is missing")))?
            .get_values::<f64, _>(..)
            .map_err(|e| nc(path, e))
    };
    let lats = coord(&dims[0])?;
    let lons = coord(&dims[1])?;
    let grid = Grid::from_centres(&lats, &lons, 0.1)
        .map_err(|e| nc(path, format!("variable `{name}`: {e}")))?;
    let num = |a: &str| -> Result<Option<f64>> {
        match var.attribute_value(a) {
            None => Ok(None),
            Some(Ok(v)) => f64::try_from(v)
                .map(Some)
                .map_err(|_| nc(path, format!("attribute `{a}` of `{name}` is not a number"))),
            Some(Err(e)) => Err(nc(path, e)),
        }
    };
    let scale = num("scale_factor")?.unwrap_or(1.0);
    let offset = num("add_offset")?.unwrap_or(0.0);
    let fills: Vec<f64> = [num("_FillValue")?, num("missing_value")?]
        .into_iter()
        .flatten()
        .collect();
    let raw = var.get_values::<f64, _>(..).map_err(|e| nc(path, e))?;
    let ascending = lats.len() > 1 && lats[1] > lats[0];
    let mut out = vec![f64::NAN; grid.n_cells()];
    for fr in 0..grid.ny {
        let r = if ascending { grid.ny - 1 - fr } else { fr };
        for c in 0..grid.nx {
            let x = raw[fr * grid.nx + c];
            let fill = fills.iter().any(|f| *f == x || (x as f32) == (*f as f32));
            if !fill && x.is_finite() {
                out[r * grid.nx + c] = x * scale + offset;
            }
        }
    }
    Ok((grid, out))
}
