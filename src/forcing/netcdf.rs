//! CF-netCDF forcing: gridded `(time, lat, lon)` or point `(time)` variables,
//! one file per variable or several variables per file, split by year (or any
//! period) or not, streamed by cell tile and time window.
//!
//! An experiment maps each calimap variable to a netCDF variable name and the
//! files that hold it ([`CfForcingSpec`]). [`GriddedForcing::open`] reads only
//! metadata: the grid, the time axes and the attributes, and checks that
//!
//! * every variable and its `units` attribute exist (a unit can be overridden),
//!   and the unit is known for the quantity ([`units::parse_unit`]);
//! * every file of every variable is on the same grid;
//! * each variable's time axis is regular across all its files, without gaps,
//!   duplicates or overlaps; CF time units (`hours since 1900-01-01 00:00:00.0`)
//!   with the standard, Gregorian or proleptic Gregorian calendar;
//! * all variables share one step length and a common period.
//!
//! [`GriddedForcing::read_tile`] then reads a set of cells over a time window
//! and never more than the bounding box of those cells times a bounded time
//! chunk at once, applying `scale_factor`/`add_offset`, refusing
//! `_FillValue`/`missing_value` and non-finite data with an error that names
//! the file, variable, time and cell, converting to SI units and checking
//! plausibility ([`super::validate::check_step`]).
//!
//! Time stamps: each step of a [`PointForcing`] covers `[t, t + dt)`. Rates
//! and instantaneous values are taken as stamped at the start of their
//! interval; amounts accumulated over a step (`J m-2`, `m`, `mm`, as ERA5's
//! `ssrd`, `strd`, `tp`) as stamped at its end, the ERA5 convention. Either
//! default can be overridden per variable ([`Stamp`]). The common period is
//! the intersection of the variables' periods.
//!
//! Small negative accumulated values produced by packing (ERA5 packs zero as
//! `add_offset - 32766 * scale_factor`, which can be a few J m-2 or 1e-9 m
//! below zero) are set to zero when they lie within one packing quantum
//! (`scale_factor`) of zero; anything more negative is an error.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::units::{self, parse_unit, Conversion, Quantity};
use super::validate::check_step;
use super::{ForcingStep, PointForcing};
use crate::domain::Grid;
use crate::{Error, Result};

/// Which end of its interval a time stamp marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stamp {
    /// The stamp is the start of the interval (instantaneous values and rates).
    Start,
    /// The stamp is the end of the interval (ERA5 accumulations).
    End,
}

/// Where one input variable comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarSource {
    /// Variable name inside the files.
    pub name: String,
    /// Files holding it, in any order; they are joined along time.
    pub files: Vec<PathBuf>,
    /// Unit to use instead of the `units` attribute (when it is missing or wrong).
    #[serde(default)]
    pub units: Option<String>,
    /// Time-stamp convention, instead of the default (end for accumulated
    /// amounts, start otherwise).
    #[serde(default)]
    pub stamp: Option<Stamp>,
    /// For amounts accumulated over a window (J m-2, mm, m): the window length
    /// in seconds when it differs from the step length. ERA5 single-level data
    /// sampled every 6 hours, as in the Terelj files, hold the accumulation of
    /// the hour ending at the stamp: `accumulation = 3600`. Default: the step length.
    #[serde(default)]
    pub accumulation: Option<f64>,
}

impl VarSource {
    /// A variable held in one file.
    pub fn new(name: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            files: vec![file.into()],
            units: None,
            stamp: None,
            accumulation: None,
        }
    }

    /// A variable held in the files of `dir` whose names match `pattern`, a
    /// file name with at most one `*` (e.g. `temp_*.nc`), sorted by name.
    /// Errors when the folder cannot be read or nothing matches.
    pub fn matching(name: impl Into<String>, dir: &Path, pattern: &str) -> Result<Self> {
        let files = files_matching(dir, pattern)?;
        Ok(Self {
            name: name.into(),
            files,
            units: None,
            stamp: None,
            accumulation: None,
        })
    }

    /// With an accumulation window (s) for accumulated amounts.
    pub fn with_accumulation(mut self, seconds: f64) -> Self {
        self.accumulation = Some(seconds);
        self
    }

    /// With a unit override.
    pub fn with_units(mut self, units: impl Into<String>) -> Self {
        self.units = Some(units.into());
        self
    }
}

/// Files in `dir` matching `pattern` (at most one `*`), sorted by name.
pub fn files_matching(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let (pre, post) = pattern.split_once('*').unwrap_or((pattern, ""));
    let exact = !pattern.contains('*');
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ok = if exact {
            name == pattern
        } else {
            name.len() >= pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post)
        };
        if ok {
            out.push(entry.path());
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(Error::Other(format!(
            "no file in {} matches `{pattern}`",
            dir.display()
        )));
    }
    Ok(out)
}

/// The mapping of calimap variables to netCDF variables. Give exactly one
/// humidity source (`q_air`, `rh` or `dewpoint`) and either `wind` or both
/// `wind_u` and `wind_v`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CfForcingSpec {
    /// Air temperature (K or degC).
    pub t_air: VarSource,
    /// Surface pressure (Pa, hPa, kPa).
    pub p_air: VarSource,
    /// Specific humidity (kg/kg, g/kg).
    #[serde(default)]
    pub q_air: Option<VarSource>,
    /// Relative humidity (%, fraction), converted with [`units::rh_to_q`].
    #[serde(default)]
    pub rh: Option<VarSource>,
    /// Dew-point temperature (K, degC), converted with [`units::dewpoint_to_q`].
    #[serde(default)]
    pub dewpoint: Option<VarSource>,
    /// Wind speed (m/s).
    #[serde(default)]
    pub wind: Option<VarSource>,
    /// Eastward wind (m/s).
    #[serde(default)]
    pub wind_u: Option<VarSource>,
    /// Northward wind (m/s).
    #[serde(default)]
    pub wind_v: Option<VarSource>,
    /// Downward shortwave (W m-2, or J m-2 accumulated per step).
    pub sw_down: VarSource,
    /// Downward longwave (W m-2, or J m-2 accumulated per step).
    pub lw_down: VarSource,
    /// Precipitation (kg m-2 s-1, mm/h, or m/mm per step).
    pub precip: VarSource,
    /// Height of air temperature and humidity (m).
    #[serde(default = "default_z_temp")]
    pub z_temp: f64,
    /// Height of the wind (m).
    #[serde(default = "default_z_wind")]
    pub z_wind: f64,
}

fn default_z_temp() -> f64 {
    2.0
}
fn default_z_wind() -> f64 {
    10.0
}

impl CfForcingSpec {
    /// ERA5 single-level files, one variable per file named `<var>.nc` in
    /// `dir` (as the CryoGrid examples ship them): t2m, d2m, sp, u10, v10,
    /// ssrd, strd, tp; 2 m temperature and humidity, 10 m wind.
    ///
    /// The accumulated fields (ssrd, strd, tp) of ERA5 hourly data hold the
    /// amount of the hour ending at the stamp, also when only every 6th hour
    /// is downloaded; so they are divided by 3600 s, not by the step. (On the
    /// Terelj files, dividing by the 6-hour step would give a mean downward
    /// longwave of 38 W m-2 and 62 mm of precipitation a year; dividing by
    /// one hour gives 231 W m-2 and 374 mm, and the top-of-atmosphere `tisr`
    /// then averages 285 W m-2, the insolation at 48 N.)
    pub fn era5(dir: &Path) -> Self {
        let v = |n: &str| VarSource::new(n, dir.join(format!("{n}.nc")));
        let acc = |n: &str| v(n).with_accumulation(3600.0);
        Self {
            t_air: v("t2m"),
            p_air: v("sp"),
            q_air: None,
            rh: None,
            dewpoint: Some(v("d2m")),
            wind: None,
            wind_u: Some(v("u10")),
            wind_v: Some(v("v10")),
            sw_down: acc("ssrd"),
            lw_down: acc("strd"),
            precip: acc("tp"),
            z_temp: 2.0,
            z_wind: 10.0,
        }
    }

    /// CMFD-style files: the seven variables `temp`, `pres`, `shum`, `wind`,
    /// `srad`, `lrad`, `prec` in files `<var>*.nc` of `dir` (one or several
    /// per variable, e.g. split by year), 2 m temperature and humidity, 10 m wind.
    pub fn cmfd(dir: &Path) -> Result<Self> {
        let v = |n: &str| VarSource::matching(n, dir, &format!("{n}*.nc"));
        Ok(Self {
            t_air: v("temp")?,
            p_air: v("pres")?,
            q_air: Some(v("shum")?),
            rh: None,
            dewpoint: None,
            wind: Some(v("wind")?),
            wind_u: None,
            wind_v: None,
            sw_down: v("srad")?,
            lw_down: v("lrad")?,
            precip: v("prec")?,
            z_temp: 2.0,
            z_wind: 10.0,
        })
    }
}

impl CfForcingSpec {
    /// All variable sources, with their calimap names.
    pub fn sources(&self) -> Vec<(&'static str, &VarSource)> {
        let mut v: Vec<(&'static str, &VarSource)> =
            vec![("t_air", &self.t_air), ("p_air", &self.p_air)];
        for (n, s) in [
            ("q_air", &self.q_air),
            ("rh", &self.rh),
            ("dewpoint", &self.dewpoint),
            ("wind", &self.wind),
            ("wind_u", &self.wind_u),
            ("wind_v", &self.wind_v),
        ] {
            if let Some(s) = s {
                v.push((n, s));
            }
        }
        v.push(("sw_down", &self.sw_down));
        v.push(("lw_down", &self.lw_down));
        v.push(("precip", &self.precip));
        v
    }

    /// The spec with relative file paths joined to `base` (the experiment
    /// file's folder) and file names containing one `*` expanded to the
    /// matching files, sorted. Errors name the variable whose pattern matches
    /// nothing.
    pub fn resolve(&self, base: &Path) -> Result<CfForcingSpec> {
        let fix = |name: &str, src: &VarSource| -> Result<VarSource> {
            let mut files = Vec::new();
            for f in &src.files {
                let full = if f.is_absolute() {
                    f.clone()
                } else {
                    base.join(f)
                };
                let fname = full
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if fname.contains('*') {
                    let dir = full.parent().unwrap_or(base);
                    let found = files_matching(dir, &fname).map_err(|e| Error::Forcing {
                        source_name: full.display().to_string(),
                        variable: format!("{} ({name})", src.name),
                        message: e.to_string(),
                    })?;
                    files.extend(found);
                } else {
                    files.push(full);
                }
            }
            Ok(VarSource {
                files,
                ..src.clone()
            })
        };
        let opt = |name: &str, s: &Option<VarSource>| s.as_ref().map(|s| fix(name, s)).transpose();
        Ok(CfForcingSpec {
            t_air: fix("t_air", &self.t_air)?,
            p_air: fix("p_air", &self.p_air)?,
            q_air: opt("q_air", &self.q_air)?,
            rh: opt("rh", &self.rh)?,
            dewpoint: opt("dewpoint", &self.dewpoint)?,
            wind: opt("wind", &self.wind)?,
            wind_u: opt("wind_u", &self.wind_u)?,
            wind_v: opt("wind_v", &self.wind_v)?,
            sw_down: fix("sw_down", &self.sw_down)?,
            lw_down: fix("lw_down", &self.lw_down)?,
            precip: fix("precip", &self.precip)?,
            z_temp: self.z_temp,
            z_wind: self.z_wind,
        })
    }
}

/// The role of an input variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    TAir,
    PAir,
    QAir,
    Rh,
    Dewpoint,
    Wind,
    WindU,
    WindV,
    SwDown,
    LwDown,
    Precip,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::TAir => "t_air",
            Role::PAir => "p_air",
            Role::QAir => "q_air",
            Role::Rh => "rh",
            Role::Dewpoint => "dewpoint",
            Role::Wind => "wind",
            Role::WindU => "wind_u",
            Role::WindV => "wind_v",
            Role::SwDown => "sw_down",
            Role::LwDown => "lw_down",
            Role::Precip => "precip",
        }
    }
    fn quantity(self) -> Quantity {
        match self {
            Role::TAir => Quantity::AirTemperature,
            Role::PAir => Quantity::Pressure,
            Role::QAir => Quantity::SpecificHumidity,
            Role::Rh => Quantity::RelativeHumidity,
            Role::Dewpoint => Quantity::DewPoint,
            Role::Wind | Role::WindU | Role::WindV => Quantity::Wind,
            Role::SwDown | Role::LwDown => Quantity::Radiation,
            Role::Precip => Quantity::Precipitation,
        }
    }
}

/// One file's part of a variable.
#[derive(Clone, Debug)]
struct Segment {
    path: PathBuf,
    /// Index of the file's first step in the variable's own time axis.
    first: usize,
    /// Number of steps in the file.
    len: usize,
    scale: f64,
    offset: f64,
    fills: Vec<f64>,
    /// The variable has lat/lon dimensions (else it is `(time)` only).
    gridded: bool,
}

/// A resolved input variable.
#[derive(Clone, Debug)]
struct InputVar {
    role: Role,
    name: String,
    conv: Conversion,
    /// Divisor (s) of accumulated amounts: the accumulation window or the step.
    per: Option<f64>,
    segments: Vec<Segment>,
    /// Offset of the common period's first step in this variable's time axis.
    offset: usize,
}

impl InputVar {
    fn label(&self) -> String {
        format!("{} ({})", self.name, self.role.name())
    }
}

/// Forcing on a grid, opened for streaming: metadata only, until
/// [`read_tile`](GriddedForcing::read_tile) reads cells over a time window.
/// It holds no file handles and is `Send + Sync`, so runner threads can read
/// tiles concurrently (the netCDF library serialises the reads).
#[derive(Clone, Debug)]
pub struct GriddedForcing {
    grid: Grid,
    /// Latitudes in the files run south to north (row 0 of the grid is the last file row).
    lat_ascending: bool,
    start: NaiveDateTime,
    dt: f64,
    n_time: usize,
    vars: Vec<InputVar>,
    z_temp: f64,
    z_wind: f64,
    /// Largest number of f64 values one netCDF read may return.
    chunk_values: usize,
}

const LAT_NAMES: [&str; 4] = ["lat", "latitude", "y", "rlat"];
const LON_NAMES: [&str; 4] = ["lon", "longitude", "x", "rlon"];

/// Turn off HDF5's automatic error printing on the calling thread.
///
/// netCDF-C turns it off when it initialises HDF5, but thread-safe HDF5
/// builds keep that setting per thread, so on any other thread (rayon workers,
/// test threads) every probe for an optional attribute of a netCDF-4 file
/// prints an `HDF5-DIAG` trace to stderr although netCDF handles the outcome.
/// The HDF5 library is found at run time in the process (it is loaded with
/// libnetcdf); without it this does nothing. Errors still reach calimap
/// through netCDF's return codes.
pub(crate) fn quiet_hdf5_on_this_thread() {
    use std::cell::Cell;
    use std::ffi::{c_char, c_int, c_void};
    thread_local! {
        static DONE: Cell<bool> = const { Cell::new(false) };
    }
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    #[cfg(target_os = "macos")]
    let default_handle = -2isize as *mut c_void;
    #[cfg(not(target_os = "macos"))]
    let default_handle = std::ptr::null_mut::<c_void>();
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name has no
    // preconditions; a non-null result is the address of HDF5's
    // `herr_t H5Eset_auto2(hid_t, H5E_auto2_t, void *)` (hid_t is 64-bit since
    // HDF5 1.10), called with the default error stack (H5E_DEFAULT = 0) and no
    // handler, which only changes this thread's printing setting.
    unsafe {
        let f = dlsym(default_handle, c"H5Eset_auto2".as_ptr());
        if !f.is_null() {
            let set_auto: extern "C" fn(i64, *const c_void, *mut c_void) -> c_int =
                std::mem::transmute(f);
            set_auto(0, std::ptr::null(), std::ptr::null_mut());
        }
    }
}

fn nc_err(path: &Path, message: impl Into<String>) -> Error {
    Error::NetCdf {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn attr_f64(var: &netcdf::Variable<'_>, name: &str, path: &Path) -> Result<Option<f64>> {
    match var.attribute_value(name) {
        None => Ok(None),
        Some(Ok(v)) => {
            let x: f64 = v.try_into().map_err(|_| {
                nc_err(
                    path,
                    format!("attribute `{name}` of `{}` is not a number", var.name()),
                )
            })?;
            Ok(Some(x))
        }
        Some(Err(e)) => Err(nc_err(
            path,
            format!("attribute `{name}` of `{}`: {e}", var.name()),
        )),
    }
}

fn attr_string(var: &netcdf::Variable<'_>, name: &str, path: &Path) -> Result<Option<String>> {
    match var.attribute_value(name) {
        None => Ok(None),
        Some(Ok(netcdf::AttributeValue::Str(s))) => Ok(Some(s)),
        Some(Ok(_)) => Err(nc_err(
            path,
            format!("attribute `{name}` of `{}` is not text", var.name()),
        )),
        Some(Err(e)) => Err(nc_err(
            path,
            format!("attribute `{name}` of `{}`: {e}", var.name()),
        )),
    }
}

/// Parse CF time units `<unit> since <date>[ <time>][Z]` into the step of one
/// unit (milliseconds) and the reference time.
pub fn parse_cf_time_units(units: &str) -> Option<(f64, NaiveDateTime)> {
    let (u, rest) = units.trim().split_once(" since ")?;
    let ms = match u.trim().to_ascii_lowercase().as_str() {
        "seconds" | "second" | "secs" | "sec" | "s" => 1e3,
        "minutes" | "minute" | "mins" | "min" => 6e4,
        "hours" | "hour" | "hrs" | "hr" | "h" => 3.6e6,
        "days" | "day" | "d" => 8.64e7,
        _ => return None,
    };
    let mut r = rest.trim().replace('T', " ");
    for suffix in [" UTC", " utc", "Z", "+00:00", " +0000", " 00:00"] {
        if r.len() > 10 {
            if let Some(s) = r.strip_suffix(suffix) {
                r = s.trim().to_string();
            }
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&r, fmt) {
            return Some((ms, t));
        }
    }
    NaiveDate::parse_from_str(&r, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| (ms, t))
}

/// Metadata of one file of one variable.
struct FileMeta {
    path: PathBuf,
    /// Interval-start times (ms since the Unix epoch).
    times: Vec<i64>,
    lats: Vec<f64>,
    lons: Vec<f64>,
    gridded: bool,
    units: Option<String>,
    scale: f64,
    offset: f64,
    fills: Vec<f64>,
}

fn read_coord(file: &netcdf::File, dim: &str, path: &Path) -> Result<Vec<f64>> {
    let var = file.variable(dim).ok_or_else(|| {
        nc_err(
            path,
            format!("coordinate variable `{dim}` for dimension `{dim}` is missing"),
        )
    })?;
    var.get_values::<f64, _>(..)
        .map_err(|e| nc_err(path, format!("reading coordinate `{dim}`: {e}")))
}

fn file_meta(path: &Path, name: &str) -> Result<FileMeta> {
    quiet_hdf5_on_this_thread();
    let file = netcdf::open(path).map_err(|e| nc_err(path, format!("cannot open: {e}")))?;
    let var = file.variable(name).ok_or_else(|| {
        let names: Vec<String> = file.variables().map(|v| v.name()).collect();
        nc_err(
            path,
            format!(
                "variable `{name}` not found (the file has: {})",
                names.join(", ")
            ),
        )
    })?;
    let dims: Vec<String> = var.dimensions().iter().map(|d| d.name()).collect();
    let gridded = match dims.len() {
        1 => false,
        3 => {
            let lat_ok = LAT_NAMES.contains(&dims[1].to_ascii_lowercase().as_str());
            let lon_ok = LON_NAMES.contains(&dims[2].to_ascii_lowercase().as_str());
            if !(lat_ok && lon_ok) {
                return Err(nc_err(
                    path,
                    format!(
                        "variable `{name}` has dimensions ({}); expected (time, lat, lon)",
                        dims.join(", ")
                    ),
                ));
            }
            true
        }
        _ => {
            return Err(nc_err(
                path,
                format!(
                    "variable `{name}` has dimensions ({}); expected (time, lat, lon) or (time)",
                    dims.join(", ")
                ),
            ))
        }
    };
    // Time axis.
    let tname = &dims[0];
    let tvar = file.variable(tname).ok_or_else(|| {
        nc_err(
            path,
            format!("time coordinate variable `{tname}` is missing"),
        )
    })?;
    let tunits = attr_string(&tvar, "units", path)?
        .ok_or_else(|| nc_err(path, format!("attribute `units` of `{tname}` is missing")))?;
    if let Some(cal) = attr_string(&tvar, "calendar", path)? {
        let c = cal.to_ascii_lowercase();
        if !matches!(c.as_str(), "standard" | "gregorian" | "proleptic_gregorian") {
            return Err(Error::Unsupported(format!(
                "{}: calendar `{cal}` of `{tname}` is not supported (use standard/gregorian)",
                path.display()
            )));
        }
    }
    let (unit_ms, reference) = parse_cf_time_units(&tunits).ok_or_else(|| {
        nc_err(
            path,
            format!("`{tname}` units `{tunits}` are not CF time units (`hours since 1900-01-01 00:00:00`)"),
        )
    })?;
    let raw_t = tvar
        .get_values::<f64, _>(..)
        .map_err(|e| nc_err(path, format!("reading `{tname}`: {e}")))?;
    let ref_ms = reference.and_utc().timestamp_millis();
    let mut times = Vec::with_capacity(raw_t.len());
    for (i, t) in raw_t.iter().enumerate() {
        if !t.is_finite() {
            return Err(nc_err(path, format!("`{tname}`[{i}] is not finite")));
        }
        times.push(ref_ms + (t * unit_ms).round() as i64);
    }
    if times.is_empty() {
        return Err(nc_err(path, format!("time axis `{tname}` is empty")));
    }
    let (lats, lons) = if gridded {
        (
            read_coord(&file, &dims[1], path)?,
            read_coord(&file, &dims[2], path)?,
        )
    } else {
        // A point series: its position comes from scalar (or one-element)
        // `lat`/`latitude` and `lon`/`longitude` variables.
        let scalar = |names: &[&str]| -> Result<Vec<f64>> {
            for n in names {
                if let Some(v) = file.variable(n) {
                    if v.len() == 1 {
                        return v
                            .get_values::<f64, _>(..)
                            .map_err(|e| nc_err(path, format!("reading `{n}`: {e}")));
                    }
                }
            }
            Err(nc_err(
                path,
                format!(
                    "point variable `{name}` has no position: add a scalar `{}` variable",
                    names[0]
                ),
            ))
        };
        (
            scalar(&["lat", "latitude"])?,
            scalar(&["lon", "longitude"])?,
        )
    };
    let units = attr_string(&var, "units", path)?;
    let scale = attr_f64(&var, "scale_factor", path)?.unwrap_or(1.0);
    let offset = attr_f64(&var, "add_offset", path)?.unwrap_or(0.0);
    let mut fills = Vec::new();
    for a in ["_FillValue", "missing_value"] {
        if let Some(f) = attr_f64(&var, a, path)? {
            fills.push(f);
        }
    }
    Ok(FileMeta {
        path: path.to_path_buf(),
        times,
        lats,
        lons,
        gridded,
        units,
        scale,
        offset,
        fills,
    })
}

fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.naive_utc().format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

impl GriddedForcing {
    /// Open the forcing described by `spec`: read and check all metadata.
    pub fn open(spec: &CfForcingSpec) -> Result<Self> {
        let mut roles: Vec<(Role, &VarSource)> =
            vec![(Role::TAir, &spec.t_air), (Role::PAir, &spec.p_air)];
        let hum: Vec<(Role, &VarSource)> = [
            (Role::QAir, spec.q_air.as_ref()),
            (Role::Rh, spec.rh.as_ref()),
            (Role::Dewpoint, spec.dewpoint.as_ref()),
        ]
        .into_iter()
        .filter_map(|(r, v)| v.map(|v| (r, v)))
        .collect();
        if hum.len() != 1 {
            return Err(Error::Other(format!(
                "forcing: give exactly one humidity variable (q_air, rh or dewpoint); found {}",
                hum.len()
            )));
        }
        roles.extend(hum);
        match (&spec.wind, &spec.wind_u, &spec.wind_v) {
            (Some(w), None, None) => roles.push((Role::Wind, w)),
            (None, Some(u), Some(v)) => {
                roles.push((Role::WindU, u));
                roles.push((Role::WindV, v));
            }
            _ => {
                return Err(Error::Other(
                    "forcing: give either `wind` or both `wind_u` and `wind_v`".into(),
                ))
            }
        }
        roles.push((Role::SwDown, &spec.sw_down));
        roles.push((Role::LwDown, &spec.lw_down));
        roles.push((Role::Precip, &spec.precip));

        let mut grid: Option<(Grid, bool, String)> = None;
        let mut dt_ms: Option<(i64, String)> = None;
        // Per variable: (resolved, first interval start, number of steps).
        let mut resolved: Vec<(InputVar, i64, usize)> = Vec::new();
        for (role, src) in roles {
            if src.files.is_empty() {
                return Err(Error::Other(format!(
                    "forcing: variable `{}` ({}) has no files",
                    src.name,
                    role.name()
                )));
            }
            if let Some(a) = src.accumulation {
                if !(a.is_finite() && a > 0.0) {
                    return Err(Error::Other(format!(
                        "forcing: variable `{}` ({}): accumulation window {a} s must be positive",
                        src.name,
                        role.name()
                    )));
                }
            }
            let mut metas = src
                .files
                .iter()
                .map(|p| file_meta(p, &src.name))
                .collect::<Result<Vec<_>>>()?;
            metas.sort_by_key(|m| m.times[0]);
            // Unit and conversion, from the first file (all files must agree).
            let unit = match &src.units {
                Some(u) => u.clone(),
                None => metas[0].units.clone().ok_or_else(|| {
                    nc_err(
                        &metas[0].path,
                        format!(
                            "attribute `units` of `{}` is missing (give `units` for {} in the experiment)",
                            src.name,
                            role.name()
                        ),
                    )
                })?,
            };
            for m in &metas[1..] {
                if src.units.is_none() && m.units.as_deref() != Some(unit.as_str()) {
                    return Err(nc_err(
                        &m.path,
                        format!(
                            "`{}` has units {:?}, but {} has `{unit}`",
                            src.name,
                            m.units,
                            metas[0].path.display()
                        ),
                    ));
                }
            }
            let conv = parse_unit(role.quantity(), &unit).map_err(|msg| Error::Forcing {
                source_name: metas[0].path.display().to_string(),
                variable: src.name.clone(),
                message: msg,
            })?;
            if src.accumulation.is_some() && !conv.per_step {
                return Err(Error::Forcing {
                    source_name: metas[0].path.display().to_string(),
                    variable: src.name.clone(),
                    message: format!(
                        "`accumulation` is given, but unit `{unit}` is a rate or a state, not an amount"
                    ),
                });
            }
            let stamp = src.stamp.unwrap_or(if conv.per_step {
                Stamp::End
            } else {
                Stamp::Start
            });
            // Step length from the first file with two steps.
            let this_dt = metas
                .iter()
                .find(|m| m.times.len() > 1)
                .map(|m| m.times[1] - m.times[0])
                .ok_or_else(|| {
                    nc_err(
                        &metas[0].path,
                        format!("`{}` has a single time step", src.name),
                    )
                })?;
            if this_dt <= 0 {
                return Err(nc_err(
                    &metas[0].path,
                    format!("time axis of `{}` does not increase", src.name),
                ));
            }
            match &dt_ms {
                None => dt_ms = Some((this_dt, src.name.clone())),
                Some((d, other)) if *d != this_dt => {
                    return Err(nc_err(
                        &metas[0].path,
                        format!(
                            "`{}` has a time step of {} s but `{other}` has {} s",
                            src.name,
                            this_dt as f64 / 1000.0,
                            *d as f64 / 1000.0
                        ),
                    ))
                }
                _ => {}
            }
            // Regular time axis within and across files.
            let mut prev: Option<(i64, &Path)> = None;
            for m in &metas {
                for (i, &t) in m.times.iter().enumerate() {
                    if let Some((p, ppath)) = prev {
                        if t - p != this_dt {
                            let where_ = if i == 0 {
                                format!(
                                    "between the end of {} and the start of this file",
                                    ppath.display()
                                )
                            } else {
                                format!("at index {i}")
                            };
                            return Err(nc_err(
                                &m.path,
                                format!(
                                    "time axis of `{}` has a {} {where_}: {} follows {} (step {} s, expected {} s)",
                                    src.name,
                                    if t - p <= 0 { "duplicate or overlap" } else { "gap" },
                                    fmt_ms(t),
                                    fmt_ms(p),
                                    (t - p) as f64 / 1000.0,
                                    this_dt as f64 / 1000.0
                                ),
                            ));
                        }
                    }
                    prev = Some((t, &m.path));
                }
            }
            // Grid.
            for m in &metas {
                let (g, asc) = if m.gridded {
                    let g = Grid::from_centres(&m.lats, &m.lons, 0.1)
                        .map_err(|e| nc_err(&m.path, format!("variable `{}`: {e}", src.name)))?;
                    (g, m.lats.len() > 1 && m.lats[1] > m.lats[0])
                } else {
                    let g = Grid::from_centres(&m.lats, &m.lons, 0.1)
                        .map_err(|e| nc_err(&m.path, format!("variable `{}`: {e}", src.name)))?;
                    (g, false)
                };
                match &grid {
                    None => grid = Some((g, asc, format!("{} in {}", src.name, m.path.display()))),
                    Some((g0, asc0, what0)) => {
                        g0.check_same(&g, &format!("`{}` in {}", src.name, m.path.display()))
                            .map_err(|e| Error::Grid(format!("{e} (reference: `{what0}`)")))?;
                        if *asc0 != asc && g.ny > 1 {
                            return Err(Error::Unsupported(format!(
                                "{}: `{}` stores latitudes in the opposite order of `{what0}`",
                                m.path.display(),
                                src.name
                            )));
                        }
                    }
                }
            }
            let shift = if stamp == Stamp::End { this_dt } else { 0 };
            let first = metas[0].times[0] - shift;
            let mut segments = Vec::with_capacity(metas.len());
            let mut k = 0;
            for m in metas {
                segments.push(Segment {
                    first: k,
                    len: m.times.len(),
                    path: m.path,
                    scale: m.scale,
                    offset: m.offset,
                    fills: m.fills,
                    gridded: m.gridded,
                });
                k += m.times.len();
            }
            resolved.push((
                InputVar {
                    role,
                    name: src.name.clone(),
                    conv,
                    per: src.accumulation,
                    segments,
                    offset: 0,
                },
                first,
                k,
            ));
        }
        let (grid, lat_ascending, _) =
            grid.ok_or_else(|| Error::Other("forcing: no variables".into()))?;
        let (dt, _) = dt_ms.ok_or_else(|| Error::Other("forcing: no time step".into()))?;
        let start = resolved.iter().map(|(_, f, _)| *f).max().unwrap_or(0);
        let end = resolved
            .iter()
            .map(|(_, f, n)| f + (*n as i64 - 1) * dt)
            .min()
            .unwrap_or(0);
        if end < start {
            return Err(Error::Other(format!(
                "forcing: the variables have no common period (latest start {}, earliest end {})",
                fmt_ms(start),
                fmt_ms(end)
            )));
        }
        let mut vars = Vec::with_capacity(resolved.len());
        for (mut v, first, _) in resolved {
            if (start - first) % dt != 0 {
                return Err(nc_err(
                    &v.segments[0].path,
                    format!(
                        "time stamps of `{}` are not aligned with the other variables' steps",
                        v.name
                    ),
                ));
            }
            v.offset = ((start - first) / dt) as usize;
            vars.push(v);
        }
        let start_t = chrono::DateTime::from_timestamp_millis(start)
            .ok_or_else(|| Error::Other("forcing: start time out of range".into()))?
            .naive_utc();
        Ok(Self {
            grid,
            lat_ascending,
            start: start_t,
            dt: dt as f64 / 1000.0,
            n_time: ((end - start) / dt) as usize + 1,
            vars,
            z_temp: spec.z_temp,
            z_wind: spec.z_wind,
            chunk_values: 8 << 20,
        })
    }

    /// Every file read, once each, in a stable order (for manifests and checksums).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for v in &self.vars {
            for s in &v.segments {
                if !out.contains(&s.path) {
                    out.push(s.path.clone());
                }
            }
        }
        out
    }

    /// The grid of the forcing (north-up; see [`Grid`]).
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Start of the first step of the common period (UTC).
    pub fn start(&self) -> NaiveDateTime {
        self.start
    }

    /// Step length (s).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Number of steps in the common period.
    pub fn n_time(&self) -> usize {
        self.n_time
    }

    /// Start time of step `i`.
    pub fn time(&self, i: usize) -> NaiveDateTime {
        self.start + chrono::Duration::milliseconds((self.dt * 1000.0 * i as f64).round() as i64)
    }

    /// Index of the step starting at `t`, if it is one.
    pub fn time_index(&self, t: NaiveDateTime) -> Option<usize> {
        let ms = (t - self.start).num_milliseconds();
        let dt = (self.dt * 1000.0).round() as i64;
        (ms >= 0 && ms % dt == 0 && ((ms / dt) as usize) < self.n_time)
            .then_some((ms / dt) as usize)
    }

    /// Limit the size of one netCDF read to `values` f64 values (default 8 Mi
    /// = 64 MiB); smaller chunks lower peak memory, larger ones read faster.
    pub fn set_chunk_values(&mut self, values: usize) {
        self.chunk_values = values.max(1);
    }

    /// Bytes of output one tile of `n_cells` cells by `nt` steps takes in memory.
    pub fn tile_bytes(n_cells: usize, nt: usize) -> usize {
        n_cells * nt * std::mem::size_of::<ForcingStep>()
    }

    /// Largest number of cells per tile whose `nt` steps fit in `budget` bytes
    /// (at least 1).
    pub fn cells_per_tile(budget: usize, nt: usize) -> usize {
        (budget / (nt.max(1) * std::mem::size_of::<ForcingStep>())).max(1)
    }

    /// Split the cells for which `include(row, col)` holds into compact tiles
    /// whose `nt` steps each fit in `budget` bytes of output
    /// ([`tile_bytes`](Self::tile_bytes)). Tiles are rectangles of the grid,
    /// 16 rows high when they fit (the chunk height of files calimap writes,
    /// so a tile reads each chunk once), cut into column blocks otherwise;
    /// the order is row-major and the same on every machine, so tile `i` of
    /// `n` is a reproducible unit of work for a scheduler.
    pub fn plan_tiles(
        &self,
        budget: usize,
        nt: usize,
        include: impl Fn(usize, usize) -> bool,
    ) -> Vec<Vec<(usize, usize)>> {
        let max_cells = Self::cells_per_tile(budget, nt);
        let (nx, ny) = (self.grid.nx, self.grid.ny);
        let band = 16.min(ny).max(1);
        // Rows per tile and columns per tile.
        let (rows, cols) = if max_cells >= band * nx {
            (((max_cells / nx) / band).max(1) * band, nx)
        } else if max_cells >= band {
            (band, (max_cells / band).max(1))
        } else {
            (1, max_cells.max(1))
        };
        let mut tiles = Vec::new();
        for r0 in (0..ny).step_by(rows) {
            for c0 in (0..nx).step_by(cols) {
                let tile: Vec<(usize, usize)> = (r0..(r0 + rows).min(ny))
                    .flat_map(|r| (c0..(c0 + cols).min(nx)).map(move |c| (r, c)))
                    .filter(|&(r, c)| include(r, c))
                    .collect();
                if !tile.is_empty() {
                    tiles.push(tile);
                }
            }
        }
        tiles
    }

    /// Read steps `t0 .. t0 + nt` of the cells `(row, col)` (grid convention:
    /// row 0 north). Returns one series per cell, in the order given, in SI
    /// units and checked. Memory: the output plus one read chunk (bounding box
    /// of the cells times as many steps as fit in the chunk limit).
    pub fn read_tile(
        &self,
        cells: &[(usize, usize)],
        t0: usize,
        nt: usize,
    ) -> Result<Vec<Vec<ForcingStep>>> {
        if t0 + nt > self.n_time {
            return Err(Error::Other(format!(
                "forcing: steps {t0}..{} requested, but the period has {} steps",
                t0 + nt,
                self.n_time
            )));
        }
        if let Some(&(r, c)) = cells
            .iter()
            .find(|(r, c)| self.grid.index(*r, *c).is_none())
        {
            return Err(Error::Grid(format!(
                "cell ({r}, {c}) is outside the {} x {} forcing grid",
                self.grid.nx, self.grid.ny
            )));
        }
        let mut out = vec![vec![ForcingStep::default(); nt]; cells.len()];
        if cells.is_empty() || nt == 0 {
            return Ok(out);
        }
        let mut aux: Vec<Vec<f64>> = Vec::new();
        for var in &self.vars {
            let set: fn(&mut ForcingStep, f64) = match var.role {
                Role::TAir => |s, x| s.t_air = x,
                Role::PAir => |s, x| s.p_air = x,
                Role::QAir | Role::Rh | Role::Dewpoint => |s, x| s.q_air = x,
                Role::Wind | Role::WindU => |s, x| s.wind = x,
                Role::SwDown => |s, x| s.sw_down = x,
                Role::LwDown => |s, x| s.lw_down = x,
                Role::Precip => |s, x| s.precip = x,
                Role::WindV => |_, _| {},
            };
            if var.role == Role::WindV {
                aux = vec![vec![0.0; nt]; cells.len()];
                self.read_var(var, cells, t0, nt, |k, t, x| aux[k][t] = x)?;
            } else {
                self.read_var(var, cells, t0, nt, |k, t, x| set(&mut out[k][t], x))?;
            }
        }
        // Derived variables and checks.
        let hum = self
            .vars
            .iter()
            .find(|v| matches!(v.role, Role::QAir | Role::Rh | Role::Dewpoint))
            .map(|v| v.role)
            .unwrap_or(Role::QAir);
        for (k, series) in out.iter_mut().enumerate() {
            for (t, s) in series.iter_mut().enumerate() {
                match hum {
                    Role::Rh => {
                        if !(0.0..=110.0).contains(&s.q_air) {
                            return Err(self.step_error(
                                Role::Rh,
                                cells[k],
                                t0 + t,
                                format!("relative humidity {} % is outside 0..110", s.q_air),
                            ));
                        }
                        s.q_air = units::rh_to_q(s.q_air.min(100.0), s.t_air, s.p_air)
                    }
                    Role::Dewpoint => s.q_air = units::dewpoint_to_q(s.q_air, s.p_air),
                    _ => {}
                }
                if !aux.is_empty() {
                    s.wind = units::wind_speed(s.wind, aux[k][t]);
                }
                if let Err(v) = check_step(s) {
                    let role = match v.variable {
                        "t_air" => Role::TAir,
                        "p_air" => Role::PAir,
                        "q_air" => hum,
                        "wind" => {
                            if aux.is_empty() {
                                Role::Wind
                            } else {
                                Role::WindU
                            }
                        }
                        "sw_down" => Role::SwDown,
                        "lw_down" => Role::LwDown,
                        _ => Role::Precip,
                    };
                    return Err(self.step_error(role, cells[k], t0 + t, v.message));
                }
            }
        }
        Ok(out)
    }

    fn step_error(&self, role: Role, cell: (usize, usize), t: usize, msg: String) -> Error {
        let var = self
            .vars
            .iter()
            .find(|v| v.role == role)
            .unwrap_or(&self.vars[0]);
        let local = t + var.offset;
        let seg = var
            .segments
            .iter()
            .find(|s| local >= s.first && local < s.first + s.len)
            .unwrap_or(&var.segments[0]);
        let (lat, lon) = self.grid.centre(cell.0, cell.1);
        Error::Forcing {
            source_name: seg.path.display().to_string(),
            variable: var.label(),
            message: format!(
                "{msg} at {} (step {t}), cell ({}, {}) at {lat:.4} N {lon:.4} E",
                self.time(t),
                cell.0,
                cell.1
            ),
        }
    }

    /// Read one variable for the cells over steps `t0 .. t0 + nt` and hand
    /// each converted value to `put(cell_index, step, value)`.
    fn read_var(
        &self,
        var: &InputVar,
        cells: &[(usize, usize)],
        t0: usize,
        nt: usize,
        mut put: impl FnMut(usize, usize, f64),
    ) -> Result<()> {
        let ny = self.grid.ny;
        let file_row = |r: usize| if self.lat_ascending { ny - 1 - r } else { r };
        let rows: Vec<usize> = cells.iter().map(|c| file_row(c.0)).collect();
        let (r0, r1) = (
            *rows.iter().min().unwrap_or(&0),
            *rows.iter().max().unwrap_or(&0),
        );
        let c0 = cells.iter().map(|c| c.1).min().unwrap_or(0);
        let c1 = cells.iter().map(|c| c.1).max().unwrap_or(0);
        let (h, w) = (r1 - r0 + 1, c1 - c0 + 1);
        let chunk_t = (self.chunk_values / (h * w)).max(1);
        let dt = var.per.unwrap_or(self.dt);
        // Global steps of the variable's own axis.
        let g0 = t0 + var.offset;
        let g1 = g0 + nt;
        for seg in &var.segments {
            let s0 = g0.max(seg.first);
            let s1 = g1.min(seg.first + seg.len);
            if s0 >= s1 {
                continue;
            }
            quiet_hdf5_on_this_thread();
            let file = netcdf::open(&seg.path)
                .map_err(|e| nc_err(&seg.path, format!("cannot open: {e}")))?;
            let v = file
                .variable(&var.name)
                .ok_or_else(|| nc_err(&seg.path, format!("variable `{}` disappeared", var.name)))?;
            let quantum = seg.scale.abs();
            let mut a = s0;
            while a < s1 {
                let b = (a + chunk_t).min(s1);
                let la = a - seg.first;
                let n = b - a;
                let values = if seg.gridded {
                    v.get_values::<f64, _>((&[la, r0, c0][..], &[n, h, w][..]))
                } else {
                    v.get_values::<f64, _>((&[la][..], &[n][..]))
                }
                .map_err(|e| {
                    nc_err(
                        &seg.path,
                        format!("reading `{}` steps {la}..{}: {e}", var.name, la + n),
                    )
                })?;
                for (k, (&(row, col), &fr)) in cells.iter().zip(&rows).enumerate() {
                    for i in 0..n {
                        let idx = if seg.gridded {
                            (i * h + (fr - r0)) * w + (col - c0)
                        } else {
                            i
                        };
                        let raw = values[idx];
                        let step = a + i - var.offset;
                        if seg
                            .fills
                            .iter()
                            .any(|f| *f == raw || (f.is_nan() && raw.is_nan()))
                        {
                            return Err(self.value_error(
                                var,
                                seg,
                                (row, col),
                                step,
                                format!("fill value {raw} (missing data)"),
                            ));
                        }
                        if !raw.is_finite() {
                            return Err(self.value_error(
                                var,
                                seg,
                                (row, col),
                                step,
                                format!("value {raw} is not finite"),
                            ));
                        }
                        let mut x = raw * seg.scale + seg.offset;
                        if var.conv.per_step && x < 0.0 && x >= -quantum {
                            x = 0.0;
                        }
                        put(k, step - t0, var.conv.apply(x, dt));
                    }
                }
                a = b;
            }
        }
        Ok(())
    }

    fn value_error(
        &self,
        var: &InputVar,
        seg: &Segment,
        cell: (usize, usize),
        step: usize,
        msg: String,
    ) -> Error {
        let (lat, lon) = self.grid.centre(cell.0, cell.1);
        Error::Forcing {
            source_name: seg.path.display().to_string(),
            variable: var.label(),
            message: format!(
                "{msg} at {} (file index {}), cell ({}, {}) at {lat:.4} N {lon:.4} E",
                self.time(step),
                step + var.offset - seg.first,
                cell.0,
                cell.1
            ),
        }
    }

    /// The whole common period of one cell as a [`PointForcing`].
    pub fn read_point(&self, row: usize, col: usize) -> Result<PointForcing> {
        self.read_point_window(row, col, 0, self.n_time)
    }

    /// Steps `t0 .. t0 + nt` of one cell as a [`PointForcing`].
    pub fn read_point_window(
        &self,
        row: usize,
        col: usize,
        t0: usize,
        nt: usize,
    ) -> Result<PointForcing> {
        let mut tile = self.read_tile(&[(row, col)], t0, nt)?;
        let (lat, lon) = self.grid.centre(row, col);
        Ok(PointForcing {
            source: format!(
                "{} cell ({row}, {col})",
                self.vars[0].segments[0].path.display()
            ),
            start: self.time(t0),
            dt: self.dt,
            steps: tile.pop().unwrap_or_default(),
            lat,
            lon,
            z_temp: self.z_temp,
            z_wind: self.z_wind,
        })
    }
}

/// Read point forcing from CF-netCDF files (a single-cell grid, or `(time)`
/// variables); errors when the files hold more than one cell.
pub fn read_cf_point(spec: &CfForcingSpec) -> Result<PointForcing> {
    let g = GriddedForcing::open(spec)?;
    if g.grid().n_cells() != 1 {
        return Err(Error::Grid(format!(
            "point forcing expected, but the files hold a {} x {} grid; use GriddedForcing",
            g.grid().nx,
            g.grid().ny
        )));
    }
    g.read_point(0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cf_time_units() {
        let (ms, t) = parse_cf_time_units("hours since 1900-01-01 00:00:00.0").unwrap();
        assert_eq!(ms, 3.6e6);
        assert_eq!(
            t,
            NaiveDate::from_ymd_opt(1900, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        );
        let (ms, t) = parse_cf_time_units("days since 1979-01-01").unwrap();
        assert_eq!(ms, 8.64e7);
        assert_eq!(t.format("%Y-%m-%d").to_string(), "1979-01-01");
        let (_, t) = parse_cf_time_units("seconds since 2000-01-01T06:00:00Z").unwrap();
        assert_eq!(t.format("%H").to_string(), "06");
        assert!(parse_cf_time_units("fortnights since 2000-01-01").is_none());
        assert!(parse_cf_time_units("hours").is_none());
    }
}

// Runner threads share one opened forcing.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<GriddedForcing>();
};
