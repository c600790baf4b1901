//! CF-1.8 netCDF-4 files of annual frozen-ground maps (class, ALT, MAGT, TTOP,
//! GT10m), optionally per ensemble member, and a reader for them.
//!
//! Layout: dimensions `time` (one per year), `lat` (north to south, the row
//! order of [`RasterGrid`]), `lon` (west to east) and, for ensembles,
//! `member` first, so variables are `(member, time, lat, lon)` or
//! `(time, lat, lon)`. Coordinates carry `units`, `standard_name`, `axis`;
//! `time` is "days since 1970-01-01" (standard calendar) at 1 January of each
//! year with `time_bnds` spanning the year. Fields carry `units`,
//! `long_name`, `_FillValue` and `grid_mapping = "crs"` (a
//! `latitude_longitude` grid-mapping variable on WGS 84). The class is a u8
//! flag variable (`flag_values` 1, 2, 3; `flag_meanings`), fill 255;
//! temperatures are in degC and depths in m, fill -9999. Names follow the CF
//! standard-name table (v84) where one exists (`permafrost_active_layer_thickness`).
//!
//! Concurrency: the `netcdf` crate serialises every library call, so files
//! may be written from several threads. HDF5 locks open files with `flock`,
//! and a child process spawned while a file is open inherits that lock;
//! spawn external tools only when no netCDF file is open in another thread.
//! HDF5's per-thread error printing is turned off before each call, so probes
//! for optional attributes do not print "HDF5-DIAG" traces.

use std::path::Path;

use chrono::NaiveDate;

use super::atomic::AtomicPath;
use super::geotiff::{Crs, GeoTransform, Raster, RasterGrid};
use crate::diagnostics::AnnualDiagnostics;
use crate::{Error, Result};

/// Fill value of the class variable.
pub const CLASS_FILL: u8 = 255;
/// Fill value of the floating-point fields.
pub const FLOAT_FILL: f32 = -9999.0;

/// The floating-point fields, in file order: (name, units, long_name, standard_name).
pub const FLOAT_FIELDS: [(&str, &str, &str, Option<&str>); 4] = [
    (
        "alt",
        "m",
        "active-layer thickness (deepest 0 degC crossing of the annual maximum temperature profile)",
        Some("permafrost_active_layer_thickness"),
    ),
    (
        "magt",
        "degC",
        "mean annual ground temperature at the deepest modelled layer",
        None,
    ),
    (
        "ttop",
        "degC",
        "mean annual temperature at the top of permafrost",
        None,
    ),
    (
        "gt10m",
        "degC",
        "mean annual ground temperature at 10 m depth",
        None,
    ),
];

/// Annual maps on one geographic grid: `years.len()` maps per member.
///
/// Every field is a flat array indexed `[(member * years + t) * rows + row] * cols + col`
/// (see [`AnnualMapStack::index`]); missing values are [`CLASS_FILL`] for the
/// class and NaN for the other fields.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnualMapStack {
    /// The grid (must be geographic: lon/lat degrees).
    pub grid: RasterGrid,
    /// The calendar years, increasing.
    pub years: Vec<i32>,
    /// Member names; empty for a single run without a member dimension.
    pub members: Vec<String>,
    /// Frozen-ground class codes (1, 2, 3) or [`CLASS_FILL`].
    pub class: Vec<u8>,
    /// Active-layer thickness (m).
    pub alt: Vec<f32>,
    /// Mean annual ground temperature (degC).
    pub magt: Vec<f32>,
    /// Temperature at the top of permafrost (degC).
    pub ttop: Vec<f32>,
    /// Mean annual ground temperature at 10 m (degC).
    pub gt10m: Vec<f32>,
}

impl AnnualMapStack {
    /// An all-missing stack.
    pub fn new(grid: RasterGrid, years: Vec<i32>, members: Vec<String>) -> Self {
        let n = members.len().max(1) * years.len() * grid.len();
        Self {
            grid,
            years,
            members,
            class: vec![CLASS_FILL; n],
            alt: vec![f32::NAN; n],
            magt: vec![f32::NAN; n],
            ttop: vec![f32::NAN; n],
            gt10m: vec![f32::NAN; n],
        }
    }

    /// Number of member slices (1 without a member dimension).
    pub fn n_members(&self) -> usize {
        self.members.len().max(1)
    }

    /// Flat index of (`member`, year index `t`, `row`, `col`).
    pub fn index(&self, member: usize, t: usize, row: usize, col: usize) -> usize {
        ((member * self.years.len() + t) * self.grid.rows + row) * self.grid.cols + col
    }

    /// Store one cell's diagnostics for `member` (0 without members).
    pub fn set(
        &mut self,
        member: usize,
        row: usize,
        col: usize,
        d: &AnnualDiagnostics,
    ) -> Result<()> {
        let t = self
            .years
            .iter()
            .position(|&y| y == d.year)
            .ok_or_else(|| {
                Error::Other(format!(
                    "year {} is not among the map years {:?}",
                    d.year, self.years
                ))
            })?;
        if member >= self.n_members() || row >= self.grid.rows || col >= self.grid.cols {
            return Err(Error::Grid(format!(
                "cell (member {member}, row {row}, col {col}) is outside {} members x {} x {}",
                self.n_members(),
                self.grid.rows,
                self.grid.cols
            )));
        }
        let k = self.index(member, t, row, col);
        self.class[k] = d.class.code();
        self.alt[k] = d.alt.map_or(f32::NAN, |v| v as f32);
        self.magt[k] = d.magt as f32;
        self.ttop[k] = d.ttop.map_or(f32::NAN, |v| v as f32);
        self.gt10m[k] = d.gt10m as f32;
        Ok(())
    }

    fn slice_range(&self, member: usize, t: usize) -> Result<std::ops::Range<usize>> {
        if member >= self.n_members() || t >= self.years.len() {
            return Err(Error::Other(format!(
                "annual maps: no slice for member {member}, year index {t} ({} members, {} years)",
                self.n_members(),
                self.years.len()
            )));
        }
        let start = self.index(member, t, 0, 0);
        Ok(start..start + self.grid.len())
    }

    /// The class map of `member` in year index `t` as a raster (nodata
    /// [`CLASS_FILL`]), ready for [`crate::io::geotiff::write_geotiff`].
    pub fn class_raster(&self, member: usize, t: usize) -> Result<Raster<u8>> {
        let r = self.slice_range(member, t)?;
        Raster::new(self.grid, self.class[r].to_vec(), Some(CLASS_FILL))
    }

    /// A floating-point field (`alt`, `magt`, `ttop` or `gt10m`) of `member`
    /// in year index `t` as a raster with nodata [`FLOAT_FILL`].
    pub fn field_raster(&self, name: &str, member: usize, t: usize) -> Result<Raster<f32>> {
        if !FLOAT_FIELDS.iter().any(|f| f.0 == name) {
            return Err(Error::Other(format!(
                "annual maps: unknown field `{name}` (alt, magt, ttop, gt10m)"
            )));
        }
        let r = self.slice_range(member, t)?;
        let data = self.field(name)[r]
            .iter()
            .map(|&v| if v.is_finite() { v } else { FLOAT_FILL })
            .collect();
        Raster::new(self.grid, data, Some(FLOAT_FILL))
    }

    fn field(&self, name: &str) -> &[f32] {
        match name {
            "alt" => &self.alt,
            "magt" => &self.magt,
            "ttop" => &self.ttop,
            _ => &self.gt10m,
        }
    }

    fn field_mut(&mut self, name: &str) -> &mut Vec<f32> {
        match name {
            "alt" => &mut self.alt,
            "magt" => &mut self.magt,
            "ttop" => &mut self.ttop,
            _ => &mut self.gt10m,
        }
    }

    fn check(&self) -> Result<()> {
        let n = self.n_members() * self.years.len() * self.grid.len();
        if n == 0 {
            return Err(Error::Other(
                "annual maps: no year, row or column to write".into(),
            ));
        }
        for (name, len) in [
            ("class", self.class.len()),
            ("alt", self.alt.len()),
            ("magt", self.magt.len()),
            ("ttop", self.ttop.len()),
            ("gt10m", self.gt10m.len()),
        ] {
            if len != n {
                return Err(Error::Grid(format!(
                    "annual maps: `{name}` holds {len} values, expected {n}"
                )));
            }
        }
        if self.years.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::Other(format!(
                "annual maps: years must increase, got {:?}",
                self.years
            )));
        }
        Ok(())
    }
}

/// Descriptive global attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct NetcdfMeta {
    /// `title`.
    pub title: String,
    /// `history`: what made the file (a command line, a date).
    pub history: String,
    /// Optional `comment`.
    pub comment: Option<String>,
}

fn days_since_epoch(year: i32, path: &Path) -> Result<f64> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let d = NaiveDate::from_ymd_opt(year, 1, 1)
        .ok_or_else(|| Error::parse(path, None, format!("year {year} is out of range")))?;
    Ok((d - epoch).num_days() as f64)
}

fn nc_err(path: &Path, what: &str) -> impl Fn(netcdf::Error) -> Error {
    let what = what.to_string();
    let path = path.to_path_buf();
    move |e| Error::NetCdf {
        path: path.clone(),
        message: format!("{what}: {e}"),
    }
}

/// Write `stack` as a CF-1.8 netCDF-4 file at `path`, atomically.
pub fn write_annual_netcdf(
    path: impl AsRef<Path>,
    stack: &AnnualMapStack,
    meta: &NetcdfMeta,
) -> Result<()> {
    let path = path.as_ref();
    stack.check()?;
    if let Crs::Projected(code) = stack.grid.crs {
        return Err(Error::Unsupported(format!(
            "{}: the CF-netCDF writer handles geographic grids only (got projected EPSG:{code})",
            path.display()
        )));
    }
    let ap = AtomicPath::new(path)?;
    write_to(ap.temp(), path, stack, meta)?;
    ap.commit()
}

fn write_to(tmp: &Path, path: &Path, stack: &AnnualMapStack, meta: &NetcdfMeta) -> Result<()> {
    let e = |w: &str| nc_err(path, w);
    crate::forcing::netcdf::quiet_hdf5_on_this_thread();
    let mut f = netcdf::create(tmp).map_err(e("create"))?;
    let g = &stack.grid;
    let ny = g.rows;
    let nx = g.cols;
    let nt = stack.years.len();
    let with_members = !stack.members.is_empty();

    f.add_attribute("Conventions", "CF-1.8")
        .map_err(e("Conventions"))?;
    f.add_attribute("title", meta.title.as_str())
        .map_err(e("title"))?;
    f.add_attribute("history", meta.history.as_str())
        .map_err(e("history"))?;
    f.add_attribute(
        "source",
        format!("calimap {}", env!("CARGO_PKG_VERSION")).as_str(),
    )
    .map_err(e("source"))?;
    if let Some(c) = &meta.comment {
        f.add_attribute("comment", c.as_str())
            .map_err(e("comment"))?;
    }

    if with_members {
        f.add_dimension("member", stack.members.len())
            .map_err(e("member"))?;
    }
    f.add_dimension("time", nt).map_err(e("time"))?;
    f.add_dimension("lat", ny).map_err(e("lat"))?;
    f.add_dimension("lon", nx).map_err(e("lon"))?;
    f.add_dimension("nv", 2).map_err(e("nv"))?;

    // Coordinates.
    {
        let mut v = f
            .add_variable::<f64>("time", &["time"])
            .map_err(e("time"))?;
        v.put_attribute("standard_name", "time")
            .map_err(e("time"))?;
        v.put_attribute("long_name", "start of the year")
            .map_err(e("time"))?;
        v.put_attribute("units", "days since 1970-01-01 00:00:00")
            .map_err(e("time"))?;
        v.put_attribute("calendar", "standard").map_err(e("time"))?;
        v.put_attribute("axis", "T").map_err(e("time"))?;
        v.put_attribute("bounds", "time_bnds").map_err(e("time"))?;
        let t: Vec<f64> = stack
            .years
            .iter()
            .map(|&y| days_since_epoch(y, path))
            .collect::<Result<_>>()?;
        v.put_values(&t, ..).map_err(e("time"))?;
        let mut b = f
            .add_variable::<f64>("time_bnds", &["time", "nv"])
            .map_err(e("time_bnds"))?;
        let mut bounds = Vec::with_capacity(2 * nt);
        for &y in &stack.years {
            bounds.push(days_since_epoch(y, path)?);
            bounds.push(days_since_epoch(y + 1, path)?);
        }
        b.put_values(&bounds, ..).map_err(e("time_bnds"))?;
    }
    {
        let mut v = f.add_variable::<f64>("lat", &["lat"]).map_err(e("lat"))?;
        v.put_attribute("standard_name", "latitude")
            .map_err(e("lat"))?;
        v.put_attribute("long_name", "latitude of the cell centre")
            .map_err(e("lat"))?;
        v.put_attribute("units", "degrees_north")
            .map_err(e("lat"))?;
        v.put_attribute("axis", "Y").map_err(e("lat"))?;
        v.put_values(&g.y_centers(), ..).map_err(e("lat"))?;
    }
    {
        let mut v = f.add_variable::<f64>("lon", &["lon"]).map_err(e("lon"))?;
        v.put_attribute("standard_name", "longitude")
            .map_err(e("lon"))?;
        v.put_attribute("long_name", "longitude of the cell centre")
            .map_err(e("lon"))?;
        v.put_attribute("units", "degrees_east").map_err(e("lon"))?;
        v.put_attribute("axis", "X").map_err(e("lon"))?;
        v.put_values(&g.x_centers(), ..).map_err(e("lon"))?;
    }
    if with_members {
        let mut v = f
            .add_string_variable("member", &["member"])
            .map_err(e("member"))?;
        v.put_attribute("long_name", "ensemble member")
            .map_err(e("member"))?;
        for (i, name) in stack.members.iter().enumerate() {
            v.put_string(name, [i]).map_err(e("member"))?;
        }
    }
    {
        let mut v = f.add_variable::<i32>("crs", &[]).map_err(e("crs"))?;
        v.put_attribute("grid_mapping_name", "latitude_longitude")
            .map_err(e("crs"))?;
        v.put_attribute("semi_major_axis", 6378137.0f64)
            .map_err(e("crs"))?;
        v.put_attribute("inverse_flattening", 298.257223563f64)
            .map_err(e("crs"))?;
        v.put_attribute("longitude_of_prime_meridian", 0.0f64)
            .map_err(e("crs"))?;
        v.put_attribute("crs_wkt", "EPSG:4326").map_err(e("crs"))?;
        v.put_values(&[0i32], ..).map_err(e("crs"))?;
    }

    let dims: Vec<&str> = if with_members {
        vec!["member", "time", "lat", "lon"]
    } else {
        vec!["time", "lat", "lon"]
    };
    let chunk: Vec<usize> = if with_members {
        vec![1, 1, ny, nx]
    } else {
        vec![1, ny, nx]
    };
    {
        let mut v = f.add_variable::<u8>("class", &dims).map_err(e("class"))?;
        v.set_chunking(&chunk).map_err(e("class"))?;
        v.set_compression(4, true).map_err(e("class"))?;
        v.set_fill_value(CLASS_FILL).map_err(e("class"))?;
        v.put_attribute("long_name", "frozen-ground class")
            .map_err(e("class"))?;
        v.put_attribute("flag_values", vec![1u8, 2, 3])
            .map_err(e("class"))?;
        v.put_attribute(
            "flag_meanings",
            "permafrost seasonally_frozen_ground non_frozen_ground",
        )
        .map_err(e("class"))?;
        v.put_attribute("valid_range", vec![1u8, 3])
            .map_err(e("class"))?;
        v.put_attribute("grid_mapping", "crs").map_err(e("class"))?;
        v.put_values(&stack.class, ..).map_err(e("class"))?;
    }
    for (name, units, long_name, standard_name) in FLOAT_FIELDS {
        let mut v = f.add_variable::<f32>(name, &dims).map_err(e(name))?;
        v.set_chunking(&chunk).map_err(e(name))?;
        v.set_compression(4, true).map_err(e(name))?;
        v.set_fill_value(FLOAT_FILL).map_err(e(name))?;
        v.put_attribute("units", units).map_err(e(name))?;
        v.put_attribute("long_name", long_name).map_err(e(name))?;
        if let Some(sn) = standard_name {
            v.put_attribute("standard_name", sn).map_err(e(name))?;
        }
        v.put_attribute("grid_mapping", "crs").map_err(e(name))?;
        let data: Vec<f32> = stack
            .field(name)
            .iter()
            .map(|&x| if x.is_finite() { x } else { FLOAT_FILL })
            .collect();
        v.put_values(&data, ..).map_err(e(name))?;
    }
    f.close().map_err(e("close"))?;
    Ok(())
}

/// Read a file written by [`write_annual_netcdf`] (fill values become
/// [`CLASS_FILL`] and NaN).
pub fn read_annual_netcdf(path: impl AsRef<Path>) -> Result<AnnualMapStack> {
    let path = path.as_ref();
    let e = |w: &str| nc_err(path, w);
    crate::forcing::netcdf::quiet_hdf5_on_this_thread();
    let f = netcdf::open(path).map_err(e("open"))?;
    let var = |name: &str| {
        f.variable(name).ok_or_else(|| Error::NetCdf {
            path: path.to_path_buf(),
            message: format!("variable `{name}` is missing"),
        })
    };
    let lat: Vec<f64> = var("lat")?.get_values(..).map_err(e("lat"))?;
    let lon: Vec<f64> = var("lon")?.get_values(..).map_err(e("lon"))?;
    let time: Vec<f64> = var("time")?.get_values(..).map_err(e("time"))?;
    if lat.len() < 2 || lon.len() < 2 {
        return Err(Error::parse(
            path,
            None,
            "the reader needs at least 2 latitudes and 2 longitudes to recover the grid",
        ));
    }
    let dx = lon[1] - lon[0];
    let dy = lat[0] - lat[1];
    let grid = RasterGrid {
        cols: lon.len(),
        rows: lat.len(),
        transform: GeoTransform {
            x_origin: lon[0] - 0.5 * dx,
            y_origin: lat[0] + 0.5 * dy,
            dx,
            dy,
        },
        crs: Crs::WGS84,
    };
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let years: Vec<i32> = time
        .iter()
        .map(|&d| {
            use chrono::Datelike;
            (epoch + chrono::Duration::days(d.round() as i64)).year()
        })
        .collect();
    let members: Vec<String> = match f.variable("member") {
        Some(v) => (0..v.len())
            .map(|i| v.get_string([i]).map_err(e("member")))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let mut stack = AnnualMapStack::new(grid, years, members);
    stack.class = var("class")?.get_values(..).map_err(e("class"))?;
    for (name, ..) in FLOAT_FIELDS {
        let raw: Vec<f32> = var(name)?.get_values(..).map_err(e(name))?;
        *stack.field_mut(name) = raw
            .into_iter()
            .map(|x| if x == FLOAT_FILL { f32::NAN } else { x })
            .collect();
    }
    stack
        .check()
        .map_err(|er| Error::parse(path, None, er.to_string()))?;
    Ok(stack)
}
