//! A synthetic plateau climate on a grid: the demo domain and large domains
//! for streaming benchmarks, written as CMFD-style CF-1.8 netCDF.
//!
//! The China Meteorological Forcing Dataset (CMFD; He et al. 2020, Sci. Data
//! 7:25) ships seven 3-hourly 0.1 degree variables, one file per variable and
//! month; calimap writes the same names, one file per variable and year:
//!
//! | file/variable | quantity | unit written |
//! |---|---|---|
//! | `temp` | 2 m air temperature | K |
//! | `pres` | surface pressure | Pa |
//! | `shum` | 2 m specific humidity | kg kg-1 |
//! | `wind` | 10 m wind speed | m s-1 |
//! | `srad` | downward shortwave, step mean | W m-2 |
//! | `lrad` | downward longwave, step mean | W m-2 |
//! | `prec` | precipitation rate, step mean | kg m-2 s-1 (CMFD itself uses mm hr-1; the reader takes either from `units`) |
//!
//! Every value is stamped at the start of its step. The climate:
//!
//! * mean annual air temperature `2 C - 6.5 K/km (z - 4000 m)`, so that an
//!   elevation range of 4000-5300 m spans about +2 to -6.5 C and the domain
//!   crosses the permafrost boundary; a seasonal cycle of 10 K amplitude
//!   (coldest mid-January) and a diurnal cycle of up to 6 K (warmest at 14 h
//!   local solar time, damped by cloud);
//! * weather: domain-wide first-order autoregressive anomalies (air
//!   temperature 3 K with a 3-day memory, cloudiness with a 2-day memory,
//!   wind, pressure) plus per-cell noise;
//! * pressure `101325 Pa exp(-z / 8400 m)` (about 548 hPa at 5100 m, as at
//!   Tanggula); shortwave from the solar geometry (declination and hour angle,
//!   averaged over sub-steps of at most one hour), an elevation-dependent clear
//!   sky transmissivity and cloud attenuation; relative humidity with a summer
//!   monsoon, converted with [`units::rh_to_q`]; longwave from the Brutsaert
//!   (1975) clear-sky emissivity `1.24 (e/T)^(1/7)` (e in hPa) raised toward 1
//!   by cloud; precipitation in spatially coherent events, most in the
//!   monsoon (about 400 mm a year), more at higher elevation.
//!
//! Everything follows from the seed: one generator is drawn in a fixed order
//! (per step: the domain-wide draws, then the cells row by row), so the
//! output does not depend on block sizes or thread count.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1, StandardNormal};

use super::cf_write::{write_cf_rasters, CfGridWriter, CfVar};
use super::units;
use crate::domain::grid::{Grid, EPSG_WGS84};
use crate::{Error, Result};

/// The seven CMFD variable names, in the order of [`ForcingStep`](super::ForcingStep) fields.
pub const CMFD_NAMES: [&str; 7] = ["temp", "shum", "pres", "wind", "srad", "lrad", "prec"];

/// Surface land cover of a cell in the mask raster.
pub const MASK_LAND: u8 = 0;
/// Lake cell (nodata in frozen-ground maps).
pub const MASK_LAKE: u8 = 1;
/// Glacier cell (nodata in frozen-ground maps).
pub const MASK_GLACIER: u8 = 2;

/// Shape, period and seed of a synthetic domain.
#[derive(Clone, Debug)]
pub struct SyntheticSpec {
    /// The grid.
    pub grid: Grid,
    /// First year (starts 1 January 00:00 UTC).
    pub start_year: i32,
    /// Number of years; one file per variable and year.
    pub years: u32,
    /// Step length (s); must divide a day.
    pub dt: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Deflate the forcing files (smaller, slower to write and read).
    pub compress: bool,
}

impl SyntheticSpec {
    /// The demo domain: `nx` x `ny` cells of 0.1 degree with the north-west
    /// corner at 36 N, 90 E (the central Qinghai-Tibet Plateau), from 2000.
    pub fn demo(nx: usize, ny: usize, years: u32, dt: f64, seed: u64) -> Result<Self> {
        Ok(Self {
            grid: Grid::new(nx, ny, 90.0, 36.0, 0.1, 0.1, EPSG_WGS84)?,
            start_year: 2000,
            years,
            dt,
            seed,
            compress: false,
        })
    }
}

/// Static maps of a synthetic domain, in grid order (row 0 north).
#[derive(Clone, Debug, PartialEq)]
pub struct StaticMaps {
    /// The grid.
    pub grid: Grid,
    /// Surface elevation (m above sea level).
    pub elevation: Vec<f64>,
    /// Soil class (Noah SOILPARM.TBL STAS index: 7 loam, 9 sandy loam, 11
    /// loamy sand, 13 gravel, 16 lake, 15 glacier).
    pub soil: Vec<u8>,
    /// Vegetation class (USGS VEGPARM.TBL index: 7 grassland, 8 shrubland,
    /// 19 barren or sparsely vegetated, 16 water bodies, 24 snow or ice).
    pub vegetation: Vec<u8>,
    /// Mask: [`MASK_LAND`], [`MASK_LAKE`] or [`MASK_GLACIER`].
    pub mask: Vec<u8>,
}

/// Mean annual air temperature (degC) of the synthetic climate at elevation `z` (m).
pub fn synthetic_maat(z: f64) -> f64 {
    2.0 - 0.0065 * (z - 4000.0)
}

/// Elevation, soil, vegetation and mask maps of a synthetic domain: a smooth
/// terrain between 4000 and 5300 m (a ridge in the north-west, a basin with a
/// lake in the south-east, seeded random relief), glaciers on the highest
/// 2 % of cells, a lake in the lowest 2 %.
pub fn static_maps(grid: &Grid, seed: u64) -> StaticMaps {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_0001);
    let waves: Vec<(f64, f64, f64, f64)> = (0..6)
        .map(|k| {
            let kx = rng.random_range(1.0..4.0);
            let ky = rng.random_range(1.0..4.0);
            let ph = rng.random_range(0.0..2.0 * PI);
            (kx, ky, ph, 0.12 / (1.0 + k as f64 * 0.4))
        })
        .collect();
    let (nx, ny) = (grid.nx, grid.ny);
    let mut raw = vec![0.0; grid.n_cells()];
    for r in 0..ny {
        for c in 0..nx {
            let x = (c as f64 + 0.5) / nx as f64;
            let y = (r as f64 + 0.5) / ny as f64;
            let ridge = (-((x - 0.25).powi(2) + (y - 0.2).powi(2)) / 0.08).exp();
            let basin = (-((x - 0.8).powi(2) + (y - 0.8).powi(2)) / 0.03).exp();
            let relief: f64 = waves
                .iter()
                .map(|(kx, ky, ph, a)| a * (2.0 * PI * (kx * x + ky * y) + ph).sin())
                .sum();
            raw[r * nx + c] = 0.6 * (1.0 - y) + 0.8 * ridge - 0.6 * basin + relief;
        }
    }
    let lo = raw.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = raw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let elevation: Vec<f64> = raw
        .iter()
        .map(|v| 4000.0 + 1300.0 * (v - lo) / span)
        .collect();
    let mut sorted = elevation.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len();
    let q = |f: f64| sorted[((f * n as f64) as usize).min(n - 1)];
    let (lake_z, glacier_z) = if n >= 50 {
        (q(0.02), q(0.98))
    } else {
        (f64::NEG_INFINITY, f64::INFINITY)
    };
    let mut soil = Vec::with_capacity(n);
    let mut vegetation = Vec::with_capacity(n);
    let mut mask = Vec::with_capacity(n);
    for &z in &elevation {
        let u: f64 = rng.random();
        let (m, s, v) = if z <= lake_z {
            (MASK_LAKE, 16, 16)
        } else if z >= glacier_z {
            (MASK_GLACIER, 15, 24)
        } else if z > 5000.0 {
            (MASK_LAND, if u < 0.6 { 13 } else { 11 }, 19)
        } else if z > 4600.0 {
            (
                MASK_LAND,
                if u < 0.5 { 9 } else { 11 },
                if u < 0.3 { 19 } else { 7 },
            )
        } else {
            (
                MASK_LAND,
                if u < 0.6 { 7 } else { 9 },
                if u < 0.2 { 8 } else { 7 },
            )
        };
        mask.push(m);
        soil.push(s);
        vegetation.push(v);
    }
    StaticMaps {
        grid: grid.clone(),
        elevation,
        soil,
        vegetation,
        mask,
    }
}

/// State of the synthetic weather generator.
struct Weather {
    rng: rand::rngs::StdRng,
    t_anom: f64,
    cloud_x: f64,
    wind_anom: f64,
    p_anom: f64,
}

fn ar1(x: f64, dt: f64, tau: f64, sigma: f64, eps: f64) -> f64 {
    let phi = (-dt / tau).exp();
    phi * x + sigma * (1.0 - phi * phi).sqrt() * eps
}

/// Monsoon weight in 0..1 by day of year (peak late July).
fn monsoon(doy: f64) -> f64 {
    (-((doy - 205.0) / 45.0).powi(2)).exp()
}

/// Fill one step of the seven fields (order of [`CMFD_NAMES`]) for every cell.
fn step_fields(
    w: &mut Weather,
    maps: &StaticMaps,
    t: NaiveDateTime,
    dt: f64,
    out: &mut [Vec<f32>; 7],
    offset: usize,
) {
    let g = &maps.grid;
    let doy = t.ordinal0() as f64 + (t.num_seconds_from_midnight() as f64 + 0.5 * dt) / 86400.0;
    // Domain-wide draws, always the same number per step.
    let e_t: f64 = StandardNormal.sample(&mut w.rng);
    let e_c: f64 = StandardNormal.sample(&mut w.rng);
    let e_w: f64 = StandardNormal.sample(&mut w.rng);
    let e_p: f64 = StandardNormal.sample(&mut w.rng);
    let u_wet: f64 = w.rng.random();
    let amount: f64 = Exp1.sample(&mut w.rng);
    w.t_anom = ar1(w.t_anom, dt, 3.0 * 86400.0, 3.0, e_t);
    w.cloud_x = ar1(w.cloud_x, dt, 2.0 * 86400.0, 1.2, e_c);
    w.wind_anom = ar1(w.wind_anom, dt, 2.0 * 86400.0, 1.2, e_w);
    w.p_anom = ar1(w.p_anom, dt, 4.0 * 86400.0, 250.0, e_p);
    let m = monsoon(doy);
    let cloud = 1.0 / (1.0 + (-(w.cloud_x - 0.6 + 1.8 * m)).exp());
    let season = -10.0 * (2.0 * PI * (doy - 15.0) / 365.25).cos();
    let decl = 0.409 * (2.0 * PI * (doy - 81.0) / 365.25).sin();
    let s0 = 1361.0 * (1.0 + 0.033 * (2.0 * PI * doy / 365.25).cos());
    // Sub-steps for the diurnal cycle and the solar geometry.
    let n_sub = ((dt / 3600.0).round() as usize).clamp(1, 24);
    let sub_hours: Vec<f64> = (0..n_sub)
        .map(|k| {
            t.num_seconds_from_midnight() as f64 / 3600.0
                + (k as f64 + 0.5) * dt / 3600.0 / n_sub as f64
        })
        .collect();
    let p_wet_3h = (0.03 + 0.3 * m + 0.25 * (cloud - 0.5)).clamp(0.0, 1.0);
    let p_wet_base = (p_wet_3h * dt / 10800.0).min(1.0);
    let wet_amount_mm = 1.5 * amount * (p_wet_3h * dt / 10800.0) / p_wet_base.max(1e-12);
    let diurnal_amp = 6.0 * (1.0 - 0.5 * cloud);
    for r in 0..g.ny {
        let lat = g.lat(r).to_radians();
        let (sl, cl) = (lat.sin() * decl.sin(), lat.cos() * decl.cos());
        for c in 0..g.nx {
            let i = r * g.nx + c;
            let z = maps.elevation[i];
            let e_cell: f64 = StandardNormal.sample(&mut w.rng);
            let e_pr: f64 = StandardNormal.sample(&mut w.rng);
            let e_wind: f64 = StandardNormal.sample(&mut w.rng);
            let lon = g.lon(c);
            let mut diurnal = 0.0;
            let mut cosz_sum = 0.0;
            for h in &sub_hours {
                let solar = h + lon / 15.0;
                diurnal += (2.0 * PI * (solar - 14.0) / 24.0).cos();
                let ha = 2.0 * PI * (solar - 12.0) / 24.0;
                cosz_sum += (sl + cl * ha.cos()).max(0.0);
            }
            diurnal /= n_sub as f64;
            let cosz = cosz_sum / n_sub as f64;
            let t_c = synthetic_maat(z) + season + diurnal_amp * diurnal + w.t_anom + 0.5 * e_cell;
            let t_k = units::celsius_to_kelvin(t_c);
            let p = 101325.0 * (-z / 8400.0).exp() + w.p_anom;
            let rh = (30.0 + 40.0 * m + 30.0 * cloud).clamp(5.0, 100.0);
            let q = units::rh_to_q(rh, t_k, p);
            let e_hpa = units::q_to_vapour_pressure(q, p) / 100.0;
            let eps_clear = 1.24 * (e_hpa / t_k).powf(1.0 / 7.0);
            let eps = eps_clear + (0.98 - eps_clear) * cloud.powi(2);
            let lw = eps * 5.670_374e-8 * t_k.powi(4);
            let tau = 0.72 + 2.0e-5 * (z - 4000.0);
            let sw = s0 * cosz * tau * (1.0 - 0.65 * cloud);
            let wind = (3.5
                + 1.5 * (2.0 * PI * (doy - 75.0) / 365.25).cos()
                + 0.001 * (z - 4500.0)
                + w.wind_anom
                + 0.5 * e_wind)
                .abs()
                .max(0.2);
            let oro = (1.0 + 0.0004 * (z - 4500.0)).max(0.3);
            let p_wet = (p_wet_base * oro).min(1.0);
            let prec_mm = if u_wet < p_wet {
                wet_amount_mm * (0.3 * e_pr - 0.045).exp()
            } else {
                0.0
            };
            let vals = [
                t_k,
                q,
                p,
                wind,
                sw.max(0.0),
                lw,
                units::mm_per_step_to_rate(prec_mm, dt),
            ];
            for (k, v) in vals.iter().enumerate() {
                out[k][offset + i] = *v as f32;
            }
        }
    }
}

fn cmfd_vars() -> Vec<CfVar> {
    let v = |name: &str, units: &str, long: &str, std: &str, cm: Option<&str>| CfVar {
        name: name.into(),
        units: units.into(),
        long_name: long.into(),
        standard_name: Some(std.into()),
        cell_methods: cm.map(String::from),
    };
    vec![
        v(
            "temp",
            "K",
            "near-surface air temperature",
            "air_temperature",
            Some("time: point"),
        ),
        v(
            "shum",
            "kg kg-1",
            "near-surface specific humidity",
            "specific_humidity",
            Some("time: point"),
        ),
        v(
            "pres",
            "Pa",
            "surface air pressure",
            "surface_air_pressure",
            Some("time: point"),
        ),
        v(
            "wind",
            "m s-1",
            "near-surface wind speed",
            "wind_speed",
            Some("time: point"),
        ),
        v(
            "srad",
            "W m-2",
            "surface downward shortwave radiation",
            "surface_downwelling_shortwave_flux_in_air",
            Some("time: mean"),
        ),
        v(
            "lrad",
            "W m-2",
            "surface downward longwave radiation",
            "surface_downwelling_longwave_flux_in_air",
            Some("time: mean"),
        ),
        v(
            "prec",
            "kg m-2 s-1",
            "precipitation rate",
            "precipitation_flux",
            Some("time: mean"),
        ),
    ]
}

/// Write the synthetic forcing of `spec` into `dir` as `<var>_<year>.nc`
/// (the CMFD names), streaming: at most `block` steps of all cells are held
/// in memory at once. Returns the files written.
pub fn write_synthetic_forcing(
    dir: &Path,
    spec: &SyntheticSpec,
    maps: &StaticMaps,
) -> Result<Vec<PathBuf>> {
    let dt = spec.dt;
    if !(dt >= 60.0 && 86400.0 % dt == 0.0) {
        return Err(Error::Other(format!(
            "synthetic forcing: step {dt} s must be at least 60 s and divide a day"
        )));
    }
    if spec.years == 0 {
        return Err(Error::Other("synthetic forcing: zero years".into()));
    }
    spec.grid.check_same(&maps.grid, "the static maps")?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut weather = Weather {
        rng: rand::rngs::StdRng::seed_from_u64(spec.seed),
        t_anom: 0.0,
        cloud_x: 0.0,
        wind_anom: 0.0,
        p_anom: 0.0,
    };
    let n_cells = spec.grid.n_cells();
    let steps_per_day = (86400.0 / dt) as usize;
    // Time chunk of the files, and the block held in memory: about 32 days.
    let chunk_t = steps_per_day * 32;
    let block = chunk_t;
    let vars = cmfd_vars();
    let mut written = Vec::new();
    for y in 0..spec.years as i32 {
        let year = spec.start_year + y;
        let first = NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(|| Error::Other(format!("synthetic forcing: bad year {year}")))?;
        let days = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
            366
        } else {
            365
        };
        let nt = days * steps_per_day;
        let times: Vec<NaiveDateTime> = (0..nt)
            .map(|i| first + chrono::Duration::milliseconds((i as f64 * dt * 1000.0) as i64))
            .collect();
        let mut writers = Vec::with_capacity(7);
        for v in &vars {
            let path = dir.join(format!("{}_{year}.nc", v.name));
            writers.push(CfGridWriter::create(
                &path,
                &spec.grid,
                &times,
                std::slice::from_ref(v),
                "calimap synthetic plateau forcing",
                chunk_t,
                spec.compress,
            )?);
        }
        let mut t0 = 0;
        let mut buf: [Vec<f32>; 7] = std::array::from_fn(|_| vec![0f32; block * n_cells]);
        while t0 < nt {
            let n = block.min(nt - t0);
            for k in 0..n {
                step_fields(&mut weather, maps, times[t0 + k], dt, &mut buf, k * n_cells);
            }
            for (w, data) in writers.iter_mut().zip(&buf) {
                w.put_block(0, n, &data[..n * n_cells])?;
                w.advance(n);
            }
            t0 += n;
        }
        for w in writers {
            written.push(w.finish()?);
        }
    }
    Ok(written)
}

/// Write the static maps as one CF-netCDF file (`elevation`, `soil`,
/// `vegetation`, `mask`).
pub fn write_static_maps(path: &Path, maps: &StaticMaps) -> Result<()> {
    let to_f = |v: &[u8]| v.iter().map(|x| *x as f64).collect::<Vec<f64>>();
    let soil = to_f(&maps.soil);
    let veg = to_f(&maps.vegetation);
    let mask = to_f(&maps.mask);
    let var = |name: &str, units: &str, long: &str, std: Option<&str>| CfVar {
        name: name.into(),
        units: units.into(),
        long_name: long.into(),
        standard_name: std.map(String::from),
        cell_methods: None,
    };
    write_cf_rasters(
        path,
        &maps.grid,
        &[
            (
                var(
                    "elevation",
                    "m",
                    "surface elevation above sea level",
                    Some("surface_altitude"),
                ),
                &maps.elevation,
            ),
            (
                var(
                    "soil",
                    "1",
                    "soil class (Noah SOILPARM.TBL STAS index)",
                    None,
                ),
                &soil,
            ),
            (
                var(
                    "vegetation",
                    "1",
                    "vegetation class (USGS VEGPARM.TBL index)",
                    None,
                ),
                &veg,
            ),
            (
                var("mask", "1", "surface mask: 0 land, 1 lake, 2 glacier", None),
                &mask,
            ),
        ],
        "calimap synthetic domain: static maps",
    )
}

/// Read static maps written by [`write_static_maps`].
pub fn read_static_maps(path: &Path) -> Result<StaticMaps> {
    use super::cf_write::read_cf_raster;
    let (grid, elevation) = read_cf_raster(path, "elevation")?;
    let class = |name: &str| -> Result<Vec<u8>> {
        let (g, v) = read_cf_raster(path, name)?;
        grid.check_same(&g, &format!("{} variable `{name}`", path.display()))?;
        v.iter()
            .enumerate()
            .map(|(i, x)| {
                if x.is_finite() && *x >= 0.0 && *x <= 255.0 && x.fract() == 0.0 {
                    Ok(*x as u8)
                } else {
                    let (r, c) = grid.cell(i).unwrap_or((0, 0));
                    Err(Error::Forcing {
                        source_name: path.display().to_string(),
                        variable: name.into(),
                        message: format!("cell ({r}, {c}) has {x}, not a class index"),
                    })
                }
            })
            .collect()
    };
    Ok(StaticMaps {
        soil: class("soil")?,
        vegetation: class("vegetation")?,
        mask: class("mask")?,
        elevation,
        grid,
    })
}

/// What [`write_synthetic_domain`] wrote.
#[derive(Clone, Debug)]
pub struct SyntheticDomain {
    /// The static maps.
    pub maps: StaticMaps,
    /// `static.nc`.
    pub static_file: PathBuf,
    /// The folder of the forcing files.
    pub forcing_dir: PathBuf,
    /// The forcing files.
    pub forcing_files: Vec<PathBuf>,
}

/// Write a whole synthetic domain into `out`: `static.nc` and
/// `forcing/<var>_<year>.nc`. Used for the demo (`calimap demo`) and, with a
/// large grid, for streaming benchmarks: memory stays at one block of about
/// 32 days of all cells (7 x 4 bytes x cells x steps), whatever the period.
pub fn write_synthetic_domain(out: &Path, spec: &SyntheticSpec) -> Result<SyntheticDomain> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let maps = static_maps(&spec.grid, spec.seed);
    let static_file = out.join("static.nc");
    write_static_maps(&static_file, &maps)?;
    let forcing_dir = out.join("forcing");
    let forcing_files = write_synthetic_forcing(&forcing_dir, spec, &maps)?;
    Ok(SyntheticDomain {
        maps,
        static_file,
        forcing_dir,
        forcing_files,
    })
}

/// The forcing mapping of a synthetic (or CMFD) domain in `dir`.
pub fn synthetic_forcing_spec(forcing_dir: &Path) -> Result<super::CfForcingSpec> {
    super::CfForcingSpec::cmfd(forcing_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terrain_spans_the_permafrost_boundary() {
        let g = Grid::new(40, 30, 90.0, 36.0, 0.1, 0.1, EPSG_WGS84).unwrap();
        let m = static_maps(&g, 1);
        let lo = m.elevation.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = m
            .elevation
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        assert!((lo - 4000.0).abs() < 1e-9 && (hi - 5300.0).abs() < 1e-9);
        assert!((synthetic_maat(lo) - 2.0).abs() < 1e-12);
        assert!((synthetic_maat(hi) + 6.45).abs() < 1e-12);
        assert!(m.mask.contains(&MASK_LAKE) && m.mask.contains(&MASK_GLACIER));
        assert_eq!(m, static_maps(&g, 1));
        assert_ne!(m.elevation, static_maps(&g, 2).elevation);
    }
}
