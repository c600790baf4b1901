//! Borehole observation files.
//!
//! A documented CSV with one observation per row and this header (column
//! order free, names exact):
//!
//! ```text
//! site_id,name,lat,lon,elevation,variable,depth,year,start,end,value,uncertainty
//! ```
//!
//! * `lat`, `lon`: decimal degrees (WGS84); `elevation`: m a.s.l. (may be empty);
//! * `variable`: `ALT` (m), `TTOP` (C), `GT10m` (C) or `MAGT` (C, at `depth` m);
//! * `depth`: m below the surface, required for `MAGT`, ignored otherwise;
//! * either `year` (one calendar year) or `start` and `end` (inclusive years of
//!   a period whose mean was observed);
//! * `value`: the observation in the variable's unit; `uncertainty`: one
//!   standard deviation in the same unit (may be empty).
//!
//! Bad rows are an error naming the file and line.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Observed variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObsVariable {
    /// Active-layer thickness (m).
    #[serde(rename = "ALT")]
    Alt,
    /// Temperature at the top of permafrost (C).
    #[serde(rename = "TTOP")]
    Ttop,
    /// Ground temperature at 10 m (C).
    #[serde(rename = "GT10m")]
    Gt10m,
    /// Mean annual ground temperature at a given depth (C).
    #[serde(rename = "MAGT")]
    Magt,
}

impl ObsVariable {
    /// Parse the CSV spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "ALT" => Some(Self::Alt),
            "TTOP" => Some(Self::Ttop),
            "GT10m" | "GT10M" => Some(Self::Gt10m),
            "MAGT" => Some(Self::Magt),
            _ => None,
        }
    }

    /// The CSV spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alt => "ALT",
            Self::Ttop => "TTOP",
            Self::Gt10m => "GT10m",
            Self::Magt => "MAGT",
        }
    }

    /// Unit of the variable.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Alt => "m",
            _ => "degC",
        }
    }

    /// Whether an elevation lapse-rate correction applies (temperatures only).
    pub fn is_temperature(self) -> bool {
        !matches!(self, Self::Alt)
    }
}

/// One observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// 1-based line in the file (for messages).
    pub line: usize,
    pub site_id: String,
    pub name: String,
    /// Latitude (degrees north).
    pub lat: f64,
    /// Longitude (degrees east).
    pub lon: f64,
    /// Site elevation (m a.s.l.), if given.
    pub elevation: Option<f64>,
    pub variable: ObsVariable,
    /// Depth (m) for MAGT.
    pub depth: Option<f64>,
    /// First year of the observation period (inclusive).
    pub start: i32,
    /// Last year of the observation period (inclusive).
    pub end: i32,
    /// Observed value (m or C).
    pub value: f64,
    /// One-sigma uncertainty, if given.
    pub uncertainty: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawRow {
    site_id: String,
    #[serde(default)]
    name: String,
    lat: String,
    lon: String,
    #[serde(default)]
    elevation: String,
    variable: String,
    #[serde(default)]
    depth: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    value: String,
    #[serde(default)]
    uncertainty: String,
}

/// Read an observation file.
pub fn read_observations(path: &Path) -> Result<Vec<Observation>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_observations(path, &text)
}

/// Parse observation CSV text as if read from `path`.
pub fn parse_observations(path: &Path, text: &str) -> Result<Vec<Observation>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| Error::parse(path, Some(1), format!("header: {e}")))?
        .clone();
    for required in ["site_id", "lat", "lon", "variable", "value"] {
        if !headers.iter().any(|h| h == required) {
            return Err(Error::parse(
                path,
                Some(1),
                format!("missing column `{required}`"),
            ));
        }
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            Error::parse(path, line, e.to_string())
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let raw: RawRow = rec
            .deserialize(Some(&headers))
            .map_err(|e| Error::parse(path, Some(line), e.to_string()))?;
        out.push(convert(path, line, raw)?);
    }
    Ok(out)
}

fn num(path: &Path, line: usize, col: &str, s: &str) -> Result<f64> {
    let v: f64 = s.parse().map_err(|_| {
        Error::parse(
            path,
            Some(line),
            format!("column `{col}`: `{s}` is not a number"),
        )
    })?;
    if !v.is_finite() {
        return Err(Error::parse(
            path,
            Some(line),
            format!("column `{col}`: value is not finite"),
        ));
    }
    Ok(v)
}

fn opt_num(path: &Path, line: usize, col: &str, s: &str) -> Result<Option<f64>> {
    if s.is_empty() || s.eq_ignore_ascii_case("na") {
        Ok(None)
    } else {
        num(path, line, col, s).map(Some)
    }
}

fn year(path: &Path, line: usize, col: &str, s: &str) -> Result<i32> {
    s.parse().map_err(|_| {
        Error::parse(
            path,
            Some(line),
            format!("column `{col}`: `{s}` is not a year"),
        )
    })
}

fn convert(path: &Path, line: usize, r: RawRow) -> Result<Observation> {
    let err = |m: String| Error::parse(path, Some(line), m);
    let lat = num(path, line, "lat", &r.lat)?;
    let lon = num(path, line, "lon", &r.lon)?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(err(format!("lat {lat} is outside -90..90")));
    }
    if !(-180.0..=360.0).contains(&lon) {
        return Err(err(format!("lon {lon} is outside -180..360")));
    }
    let variable = ObsVariable::parse(&r.variable).ok_or_else(|| {
        err(format!(
            "unknown variable `{}`; one of ALT, TTOP, GT10m, MAGT",
            r.variable
        ))
    })?;
    let depth = opt_num(path, line, "depth", &r.depth)?;
    if variable == ObsVariable::Magt && depth.is_none() {
        return Err(err("MAGT needs a depth (m)".into()));
    }
    if let Some(d) = depth {
        if d < 0.0 {
            return Err(err(format!(
                "depth {d} is negative; depths are metres below the surface"
            )));
        }
    }
    let (start, end) = match (r.year.is_empty(), r.start.is_empty(), r.end.is_empty()) {
        (false, true, true) => {
            let y = year(path, line, "year", &r.year)?;
            (y, y)
        }
        (true, false, false) => (
            year(path, line, "start", &r.start)?,
            year(path, line, "end", &r.end)?,
        ),
        _ => return Err(err("give either `year` or both `start` and `end`".into())),
    };
    if end < start {
        return Err(err(format!("end year {end} is before start year {start}")));
    }
    let value = num(path, line, "value", &r.value)?;
    if variable == ObsVariable::Alt && value < 0.0 {
        return Err(err(format!("ALT {value} m is negative")));
    }
    let uncertainty = opt_num(path, line, "uncertainty", &r.uncertainty)?;
    Ok(Observation {
        line,
        site_id: r.site_id,
        name: r.name,
        lat,
        lon,
        elevation: opt_num(path, line, "elevation", &r.elevation)?,
        variable,
        depth,
        start,
        end,
        value,
        uncertainty,
    })
}

/// Format an optional number for the CSV (empty when absent).
fn opt_cell(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

/// Write observations as a CSV in the format [`read_observations`] reads
/// (single years in `year`, periods in `start` and `end`), atomically.
/// Numbers are written with the shortest exact representation, so reading
/// the file back gives the same values.
pub fn write_observations(path: &Path, observations: &[Observation]) -> Result<()> {
    use std::io::Write;
    crate::io::atomic::write_atomic(path, |w| {
        let err = |e: csv::Error| Error::Other(format!("{}: CSV: {e}", path.display()));
        {
            let mut cw = csv::Writer::from_writer(&mut *w);
            cw.write_record([
                "site_id",
                "name",
                "lat",
                "lon",
                "elevation",
                "variable",
                "depth",
                "year",
                "start",
                "end",
                "value",
                "uncertainty",
            ])
            .map_err(err)?;
            for o in observations {
                let (year, start, end) = if o.start == o.end {
                    (o.start.to_string(), String::new(), String::new())
                } else {
                    (String::new(), o.start.to_string(), o.end.to_string())
                };
                cw.write_record([
                    o.site_id.clone(),
                    o.name.clone(),
                    o.lat.to_string(),
                    o.lon.to_string(),
                    opt_cell(o.elevation),
                    o.variable.name().to_string(),
                    opt_cell(o.depth),
                    year,
                    start,
                    end,
                    o.value.to_string(),
                    opt_cell(o.uncertainty),
                ])
                .map_err(err)?;
            }
            cw.flush().map_err(|e| Error::io(path, e))?;
        }
        w.flush().map_err(|e| Error::io(path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "site_id,name,lat,lon,elevation,variable,depth,year,start,end,value,uncertainty\n";

    #[test]
    fn reads_single_years_and_periods() {
        let text = format!(
            "{HEAD}QT01,Tanggula,33.07,91.93,5100,ALT,,2010,,,2.35,0.1\nQT01,Tanggula,33.07,91.93,5100,MAGT,6.0,,2005,2010,-1.2,\n"
        );
        let obs = parse_observations(Path::new("obs.csv"), &text).unwrap();
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].variable, ObsVariable::Alt);
        assert_eq!((obs[0].start, obs[0].end), (2010, 2010));
        assert_eq!(obs[0].uncertainty, Some(0.1));
        assert_eq!(obs[1].depth, Some(6.0));
        assert_eq!((obs[1].start, obs[1].end), (2005, 2010));
        assert_eq!(obs[1].line, 3);
    }

    #[test]
    fn bad_rows_name_the_line() {
        for (row, needle) in [
            ("S,n,33,91,,ALT,,2010,,,abc,", "value"),
            ("S,n,33,91,,XYZ,,2010,,,1,", "unknown variable"),
            ("S,n,33,91,,MAGT,,2010,,,1,", "depth"),
            ("S,n,133,91,,ALT,,2010,,,1,", "lat"),
            ("S,n,33,91,,ALT,,,,,1,", "year"),
            ("S,n,33,91,,ALT,,2010,,,-1,", "negative"),
        ] {
            let text = format!("{HEAD}S,n,33,91,,ALT,,2010,,,1,\n{row}\n");
            let err = parse_observations(Path::new("obs.csv"), &text)
                .unwrap_err()
                .to_string();
            assert!(err.contains("obs.csv:3"), "{err}");
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn written_files_read_back_identically() {
        let text = format!(
            "{HEAD}QT01,Tanggula,33.07,91.93,5100,ALT,,2010,,,2.35,0.1\nQT01,Tanggula,33.07,91.93,,MAGT,6.0,,2005,2010,-1.2,\n"
        );
        let obs = parse_observations(Path::new("obs.csv"), &text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.csv");
        write_observations(&p, &obs).unwrap();
        assert_eq!(read_observations(&p).unwrap(), obs);
    }

    #[test]
    fn missing_column_is_reported() {
        let err = parse_observations(Path::new("o.csv"), "site_id,lat,lon,value\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("variable"), "{err}");
    }
}
