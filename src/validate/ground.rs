//! A point run against measured ground temperatures: a borehole's or a
//! station's daily soil temperatures at named depths.
//!
//! The observations are a CSV file with the columns `date` (YYYY-MM-DD),
//! `depth_m` (below the surface) and `temperature_c`, in any order and with
//! any further columns; an empty or `NA` temperature is a missing value. Each
//! observation is paired with the run's daily mean temperature at its depth,
//! interpolated linearly between layer midpoints (above the first midpoint,
//! the top layer's), and scored per depth: n, RMSE, bias (simulated minus
//! observed), MAE and Pearson r.
//!
//! Measured active-layer thickness (probing or thaw tubes, as at CALM
//! sites) is a CSV file with the columns `year` and `alt_m`, paired with the
//! run's annual ALT.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::diagnostics::annual::interp_at;
use crate::metrics::{point_scores, PointScores};
use crate::{Error, Result};

/// One measured ground temperature.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundObservation {
    pub date: NaiveDate,
    /// Depth below the surface (m).
    pub depth: f64,
    /// Temperature (C).
    pub temperature: f64,
    /// Line in the file (1-based, the header is line 1).
    pub line: usize,
}

/// The observations of a file, and how many rows had no value.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundObservations {
    pub rows: Vec<GroundObservation>,
    pub missing: usize,
}

/// Open a CSV file and find its named columns (in any order, among others).
fn open_columns(path: &Path, names: &[&str]) -> Result<(csv::Reader<std::fs::File>, Vec<usize>)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::parse(path, None, e.to_string()))?;
    let header = reader
        .headers()
        .map_err(|e| Error::parse(path, Some(1), e.to_string()))?
        .clone();
    let columns = names
        .iter()
        .map(|name| {
            header.iter().position(|h| h == *name).ok_or_else(|| {
                Error::parse(
                    path,
                    Some(1),
                    format!("no `{name}` column (the columns are {})", names.join(", ")),
                )
            })
        })
        .collect::<Result<_>>()?;
    Ok((reader, columns))
}

/// Read a ground-temperature file. Errors name the file and line: a
/// missing column, a date that is not YYYY-MM-DD, a negative or
/// non-numeric depth, a temperature that is not a number or outside -60 to
/// 60 C (kelvin given?).
pub fn read_ground_temperatures(path: &Path) -> Result<GroundObservations> {
    let (mut reader, c) = open_columns(path, &["date", "depth_m", "temperature_c"])?;
    let (c_date, c_depth, c_t) = (c[0], c[1], c[2]);
    let mut rows = Vec::new();
    let mut missing = 0;
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::parse(path, Some(line), e.to_string()))?;
        let field = |c: usize| rec.get(c).unwrap_or("");
        let bad = |m: String| Error::parse(path, Some(line), m);
        let date = NaiveDate::parse_from_str(field(c_date), "%Y-%m-%d")
            .map_err(|_| bad(format!("date `{}` is not YYYY-MM-DD", field(c_date))))?;
        let depth: f64 = field(c_depth)
            .parse()
            .ok()
            .filter(|d: &f64| d.is_finite() && *d >= 0.0)
            .ok_or_else(|| bad(format!("depth `{}` is not a depth in m", field(c_depth))))?;
        let t = field(c_t);
        if t.is_empty() || t.eq_ignore_ascii_case("na") {
            missing += 1;
            continue;
        }
        let temperature: f64 = t
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad(format!("temperature `{t}` is not a number")))?;
        if !(-60.0..=60.0).contains(&temperature) {
            return Err(bad(format!(
                "temperature {temperature} is not a ground temperature in C (kelvin given?)"
            )));
        }
        rows.push(GroundObservation {
            date,
            depth,
            temperature,
            line,
        });
    }
    Ok(GroundObservations { rows, missing })
}

/// An observation and the run's daily mean at its depth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroundPair {
    pub date: NaiveDate,
    pub depth_m: f64,
    pub observed_c: f64,
    pub simulated_c: f64,
}

/// Scores at one depth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DepthScores {
    pub depth_m: f64,
    #[serde(flatten)]
    pub scores: PointScores,
}

/// The comparison of a run with a file's observations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroundComparison {
    pub pairs: Vec<GroundPair>,
    /// Per depth, shallowest first.
    pub depths: Vec<DepthScores>,
    /// Observations on days the run did not simulate.
    pub outside_run: usize,
    /// Rows without a value.
    pub missing: usize,
}

/// Every observation lies within the column: no deeper than the last layer
/// midpoint `mids` (m) reaches; else an error naming its line.
pub fn check_depths(path: &Path, obs: &GroundObservations, mids: &[f64]) -> Result<()> {
    let deepest = mids.last().copied().unwrap_or(0.0);
    match obs.rows.iter().find(|o| o.depth > deepest) {
        Some(o) => Err(Error::parse(
            path,
            Some(o.line),
            format!(
                "depth {} m is below the column's last layer midpoint ({deepest} m)",
                o.depth
            ),
        )),
        None => Ok(()),
    }
}

/// Pair the observations with the daily means `temps` (day-major, `mids.len()`
/// layers per day, in C) of `days`, layer midpoints `mids` (m). An
/// observation deeper than the last midpoint is an error naming its line.
pub fn compare_ground(
    path: &Path,
    obs: &GroundObservations,
    days: &[NaiveDate],
    temps: &[f64],
    mids: &[f64],
) -> Result<GroundComparison> {
    let n = mids.len();
    if temps.len() != days.len() * n {
        return Err(Error::Other(format!(
            "{} daily values for {} days of {n} layers",
            temps.len(),
            days.len()
        )));
    }
    check_depths(path, obs, mids)?;
    let index: BTreeMap<NaiveDate, usize> = days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut pairs = Vec::new();
    let mut outside_run = 0;
    for o in &obs.rows {
        let Some(&k) = index.get(&o.date) else {
            outside_run += 1;
            continue;
        };
        let sim = interp_at(mids, &temps[k * n..(k + 1) * n], o.depth)
            .ok_or_else(|| Error::parse(path, Some(o.line), "no simulated value at this depth"))?;
        pairs.push(GroundPair {
            date: o.date,
            depth_m: o.depth,
            observed_c: o.temperature,
            simulated_c: sim,
        });
    }
    let mut by_depth: BTreeMap<u64, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for p in &pairs {
        let e = by_depth.entry(p.depth_m.to_bits()).or_default();
        e.0.push(p.simulated_c);
        e.1.push(p.observed_c);
    }
    let mut depths: Vec<DepthScores> = by_depth
        .into_iter()
        .map(|(d, (sim, obs))| {
            Ok(DepthScores {
                depth_m: f64::from_bits(d),
                scores: point_scores(&sim, &obs)?,
            })
        })
        .collect::<Result<_>>()?;
    depths.sort_by(|a, b| a.depth_m.total_cmp(&b.depth_m));
    Ok(GroundComparison {
        pairs,
        depths,
        outside_run,
        missing: obs.missing,
    })
}

impl GroundComparison {
    /// `observed_pairs.csv`.
    pub fn pairs_csv(&self) -> String {
        let mut s = String::from("date,depth_m,observed_c,simulated_c\n");
        for p in &self.pairs {
            s.push_str(&format!(
                "{},{},{},{:.4}\n",
                p.date, p.depth_m, p.observed_c, p.simulated_c
            ));
        }
        s
    }

    /// `observed_scores.csv`.
    pub fn scores_csv(&self) -> String {
        let mut s = String::from("depth_m,n,rmse_k,bias_k,mae_k,r\n");
        for d in &self.depths {
            let x = &d.scores;
            s.push_str(&format!(
                "{},{},{:.4},{:.4},{:.4},{:.4}\n",
                d.depth_m, x.n, x.rmse, x.bias, x.mae, x.r
            ));
        }
        s
    }
}

/// One measured active-layer thickness.
#[derive(Clone, Debug, PartialEq)]
pub struct AltObservation {
    pub year: i32,
    /// ALT (m).
    pub alt: f64,
    /// Line in the file (1-based).
    pub line: usize,
}

/// Read an ALT file (`year`, `alt_m`; an empty or `NA` ALT is missing).
/// Errors name the file and line: a missing column, a year that is not a
/// year, an ALT that is not a number, negative, or above 30 m (cm given?).
/// Returns the observations and the number of missing values.
pub fn read_alt_observations(path: &Path) -> Result<(Vec<AltObservation>, usize)> {
    let (mut reader, c) = open_columns(path, &["year", "alt_m"])?;
    let (c_year, c_alt) = (c[0], c[1]);
    let (mut rows, mut missing) = (Vec::new(), 0);
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::parse(path, Some(line), e.to_string()))?;
        let field = |c: usize| rec.get(c).unwrap_or("");
        let bad = |m: String| Error::parse(path, Some(line), m);
        let year: i32 = field(c_year)
            .parse()
            .ok()
            .filter(|y| (1000..=3000).contains(y))
            .ok_or_else(|| bad(format!("year `{}` is not a year", field(c_year))))?;
        let a = field(c_alt);
        if a.is_empty() || a.eq_ignore_ascii_case("na") {
            missing += 1;
            continue;
        }
        let alt: f64 = a
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| bad(format!("alt_m `{a}` is not a thickness in m")))?;
        if alt > 30.0 {
            return Err(bad(format!("alt_m {alt} is not an ALT in m (cm given?)")));
        }
        rows.push(AltObservation { year, alt, line });
    }
    Ok((rows, missing))
}

/// An observed and the simulated ALT of one year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AltPair {
    pub year: i32,
    pub observed_m: f64,
    pub simulated_m: f64,
}

/// The run's annual ALT against measured ALT.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AltComparison {
    pub pairs: Vec<AltPair>,
    /// n, RMSE, bias, MAE, r of the pairs; `None` without a pair.
    pub scores: Option<PointScores>,
    /// Observations of years the run did not simulate.
    pub outside_run: usize,
    /// Observations of simulated years without permafrost (no simulated ALT).
    pub no_simulated_alt: usize,
    /// Rows without a value.
    pub missing: usize,
}

/// Pair the ALT observations with the simulated annual ALT, `simulated` as
/// (year, ALT if the year has permafrost).
pub fn compare_alt(
    obs: &[AltObservation],
    missing: usize,
    simulated: &[(i32, Option<f64>)],
) -> AltComparison {
    let by_year: BTreeMap<i32, Option<f64>> = simulated.iter().copied().collect();
    let (mut pairs, mut outside_run, mut no_simulated_alt) = (Vec::new(), 0, 0);
    for o in obs {
        match by_year.get(&o.year) {
            None => outside_run += 1,
            Some(None) => no_simulated_alt += 1,
            Some(Some(sim)) => pairs.push(AltPair {
                year: o.year,
                observed_m: o.alt,
                simulated_m: *sim,
            }),
        }
    }
    let sim: Vec<f64> = pairs.iter().map(|p| p.simulated_m).collect();
    let obs: Vec<f64> = pairs.iter().map(|p| p.observed_m).collect();
    AltComparison {
        scores: point_scores(&sim, &obs).ok(),
        pairs,
        outside_run,
        no_simulated_alt,
        missing,
    }
}

impl AltComparison {
    /// `observed_alt.csv`.
    pub fn pairs_csv(&self) -> String {
        let mut s = String::from("year,observed_m,simulated_m\n");
        for p in &self.pairs {
            s.push_str(&format!(
                "{},{},{:.4}\n",
                p.year, p.observed_m, p.simulated_m
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn pairs_interpolate_between_midpoints_and_score_per_depth() {
        let (_d, path) = write(
            "site,date,depth_m,temperature_c\nA,2008-01-01,0.5,-2.0\nA,2008-01-02,0.5,NA\n\
             A,2008-01-02,0.5,-1.0\nA,2008-01-01,0.0,-4.5\nA,2009-06-01,0.5,1.0\n",
        );
        let obs = read_ground_temperatures(&path).unwrap();
        assert_eq!((obs.rows.len(), obs.missing), (4, 1));
        // Midpoints 0.25 and 1.0 m; day 1: -4 and -1 C, day 2: -2 and 0 C.
        let mids = [0.25, 1.0];
        let days = [day("2008-01-01"), day("2008-01-02")];
        let temps = [-4.0, -1.0, -2.0, 0.0];
        let c = compare_ground(&path, &obs, &days, &temps, &mids).unwrap();
        assert_eq!(c.outside_run, 1);
        // At 0.5 m: one third of the way from 0.25 to 1.0 m.
        let at = |a: f64, b: f64| a + (b - a) / 3.0;
        assert!((c.pairs[0].simulated_c - at(-4.0, -1.0)).abs() < 1e-12);
        assert!((c.pairs[1].simulated_c - at(-2.0, 0.0)).abs() < 1e-12);
        // Above the first midpoint: the top layer.
        assert_eq!(c.pairs[2].simulated_c, -4.0);
        assert_eq!(c.depths.len(), 2);
        assert_eq!(c.depths[0].depth_m, 0.0);
        assert!((c.depths[0].scores.bias - 0.5).abs() < 1e-12);
        let e = [-3.0 + 2.0, at(-2.0, 0.0) + 1.0];
        let d = &c.depths[1].scores;
        assert_eq!(d.n, 2);
        assert!((d.bias - (e[0] + e[1]) / 2.0).abs() < 1e-12);
        assert!((d.rmse - ((e[0] * e[0] + e[1] * e[1]) / 2.0).sqrt()).abs() < 1e-12);
        assert!(c
            .scores_csv()
            .starts_with("depth_m,n,rmse_k,bias_k,mae_k,r\n0,1,"));
        assert_eq!(c.pairs_csv().lines().count(), 4);
    }

    #[test]
    fn alt_pairs_by_year_and_counts_what_it_cannot_pair() {
        let (_d, path) = write(
            "year,alt_m,method\n2008,2.1,probe\n2009,NA,\n2010,2.6,tube\n2011,2.0,\n2012,1.9,\n",
        );
        let (obs, missing) = read_alt_observations(&path).unwrap();
        assert_eq!((obs.len(), missing), (4, 1));
        let sim = [
            (2008, Some(2.0)),
            (2009, Some(2.2)),
            (2010, Some(2.9)),
            (2011, None),
        ];
        let c = compare_alt(&obs, missing, &sim);
        assert_eq!(
            (c.pairs.len(), c.outside_run, c.no_simulated_alt),
            (2, 1, 1)
        );
        let s = c.scores.clone().unwrap();
        // Errors -0.1 and +0.3.
        assert!((s.bias - 0.1).abs() < 1e-12);
        assert!((s.rmse - (0.05f64).sqrt()).abs() < 1e-12);
        assert_eq!(
            c.pairs_csv(),
            "year,observed_m,simulated_m\n2008,2.1,2.0000\n2010,2.6,2.9000\n"
        );
        for (text, says) in [
            ("year,alt\n", "no `alt_m` column"),
            ("year,alt_m\n08,1.0\n", "obs.csv:2:"),
            ("year,alt_m\n2008,1.0\n2009,-1\n", "obs.csv:3:"),
            ("year,alt_m\n2008,180\n", "cm given?"),
        ] {
            let (_d, path) = write(text);
            let e = read_alt_observations(&path).unwrap_err().to_string();
            assert!(e.contains(says), "{text} -> {e}");
        }
    }

    #[test]
    fn bad_files_name_the_line() {
        for (text, says) in [
            ("date,depth,temperature_c\n", "no `depth_m` column"),
            ("date,depth_m,temperature_c\n2008-13-01,1,0\n", "obs.csv:2:"),
            (
                "date,depth_m,temperature_c\n2008-01-01,1,0\n2008-01-02,-1,0\n",
                "obs.csv:3:",
            ),
            (
                "date,depth_m,temperature_c\n2008-01-01,1,x\n",
                "is not a number",
            ),
            (
                "date,depth_m,temperature_c\n2008-01-01,1,271.5\n",
                "kelvin given?",
            ),
        ] {
            let (_d, path) = write(text);
            let e = read_ground_temperatures(&path).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("obs.csv"), "{text} -> {e}");
        }
        let (_d, path) = write("date,depth_m,temperature_c\n2008-01-01,0.5,1\n2008-01-01,3,1\n");
        let obs = read_ground_temperatures(&path).unwrap();
        let e = compare_ground(&path, &obs, &[day("2008-01-01")], &[0.0, 0.0], &[0.25, 1.0])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("obs.csv:3:") && e.contains("below the column"),
            "{e}"
        );
    }
}
