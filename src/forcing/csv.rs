//! A plain CSV point-forcing format with the unit of every column in its header.
//!
//! ```text
//! # calimap point forcing
//! # lat = 33.02
//! # lon = 91.96
//! # z_temp = 2
//! # z_wind = 10
//! time,t_air[K],q_air[kg/kg],p_air[Pa],wind[m/s],sw_down[W/m2],lw_down[W/m2],precip[kg/m2/s]
//! 2007-04-01T00:00:00,271.24,0.00157,54822,4.19,243.69,228.81,3.1e-10
//! ```
//!
//! * Lines starting with `#` before the header are comments; those of the
//!   form `# key = value` set metadata: `lat` and `lon` (degrees, required),
//!   `z_temp` and `z_wind` (m above ground, defaults 2 and 10) and `dt` (step
//!   length in s; needed only for a one-row file, otherwise taken from the
//!   first two rows).
//! * The header names columns `name[unit]`, in any order, names in any case:
//!   `time`; `t_air` [K, degC]; humidity as one of `q_air` [kg/kg, g/kg], `rh`
//!   [%, 1] or `dewpoint` [K, degC]; `p_air` [Pa, hPa, kPa]; `wind` [m/s] or
//!   both `wind_u` and `wind_v` [m/s]; `sw_down` and `lw_down` [W/m2, or J/m2
//!   accumulated over the step]; `precip` [kg/m2/s, mm/s, mm/h, mm/d, or mm,
//!   kg/m2 or m per step]. Any other column name is an error (a misspelt
//!   variable is never silently ignored).
//! * `time` is the start of the interval the row describes, UTC, as
//!   `YYYY-MM-DDTHH:MM[:SS]` (a space instead of `T` and a trailing `Z` are
//!   accepted) or `YYYY-MM-DD`. Rows must be regularly spaced without gaps.
//! * Relative humidity and dew point become specific humidity with the Bolton
//!   (1980) saturation pressure over water ([`units::rh_to_q`], [`units::dewpoint_to_q`]).
//!
//! [`write_csv_forcing`] writes SI columns (the first header above) with full
//! `f64` precision, so a write-read round trip is exact.

use std::io::Write;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};

use super::units::{self, parse_unit, Conversion, Quantity};
use super::validate::check_step;
use super::{ForcingStep, PointForcing};
use crate::{Error, Result};

/// The columns a CSV forcing file may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Time,
    TAir,
    QAir,
    Rh,
    Dewpoint,
    PAir,
    Wind,
    WindU,
    WindV,
    SwDown,
    LwDown,
    Precip,
}

impl Col {
    fn from_name(name: &str) -> Option<(Col, Option<Quantity>)> {
        Some(match name.to_ascii_lowercase().as_str() {
            "time" => (Col::Time, None),
            "t_air" => (Col::TAir, Some(Quantity::AirTemperature)),
            "q_air" => (Col::QAir, Some(Quantity::SpecificHumidity)),
            "rh" => (Col::Rh, Some(Quantity::RelativeHumidity)),
            "dewpoint" => (Col::Dewpoint, Some(Quantity::DewPoint)),
            "p_air" => (Col::PAir, Some(Quantity::Pressure)),
            "wind" => (Col::Wind, Some(Quantity::Wind)),
            "wind_u" => (Col::WindU, Some(Quantity::Wind)),
            "wind_v" => (Col::WindV, Some(Quantity::Wind)),
            "sw_down" => (Col::SwDown, Some(Quantity::Radiation)),
            "lw_down" => (Col::LwDown, Some(Quantity::Radiation)),
            "precip" => (Col::Precip, Some(Quantity::Precipitation)),
            _ => return None,
        })
    }
}

const KNOWN: &str =
    "time, t_air, q_air | rh | dewpoint, p_air, wind | wind_u + wind_v, sw_down, lw_down, precip";

/// Parse a time stamp of the CSV format.
fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Read a CSV point-forcing file into SI units.
pub fn read_csv_forcing(path: impl AsRef<Path>) -> Result<PointForcing> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_csv_forcing(&text, path)
}

/// Parse the text of a CSV point-forcing file; `path` is used in errors only.
pub fn parse_csv_forcing(text: &str, path: &Path) -> Result<PointForcing> {
    let perr = |line: usize, msg: String| Error::parse(path, Some(line), msg);
    let mut lat = None;
    let mut lon = None;
    let mut z_temp = 2.0;
    let mut z_wind = 10.0;
    let mut dt_meta: Option<f64> = None;
    let mut lines = text.lines().enumerate();
    // 1. Comments, metadata and the header.
    let (header_line, header) = loop {
        let Some((i, raw)) = lines.next() else {
            return Err(Error::parse(path, None, "no header line found"));
        };
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            if let Some((k, v)) = c.split_once('=') {
                let key = k.trim().to_ascii_lowercase();
                let val: f64 = v.trim().parse().map_err(|_| {
                    perr(
                        i + 1,
                        format!("metadata `{}`: `{}` is not a number", k.trim(), v.trim()),
                    )
                })?;
                if !val.is_finite() {
                    return Err(perr(i + 1, format!("metadata `{key}` is not finite")));
                }
                match key.as_str() {
                    "lat" => lat = Some(val),
                    "lon" => lon = Some(val),
                    "z_temp" => z_temp = val,
                    "z_wind" => z_wind = val,
                    "dt" => dt_meta = Some(val),
                    _ => {
                        return Err(perr(
                            i + 1,
                            format!(
                            "unknown metadata key `{key}` (known: lat, lon, z_temp, z_wind, dt)"
                        ),
                        ))
                    }
                }
            }
            continue;
        }
        break (i + 1, line);
    };
    let mut cols: Vec<(Col, Conversion)> = Vec::new();
    for field in header.split(',') {
        let field = field.trim();
        let (name, unit) = match field.split_once('[') {
            Some((n, rest)) => {
                let unit = rest.strip_suffix(']').ok_or_else(|| {
                    perr(
                        header_line,
                        format!("column `{field}`: unit not closed by `]`"),
                    )
                })?;
                (n.trim(), Some(unit.trim()))
            }
            None => (field, None),
        };
        let (col, q) = Col::from_name(name).ok_or_else(|| {
            perr(
                header_line,
                format!("unknown column `{name}` (known: {KNOWN})"),
            )
        })?;
        if cols.iter().any(|(c, _)| *c == col) {
            return Err(perr(header_line, format!("column `{name}` appears twice")));
        }
        let conv = match (q, unit) {
            (None, _) => Conversion::IDENTITY,
            (Some(q), Some(u)) => {
                parse_unit(q, u).map_err(|m| perr(header_line, format!("column `{name}`: {m}")))?
            }
            (Some(q), None) => {
                return Err(perr(
                    header_line,
                    format!(
                        "column `{name}` has no unit; write `{name}[unit]` (accepted: {})",
                        q.accepted_units()
                    ),
                ))
            }
        };
        cols.push((col, conv));
    }
    let find = |c: Col| cols.iter().position(|(k, _)| *k == c);
    let need = |c: Col, name: &str| {
        find(c).ok_or_else(|| perr(header_line, format!("required column `{name}` is missing")))
    };
    let i_time = need(Col::Time, "time")?;
    let i_t = need(Col::TAir, "t_air")?;
    let i_p = need(Col::PAir, "p_air")?;
    let i_sw = need(Col::SwDown, "sw_down")?;
    let i_lw = need(Col::LwDown, "lw_down")?;
    let i_pr = need(Col::Precip, "precip")?;
    let hum: Vec<usize> = [Col::QAir, Col::Rh, Col::Dewpoint]
        .iter()
        .filter_map(|c| find(*c))
        .collect();
    if hum.len() != 1 {
        return Err(perr(
            header_line,
            format!(
                "give exactly one humidity column (q_air, rh or dewpoint); found {}",
                hum.len()
            ),
        ));
    }
    let i_hum = hum[0];
    let wind = match (find(Col::Wind), find(Col::WindU), find(Col::WindV)) {
        (Some(w), None, None) => (w, None),
        (None, Some(u), Some(v)) => (u, Some(v)),
        _ => {
            return Err(perr(
                header_line,
                "give either a `wind` column or both `wind_u` and `wind_v`".into(),
            ))
        }
    };
    let lat = lat.ok_or_else(|| perr(header_line, "metadata `# lat = ...` is missing".into()))?;
    let lon = lon.ok_or_else(|| perr(header_line, "metadata `# lon = ...` is missing".into()))?;

    // 2. The rows: raw numbers first (the step length is needed for per-step units).
    let mut times = Vec::new();
    let mut raw: Vec<(usize, Vec<f64>)> = Vec::new();
    for (i, l) in lines {
        let lineno = i + 1;
        let line = l.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != cols.len() {
            return Err(perr(
                lineno,
                format!(
                    "{} row: expected {} fields, found {}",
                    if fields.len() < cols.len() {
                        "truncated"
                    } else {
                        "malformed"
                    },
                    cols.len(),
                    fields.len()
                ),
            ));
        }
        let mut vals = vec![0.0; cols.len()];
        for (k, f) in fields.iter().enumerate() {
            if k == i_time {
                let t = parse_time(f).ok_or_else(|| {
                    perr(
                        lineno,
                        format!("column `time`: `{}` is not a date and time", f.trim()),
                    )
                })?;
                times.push((t, lineno));
                continue;
            }
            let v: f64 = f.trim().parse().map_err(|_| {
                perr(
                    lineno,
                    format!(
                        "column {} ({:?}): `{}` is not a number",
                        k + 1,
                        cols[k].0,
                        f.trim()
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(perr(
                    lineno,
                    format!(
                        "variable {:?} (column {}): value {v} is not finite",
                        cols[k].0,
                        k + 1
                    ),
                ));
            }
            vals[k] = v;
        }
        raw.push((lineno, vals));
    }
    if raw.is_empty() {
        return Err(perr(header_line, "no data rows".into()));
    }
    let dt = match (times.len(), dt_meta) {
        (_, Some(d)) => d,
        (n, None) if n >= 2 => (times[1].0 - times[0].0).num_milliseconds() as f64 / 1000.0,
        _ => {
            return Err(perr(
                header_line,
                "a one-row file needs the step length as metadata `# dt = <seconds>`".into(),
            ))
        }
    };
    if dt.is_nan() || dt <= 0.0 {
        return Err(perr(
            times.get(1).map(|t| t.1).unwrap_or(header_line),
            format!("time step {dt} s is not positive"),
        ));
    }
    let dt_ms = (dt * 1000.0).round() as i64;
    for w in times.windows(2) {
        let step = (w[1].0 - w[0].0).num_milliseconds();
        if step != dt_ms {
            return Err(perr(
                w[1].1,
                format!(
                    "time {} follows {}: expected a step of {dt} s, found {} s ({})",
                    w[1].0,
                    w[0].0,
                    step as f64 / 1000.0,
                    if step <= 0 {
                        "duplicate or out of order"
                    } else {
                        "gap"
                    }
                ),
            ));
        }
    }
    let mut steps = Vec::with_capacity(raw.len());
    for ((lineno, vals), (time, _)) in raw.iter().zip(&times) {
        let get = |k: usize| cols[k].1.apply(vals[k], dt);
        let t_air = get(i_t);
        let p_air = get(i_p);
        let q_air = match cols[i_hum].0 {
            Col::QAir => get(i_hum),
            Col::Rh => {
                let rh = get(i_hum);
                if !(0.0..=110.0).contains(&rh) {
                    return Err(perr(
                        *lineno,
                        format!("variable `rh`: relative humidity {rh} % is outside 0..110"),
                    ));
                }
                units::rh_to_q(rh.min(100.0), t_air, p_air)
            }
            _ => units::dewpoint_to_q(get(i_hum), p_air),
        };
        let wind = match wind {
            (w, None) => get(w),
            (u, Some(v)) => units::wind_speed(get(u), get(v)),
        };
        let step = ForcingStep {
            t_air,
            q_air,
            p_air,
            wind,
            sw_down: get(i_sw),
            lw_down: get(i_lw),
            precip: get(i_pr),
        };
        check_step(&step).map_err(|v| perr(*lineno, format!("{v} at {time}")))?;
        steps.push(step);
    }
    Ok(PointForcing {
        source: path.display().to_string(),
        start: times[0].0,
        dt,
        steps,
        lat,
        lon,
        z_temp,
        z_wind,
    })
}

/// Write point forcing as CSV in SI units (the format read by
/// [`read_csv_forcing`]), atomically: to a temporary name in the same folder,
/// then renamed.
pub fn write_csv_forcing(path: impl AsRef<Path>, f: &PointForcing) -> Result<()> {
    let path = path.as_ref();
    let mut out = String::with_capacity(96 * (f.steps.len() + 8));
    out.push_str("# calimap point forcing (SI units)\n");
    out.push_str(&format!("# lat = {}\n# lon = {}\n", f.lat, f.lon));
    out.push_str(&format!(
        "# z_temp = {}\n# z_wind = {}\n# dt = {}\n",
        f.z_temp, f.z_wind, f.dt
    ));
    out.push_str(
        "time,t_air[K],q_air[kg/kg],p_air[Pa],wind[m/s],sw_down[W/m2],lw_down[W/m2],precip[kg/m2/s]\n",
    );
    for (i, s) in f.steps.iter().enumerate() {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            f.time(i).format("%Y-%m-%dT%H:%M:%S"),
            s.t_air,
            s.q_air,
            s.p_air,
            s.wind,
            s.sw_down,
            s.lw_down,
            s.precip
        ));
    }
    write_atomic(path, out.as_bytes())
}

/// Write `bytes` to `path` through a temporary file in the same folder.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let res = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// The temporary name used while writing `path`: `.<name>.<pid>.tmp` in the same folder.
pub(crate) fn tmp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_in_header_are_converted() {
        let text = "# lat = 47.9\n# lon = 107.3\n\
            time,t_air[degC],rh[%],p_air[hPa],wind_u[m/s],wind_v[m/s],sw_down[J/m2],lw_down[W/m2],precip[mm]\n\
            2000-01-01T00:00,-10,50,850,3,4,2160000,200,1.8\n\
            2000-01-01 03:00,-11,60,851,0,1,0,190,0\n";
        let f = parse_csv_forcing(text, Path::new("a.csv")).unwrap();
        assert_eq!(f.dt, 10800.0);
        let s = f.steps[0];
        assert!((s.t_air - 263.15).abs() < 1e-12);
        assert_eq!(s.p_air, 85000.0);
        assert_eq!(s.wind, 5.0);
        assert_eq!(s.sw_down, 200.0);
        assert!((s.precip - 1.8 / 10800.0).abs() < 1e-18);
        // e_s(263.15 K) = 611.2 exp(17.67*(-10)/233.5) = 286.770 Pa; e = 143.385 Pa;
        // q = 0.622 e / (85000 - 0.378 e) = 1.049909e-3.
        assert!((s.q_air - 1.049_909e-3).abs() < 1e-9, "{}", s.q_air);
    }
}
