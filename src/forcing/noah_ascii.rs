//! Reader for the Noah LSM ASCII point-forcing format (Noah 3.x "simple
//! driver", also read by NoahPy).
//!
//! A file holds a Fortran namelist `&METADATA_NAMELIST ... /` with the site,
//! the time step, the soil column and its initial state, then free text (column
//! titles), then a line starting with `<Forcing>` (any case) followed by one row
//! per time step:
//!
//! ```text
//! yyyy mm dd hh mi  wind[m/s] dir[deg] T[K] RH[%] P[hPa] SW[W/m2] LW[W/m2] precip[kg/m2/s] [more columns ignored]
//! ```
//!
//! Rows before `startdate` are skipped, rows after `enddate` are ignored; the
//! rows in between must follow each other at exactly `Forcing_Timestep`
//! seconds and reach `enddate`. Relative humidity becomes specific humidity
//! with the Noah driver's own formula ([`units::rh_to_q_noah`]) and pressure
//! becomes Pa, so a run sees exactly what Noah sees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};

use super::units;
use super::validate::check_step;
use super::{ForcingStep, PointForcing};
use crate::{Error, Result};

/// Every value of the `METADATA_NAMELIST`, typed. Optional entries that Noah
/// gives a default have it here (documented per field); entries without a
/// universal default are `Option`.
#[derive(Clone, Debug, PartialEq)]
pub struct NoahHeader {
    /// `startdate`: first time to simulate (UTC).
    pub startdate: NaiveDateTime,
    /// `enddate`: last time to simulate (UTC), inclusive; `None` reads to the end of the file.
    pub enddate: Option<NaiveDateTime>,
    /// `loop_for_a_while`: number of times Noah's driver loops over the period (default 0).
    pub loop_for_a_while: i64,
    /// `output_dir` (default empty).
    pub output_dir: String,
    /// `Latitude` (degrees north).
    pub latitude: f64,
    /// `Longitude` (degrees east).
    pub longitude: f64,
    /// `Forcing_Timestep`: spacing of the forcing rows (s).
    pub forcing_timestep: f64,
    /// `Noahlsm_Timestep`: model time step (s); defaults to `Forcing_Timestep`.
    pub noahlsm_timestep: f64,
    /// `Sea_ice_point` (default false).
    pub sea_ice_point: bool,
    /// `Soil_layer_thickness`: layer thicknesses from the top (m).
    pub soil_layer_thickness: Vec<f64>,
    /// `Soil_Temperature`: initial layer temperatures (K).
    pub soil_temperature: Vec<f64>,
    /// `Soil_Moisture`: initial total (liquid + frozen) volumetric water content (m3 m-3).
    pub soil_moisture: Vec<f64>,
    /// `Soil_Liquid`: initial liquid volumetric water content (m3 m-3).
    pub soil_liquid: Vec<f64>,
    /// `Soil_htype`: soil class index of each layer (SOILPARM.TBL row).
    pub soil_htype: Vec<u32>,
    /// `Skin_Temperature`: initial skin temperature (K).
    pub skin_temperature: f64,
    /// `Canopy_water`: initial canopy water (m, Noah's CMC; default 0).
    pub canopy_water: f64,
    /// `Snow_depth`: initial snow depth (m; default 0).
    pub snow_depth: f64,
    /// `Snow_equivalent`: initial snow water equivalent (m; default 0).
    pub snow_equivalent: f64,
    /// `Deep_Soil_Temperature`: lower-boundary temperature TBOT (K).
    pub deep_soil_temperature: f64,
    /// `Landuse_dataset`: vegetation classification, e.g. "USGS" (default "USGS").
    pub landuse_dataset: String,
    /// `Soil_type_index`: the site's dominant soil class, if given.
    pub soil_type_index: Option<u32>,
    /// `Vegetation_type_index`: vegetation class (VEGPARM.TBL row).
    pub vegetation_type_index: u32,
    /// `Urban_veg_category` (default 1, USGS).
    pub urban_veg_category: u32,
    /// `glacial_veg_category` (default 24, USGS).
    pub glacial_veg_category: u32,
    /// `Slope_type_index` (default 1).
    pub slope_type_index: u32,
    /// `Max_snow_albedo` (-), if given.
    pub max_snow_albedo: Option<f64>,
    /// `Air_temperature_level`: height of air temperature and humidity (m; default 2).
    pub air_temperature_level: f64,
    /// `Wind_level`: height of the wind measurement (m; default 10).
    pub wind_level: f64,
    /// `Green_Vegetation_Min` (-), if given.
    pub green_vegetation_min: Option<f64>,
    /// `Green_Vegetation_Max` (-), if given.
    pub green_vegetation_max: Option<f64>,
    /// `Usemonalb`: use the monthly albedo table (default false).
    pub usemonalb: bool,
    /// `Rdlai2d`: read LAI from the forcing (default false).
    pub rdlai2d: bool,
    /// `sfcdif_option`, if given: the surface layer unless the experiment
    /// chooses one; 1 Noah's MYJ (`surface_layer = "myj"`), 0 Noah-Tibet's
    /// Yang et al. scheme (`"y08"`).
    pub sfcdif_option: Option<i64>,
    /// `iz0tlnd`: thermal roughness option of the MYJ surface layer, 0 CZIL,
    /// 1 the roughness-dependent coefficient (default 0).
    pub iz0tlnd: i64,
    /// `Albedo_monthly`: background albedo, January to December (-), if given.
    pub albedo_monthly: Option<[f64; 12]>,
    /// `Shdfac_monthly`: green vegetation fraction, January to December (-), if given.
    pub shdfac_monthly: Option<[f64; 12]>,
    /// `lai_monthly`: leaf area index, January to December (m2 m-2), if given.
    pub lai_monthly: Option<[f64; 12]>,
    /// `Z0brd_monthly`: background roughness length, January to December (m), if given.
    pub z0brd_monthly: Option<[f64; 12]>,
    /// Any other namelist entries, raw text by lower-case key.
    pub extra: BTreeMap<String, String>,
}

impl NoahHeader {
    /// Number of soil layers.
    pub fn n_layers(&self) -> usize {
        self.soil_layer_thickness.len()
    }

    /// Depth of the bottom of the column (m, positive down).
    pub fn column_depth(&self) -> f64 {
        self.soil_layer_thickness.iter().sum()
    }
}

/// A parsed Noah ASCII forcing file.
#[derive(Clone, Debug)]
pub struct NoahPointFile {
    /// The namelist header.
    pub header: NoahHeader,
    /// The forcing from `startdate` to `enddate`, SI units.
    pub forcing: PointForcing,
    /// Wind direction of each step (degrees from north, meteorological), kept for reference.
    pub wind_direction: Vec<f64>,
}

/// A namelist entry: its raw value text and the 1-based line it came from.
struct Entry {
    raw: String,
    line: usize,
}

struct Namelist<'a> {
    path: &'a Path,
    entries: BTreeMap<String, Entry>,
    end_line: usize,
}

fn strip_quotes(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| t.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(t)
}

impl Namelist<'_> {
    fn take(&mut self, key: &str) -> Option<Entry> {
        self.entries.remove(&key.to_ascii_lowercase())
    }

    fn missing(&self, key: &str) -> Error {
        Error::parse(
            self.path,
            Some(self.end_line),
            format!("namelist key `{key}` is missing from &METADATA_NAMELIST"),
        )
    }

    fn bad(&self, key: &str, e: &Entry, what: &str) -> Error {
        Error::parse(
            self.path,
            Some(e.line),
            format!("namelist key `{key}`: `{}` {what}", e.raw.trim()),
        )
    }

    fn f64_opt(&mut self, key: &str) -> Result<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(e) => {
                let v = parse_fortran_f64(strip_quotes(&e.raw))
                    .ok_or_else(|| self.bad(key, &e, "is not a number"))?;
                if !v.is_finite() {
                    return Err(self.bad(key, &e, "is not finite"));
                }
                Ok(Some(v))
            }
        }
    }

    fn f64_req(&mut self, key: &str) -> Result<f64> {
        self.f64_opt(key)?.ok_or_else(|| self.missing(key))
    }

    fn int_opt(&mut self, key: &str) -> Result<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(e) => strip_quotes(&e.raw)
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.bad(key, &e, "is not an integer")),
        }
    }

    fn class_opt(&mut self, key: &str) -> Result<Option<u32>> {
        match self.take(key) {
            None => Ok(None),
            Some(e) => match strip_quotes(&e.raw).parse::<u32>() {
                Ok(v) if v > 0 => Ok(Some(v)),
                _ => Err(self.bad(key, &e, "is not a positive class index")),
            },
        }
    }

    fn bool_opt(&mut self, key: &str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(e) => {
                let t = strip_quotes(&e.raw).trim_matches('.').to_ascii_lowercase();
                match t.as_str() {
                    "true" | "t" => Ok(Some(true)),
                    "false" | "f" => Ok(Some(false)),
                    _ => Err(self.bad(key, &e, "is not a logical (.TRUE. or .FALSE.)")),
                }
            }
        }
    }

    fn string_opt(&mut self, key: &str) -> Option<String> {
        self.take(key).map(|e| strip_quotes(&e.raw).to_string())
    }

    fn date_opt(&mut self, key: &str) -> Result<Option<NaiveDateTime>> {
        match self.take(key) {
            None => Ok(None),
            Some(e) => parse_noah_date(strip_quotes(&e.raw))
                .map(Some)
                .ok_or_else(|| self.bad(key, &e, "is not a date in the form YYYYMMDDHHMM")),
        }
    }

    fn list_opt(&mut self, key: &str) -> Result<Option<(Vec<f64>, usize)>> {
        match self.take(key) {
            None => Ok(None),
            Some(e) => {
                let mut out = Vec::new();
                for tok in e.raw.split(|c: char| c.is_whitespace() || c == ',') {
                    if tok.is_empty() {
                        continue;
                    }
                    match parse_fortran_f64(tok) {
                        Some(v) if v.is_finite() => out.push(v),
                        _ => {
                            return Err(Error::parse(
                                self.path,
                                Some(e.line),
                                format!("namelist key `{key}`: `{tok}` is not a number"),
                            ))
                        }
                    }
                }
                if out.is_empty() {
                    return Err(self.bad(key, &e, "has no values"));
                }
                Ok(Some((out, e.line)))
            }
        }
    }

    fn list_req(&mut self, key: &str) -> Result<(Vec<f64>, usize)> {
        self.list_opt(key)?.ok_or_else(|| self.missing(key))
    }

    fn monthly(&mut self, key: &str) -> Result<Option<[f64; 12]>> {
        match self.list_opt(key)? {
            None => Ok(None),
            Some((v, line)) => {
                let arr: [f64; 12] = v.as_slice().try_into().map_err(|_| {
                    Error::parse(
                        self.path,
                        Some(line),
                        format!(
                            "namelist key `{key}` needs 12 monthly values, found {}",
                            v.len()
                        ),
                    )
                })?;
                Ok(Some(arr))
            }
        }
    }
}

/// Parse a Fortran real (`1.0`, `2.5E-3`, `1.0d0`).
fn parse_fortran_f64(s: &str) -> Option<f64> {
    let t = s.trim();
    t.parse::<f64>()
        .ok()
        .or_else(|| t.replace(['d', 'D'], "e").parse::<f64>().ok())
}

/// Parse `YYYYMMDDHHMM` (or `YYYYMMDDHH`).
fn parse_noah_date(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if !(s.len() == 12 || s.len() == 10) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(s[0..4].parse().ok()?, n(4, 6)?, n(6, 8)?)?;
    let mi = if s.len() == 12 { n(10, 12)? } else { 0 };
    date.and_hms_opt(n(8, 10)?, mi, 0)
}

/// Column names of a forcing row, for error messages.
const COLUMNS: [&str; 13] = [
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "wind speed (m/s)",
    "wind direction (degrees)",
    "air temperature (K)",
    "relative humidity (%)",
    "pressure (hPa)",
    "shortwave down (W/m2)",
    "longwave down (W/m2)",
    "precipitation (kg/m2/s)",
];

/// Read a Noah ASCII forcing file.
pub fn read_noah_ascii(path: impl AsRef<Path>) -> Result<NoahPointFile> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_noah_ascii(&text, path)
}

/// Parse the text of a Noah ASCII forcing file; `path` is used in errors only.
pub fn parse_noah_ascii(text: &str, path: &Path) -> Result<NoahPointFile> {
    let lines: Vec<&str> = text.lines().collect();
    // 1. The namelist block.
    let start = lines
        .iter()
        .position(|l| {
            l.trim()
                .to_ascii_uppercase()
                .starts_with("&METADATA_NAMELIST")
        })
        .ok_or_else(|| Error::parse(path, None, "no `&METADATA_NAMELIST` block found"))?;
    let mut entries = BTreeMap::new();
    let mut end = None;
    for (i, raw) in lines.iter().enumerate().skip(start + 1) {
        let line = raw.trim();
        if line == "/" || line == "&END" || line == "&end" {
            end = Some(i);
            break;
        }
        if line.is_empty() || line.starts_with('!') {
            continue;
        }
        let content = if line.contains('"') || line.contains('\'') {
            line
        } else {
            line.split('!').next().unwrap_or("")
        };
        let Some((k, v)) = content.split_once('=') else {
            return Err(Error::parse(
                path,
                Some(i + 1),
                format!("namelist line `{line}` is not of the form `key = value`"),
            ));
        };
        let key = k.trim().to_ascii_lowercase();
        let value = v.trim().trim_end_matches(',').to_string();
        if entries.contains_key(&key) {
            return Err(Error::parse(
                path,
                Some(i + 1),
                format!("namelist key `{}` is given twice", k.trim()),
            ));
        }
        entries.insert(
            key,
            Entry {
                raw: value,
                line: i + 1,
            },
        );
    }
    let end = end.ok_or_else(|| {
        Error::parse(
            path,
            Some(lines.len()),
            "the &METADATA_NAMELIST block is not closed by a `/` line",
        )
    })?;
    let mut nl = Namelist {
        path,
        entries,
        end_line: end + 1,
    };
    let header = header_from_namelist(&mut nl)?;

    // 2. The forcing rows.
    let tag = lines
        .iter()
        .enumerate()
        .skip(end + 1)
        .find(|(_, l)| l.trim_start().to_ascii_lowercase().starts_with("<forcing>"))
        .map(|(i, _)| i)
        .ok_or_else(|| {
            Error::parse(
                path,
                Some(lines.len()),
                "no `<Forcing>` line found after the namelist",
            )
        })?;
    let dt = header.forcing_timestep;
    let dt_ms = (dt * 1000.0).round() as i64;
    let mut steps = Vec::new();
    let mut wind_dir = Vec::new();
    let mut first: Option<NaiveDateTime> = None;
    let mut prev: Option<NaiveDateTime> = None;
    for (i, raw) in lines.iter().enumerate().skip(tag + 1) {
        let lineno = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let toks: Vec<&str> = line.split_whitespace().collect();
        if toks.len() < COLUMNS.len() {
            return Err(Error::parse(
                path,
                Some(lineno),
                format!(
                    "truncated forcing row: expected {} columns (yyyy mm dd hh mi wind dir T RH P SW LW precip), found {}",
                    COLUMNS.len(),
                    toks.len()
                ),
            ));
        }
        let mut vals = [0.0f64; 13];
        for (k, tok) in toks.iter().take(13).enumerate() {
            vals[k] = parse_fortran_f64(tok).ok_or_else(|| {
                Error::parse(
                    path,
                    Some(lineno),
                    format!("column {} ({}): `{tok}` is not a number", k + 1, COLUMNS[k]),
                )
            })?;
        }
        let time = row_time(&vals).ok_or_else(|| {
            Error::parse(
                path,
                Some(lineno),
                format!(
                    "`{} {} {} {} {}` is not a valid date and time",
                    toks[0], toks[1], toks[2], toks[3], toks[4]
                ),
            )
        })?;
        if time < header.startdate {
            continue;
        }
        if let Some(end) = header.enddate {
            if time > end {
                break;
            }
        }
        match prev {
            None => {
                if time != header.startdate {
                    return Err(Error::parse(
                        path,
                        Some(lineno),
                        format!(
                            "the first row at or after startdate is {time}, not startdate {}",
                            header.startdate
                        ),
                    ));
                }
                first = Some(time);
            }
            Some(p) => {
                let step = (time - p).num_milliseconds();
                if step != dt_ms {
                    return Err(Error::parse(
                        path,
                        Some(lineno),
                        format!(
                            "time {time} follows {p}: expected a step of Forcing_Timestep = {dt} s, found {} s ({})",
                            step as f64 / 1000.0,
                            if step <= 0 { "duplicate or out of order" } else { "gap" }
                        ),
                    ));
                }
            }
        }
        prev = Some(time);
        let [_, _, _, _, _, wind, dir, t, rh, p_hpa, sw, lw, pr] = vals;
        if !(0.0..=110.0).contains(&rh) {
            return Err(Error::parse(
                path,
                Some(lineno),
                format!("variable `rh` (column 9): relative humidity {rh} % is outside 0..110"),
            ));
        }
        if p_hpa > 2000.0 {
            return Err(Error::parse(
                path,
                Some(lineno),
                format!(
                    "variable `p_air` (column 10): pressure {p_hpa} hPa is too high (looks like Pa given as hPa)"
                ),
            ));
        }
        let p = units::hpa_to_pa(p_hpa);
        let step = ForcingStep {
            t_air: t,
            q_air: units::rh_to_q_noah(rh.min(100.0), t, p),
            p_air: p,
            wind,
            sw_down: sw,
            lw_down: lw,
            precip: pr,
        };
        check_step(&step)
            .map_err(|v| Error::parse(path, Some(lineno), format!("{v} at {time}")))?;
        steps.push(step);
        wind_dir.push(dir);
    }
    let first = first.ok_or_else(|| {
        Error::parse(
            path,
            Some(lines.len()),
            format!("no forcing rows from startdate {}", header.startdate),
        )
    })?;
    if let (Some(end), Some(last)) = (header.enddate, prev) {
        if last < end {
            return Err(Error::parse(
                path,
                Some(lines.len()),
                format!("the forcing stops at {last}, before enddate {end} (truncated file?)"),
            ));
        }
    }
    let forcing = PointForcing {
        source: path.display().to_string(),
        start: first,
        dt,
        steps,
        lat: header.latitude,
        lon: header.longitude,
        z_temp: header.air_temperature_level,
        z_wind: header.wind_level,
    };
    Ok(NoahPointFile {
        header,
        forcing,
        wind_direction: wind_dir,
    })
}

fn row_time(v: &[f64; 13]) -> Option<NaiveDateTime> {
    let int = |x: f64| (x.fract() == 0.0 && (0.0..1e5).contains(&x)).then_some(x as u32);
    NaiveDate::from_ymd_opt(int(v[0])? as i32, int(v[1])?, int(v[2])?)?.and_hms_opt(
        int(v[3])?,
        int(v[4])?,
        0,
    )
}

fn header_from_namelist(nl: &mut Namelist<'_>) -> Result<NoahHeader> {
    let path: PathBuf = nl.path.to_path_buf();
    let startdate = nl
        .date_opt("startdate")?
        .ok_or_else(|| nl.missing("startdate"))?;
    let enddate = nl.date_opt("enddate")?;
    let forcing_timestep = nl.f64_req("Forcing_Timestep")?;
    if forcing_timestep <= 0.0 || 86400.0 % forcing_timestep != 0.0 {
        return Err(Error::parse(
            &path,
            None,
            format!(
                "namelist key `Forcing_Timestep` = {forcing_timestep} s must be positive and divide a day"
            ),
        ));
    }
    let noahlsm_timestep = nl.f64_opt("Noahlsm_Timestep")?.unwrap_or(forcing_timestep);
    let latitude = nl.f64_req("Latitude")?;
    let longitude = nl.f64_req("Longitude")?;
    if !(-90.0..=90.0).contains(&latitude) {
        return Err(Error::parse(
            &path,
            None,
            format!("namelist key `Latitude` = {latitude} is outside -90..90"),
        ));
    }
    let (dz, dz_line) = nl.list_req("Soil_layer_thickness")?;
    if let Some((k, v)) = dz.iter().enumerate().find(|(_, v)| **v <= 0.0) {
        return Err(Error::parse(
            &path,
            Some(dz_line),
            format!(
                "namelist key `Soil_layer_thickness`: layer {} has thickness {v} m",
                k + 1
            ),
        ));
    }
    let n = dz.len();
    let mut layered = |key: &str| -> Result<(Vec<f64>, usize)> {
        let (v, line) = nl.list_req(key)?;
        if v.len() != n {
            return Err(Error::parse(
                &path,
                Some(line),
                format!(
                    "namelist key `{key}` has {} values but `Soil_layer_thickness` has {n} layers",
                    v.len()
                ),
            ));
        }
        Ok((v, line))
    };
    let (soil_temperature, st_line) = layered("Soil_Temperature")?;
    let (soil_moisture, sm_line) = layered("Soil_Moisture")?;
    let (soil_liquid, sl_line) = layered("Soil_Liquid")?;
    let (htype, ht_line) = layered("Soil_htype")?;
    for (k, t) in soil_temperature.iter().enumerate() {
        if !(150.0..350.0).contains(t) {
            return Err(Error::parse(
                &path,
                Some(st_line),
                format!(
                    "namelist key `Soil_Temperature`: layer {} is {t} K (not kelvin?)",
                    k + 1
                ),
            ));
        }
    }
    for (k, (m, l)) in soil_moisture.iter().zip(&soil_liquid).enumerate() {
        if !(0.0..=1.0).contains(m) {
            return Err(Error::parse(
                &path,
                Some(sm_line),
                format!(
                    "namelist key `Soil_Moisture`: layer {} is {m}, outside 0..1 m3/m3",
                    k + 1
                ),
            ));
        }
        if *l < 0.0 || *l > m + 1e-9 {
            return Err(Error::parse(
                &path,
                Some(sl_line),
                format!(
                    "namelist key `Soil_Liquid`: layer {} is {l}, outside 0..Soil_Moisture ({m})",
                    k + 1
                ),
            ));
        }
    }
    let mut soil_htype = Vec::with_capacity(n);
    for (k, h) in htype.iter().enumerate() {
        if h.fract() != 0.0 || *h < 1.0 {
            return Err(Error::parse(
                &path,
                Some(ht_line),
                format!(
                    "namelist key `Soil_htype`: layer {} has class {h}, not a positive integer",
                    k + 1
                ),
            ));
        }
        soil_htype.push(*h as u32);
    }
    let skin_temperature = nl.f64_req("Skin_Temperature")?;
    let deep_soil_temperature = nl.f64_req("Deep_Soil_Temperature")?;
    let vegetation_type_index = nl
        .class_opt("Vegetation_type_index")?
        .ok_or_else(|| nl.missing("Vegetation_type_index"))?;
    let header = NoahHeader {
        startdate,
        enddate,
        loop_for_a_while: nl.int_opt("loop_for_a_while")?.unwrap_or(0),
        output_dir: nl.string_opt("output_dir").unwrap_or_default(),
        latitude,
        longitude,
        forcing_timestep,
        noahlsm_timestep,
        sea_ice_point: nl.bool_opt("Sea_ice_point")?.unwrap_or(false),
        soil_layer_thickness: dz,
        soil_temperature,
        soil_moisture,
        soil_liquid,
        soil_htype,
        skin_temperature,
        canopy_water: nl.f64_opt("Canopy_water")?.unwrap_or(0.0),
        snow_depth: nl.f64_opt("Snow_depth")?.unwrap_or(0.0),
        snow_equivalent: nl.f64_opt("Snow_equivalent")?.unwrap_or(0.0),
        deep_soil_temperature,
        landuse_dataset: nl
            .string_opt("Landuse_dataset")
            .unwrap_or_else(|| "USGS".into()),
        soil_type_index: nl.class_opt("Soil_type_index")?,
        vegetation_type_index,
        urban_veg_category: nl.class_opt("Urban_veg_category")?.unwrap_or(1),
        glacial_veg_category: nl.class_opt("glacial_veg_category")?.unwrap_or(24),
        slope_type_index: nl.class_opt("Slope_type_index")?.unwrap_or(1),
        max_snow_albedo: nl.f64_opt("Max_snow_albedo")?,
        air_temperature_level: nl.f64_opt("Air_temperature_level")?.unwrap_or(2.0),
        wind_level: nl.f64_opt("Wind_level")?.unwrap_or(10.0),
        green_vegetation_min: nl.f64_opt("Green_Vegetation_Min")?,
        green_vegetation_max: nl.f64_opt("Green_Vegetation_Max")?,
        usemonalb: nl.bool_opt("Usemonalb")?.unwrap_or(false),
        rdlai2d: nl.bool_opt("Rdlai2d")?.unwrap_or(false),
        sfcdif_option: nl.int_opt("sfcdif_option")?,
        iz0tlnd: nl.int_opt("iz0tlnd")?.unwrap_or(0),
        albedo_monthly: nl.monthly("Albedo_monthly")?,
        shdfac_monthly: nl.monthly("Shdfac_monthly")?,
        lai_monthly: nl.monthly("lai_monthly")?,
        z0brd_monthly: nl.monthly("Z0brd_monthly")?,
        extra: std::mem::take(&mut nl.entries)
            .into_iter()
            .map(|(k, e)| (k, e.raw))
            .collect(),
    };
    if let Some(end) = header.enddate {
        if end < header.startdate {
            return Err(Error::parse(
                &path,
                None,
                format!(
                    "namelist: enddate {end} is before startdate {}",
                    header.startdate
                ),
            ));
        }
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "&METADATA_NAMELIST
startdate = \"200001010000\"
enddate = \"200001010600\"
Latitude = 33.0
Longitude = 92.0
Forcing_Timestep = 10800
Soil_layer_thickness = 0.1 0.2
Soil_Temperature = 270.0 271.0
Soil_Moisture = 0.3 0.3
Soil_Liquid = 0.1 0.2
Soil_htype = 7 12
Skin_Temperature = 268.0
Deep_Soil_Temperature = 272.0
Vegetation_type_index = 9
Usemonalb = .TRUE.
/
<Forcing>
";

    const ROWS: &str = "2000 01 01 00 00 3.0 200.0 260.0 50.0 550.0 0.0 200.0 0.0
2000 01 01 03 00 4.0 200.0 262.0 60.0 551.0 300.0 210.0 1.0e-5
2000 01 01 06 00 5.0 200.0 264.0 70.0 552.0 500.0 220.0 0.0
";

    #[test]
    fn three_hourly_file() {
        let text = format!("{HEAD}{ROWS}");
        let f = parse_noah_ascii(&text, Path::new("x.txt")).unwrap();
        assert_eq!(f.forcing.steps.len(), 3);
        assert_eq!(f.forcing.dt, 10800.0);
        assert_eq!(f.header.noahlsm_timestep, 10800.0);
        assert!(f.header.usemonalb);
        assert_eq!(f.header.soil_htype, vec![7, 12]);
        assert_eq!(f.forcing.steps[1].p_air, 55100.0);
        assert_eq!(f.forcing.steps[2].sw_down, 500.0);
        assert_eq!(
            f.forcing.time(2),
            NaiveDate::from_ymd_opt(2000, 1, 1)
                .unwrap()
                .and_hms_opt(6, 0, 0)
                .unwrap()
        );
    }

    #[test]
    fn hourly_and_daily_files() {
        use std::fmt::Write;
        for (dt, n) in [(3600u32, 48usize), (86400, 10)] {
            let steps = n;
            let end = NaiveDate::from_ymd_opt(2000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + chrono::Duration::seconds(dt as i64 * (steps as i64 - 1));
            let mut text = HEAD
                .replace(
                    "Forcing_Timestep = 10800",
                    &format!("Forcing_Timestep = {dt}"),
                )
                .replace("200001010600", &end.format("%Y%m%d%H%M").to_string());
            for k in 0..steps {
                let t = end - chrono::Duration::seconds(dt as i64 * (steps - 1 - k) as i64);
                writeln!(
                    text,
                    "{} 3.0 200.0 {} 50.0 550.0 100.0 200.0 0.0",
                    t.format("%Y %m %d %H %M"),
                    260.0 + k as f64 * 0.1
                )
                .unwrap();
            }
            let f = parse_noah_ascii(&text, Path::new("h.txt")).unwrap();
            assert_eq!(f.forcing.steps.len(), steps);
            assert_eq!(f.forcing.dt, dt as f64);
            assert_eq!(f.forcing.time(steps - 1), end);
            assert!(
                (f.forcing.steps[steps - 1].t_air - (260.0 + (steps - 1) as f64 * 0.1)).abs()
                    < 1e-9
            );
            let w = f
                .forcing
                .window(f.forcing.time(2), f.forcing.time(5))
                .unwrap();
            assert_eq!(w.steps[..], f.forcing.steps[2..5]);
            assert!(f
                .forcing
                .window(f.forcing.time(2), f.forcing.time(steps + 3))
                .is_err());
        }
    }

    #[test]
    fn gap_names_the_line() {
        let rows = ROWS.replace("2000 01 01 03 00", "2000 01 01 04 00");
        let text = format!("{HEAD}{rows}");
        let e = parse_noah_ascii(&text, Path::new("x.txt"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.txt:19:") && e.contains("gap"), "{e}");
    }
}
