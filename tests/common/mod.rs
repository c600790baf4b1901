//! Helpers shared by the integration tests: locating the shared data and a
//! small private reader of the Tanggula Noah ASCII forcing.
#![allow(dead_code)]

pub mod evallog;
pub mod twin;

use std::path::{Path, PathBuf};

use calimap::column::tables::{GeneralParams, SoilTable, VegTable};
use calimap::column::{ColumnConfig, InitialCondition};
use calimap::forcing::{ForcingStep, PointForcing};
use chrono::NaiveDate;

/// The shared data folder, or None (with a note) when it is missing outside CI.
pub fn shared_data() -> Option<PathBuf> {
    let p = std::env::var_os("CALIMAP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if p.join("tanggula/forcing.txt").is_file() {
        Some(p)
    } else if std::env::var("CI").as_deref() == Ok("true") {
        panic!("shared data missing at {}", p.display());
    } else {
        eprintln!("note: shared data not found at {}; skipping", p.display());
        None
    }
}

/// The Tanggula site: forcing, column configuration and initial state from the namelist.
pub struct Site {
    pub forcing: PointForcing,
    pub config: ColumnConfig,
    pub init: InitialCondition,
}

fn nums(s: &str) -> Vec<f64> {
    s.split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect()
}

pub fn tanggula(data: &PathBuf) -> Site {
    let text = std::fs::read_to_string(data.join("tanggula/forcing.txt")).unwrap();
    let mut kv = std::collections::HashMap::new();
    let mut rows = Vec::new();
    let mut in_rows = false;
    for line in text.lines() {
        if in_rows {
            let v = nums(line);
            if v.len() == 13 {
                rows.push(v);
            }
            continue;
        }
        if line
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("<forcing>")
        {
            in_rows = true;
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
        }
    }
    let get = |k: &str| nums(&kv[k]);
    let steps: Vec<ForcingStep> = rows
        .iter()
        .map(|r| {
            let t = r[7];
            let p = r[9] * 100.0;
            let es = 611.2 * (17.67 * (t - 273.15) / (t - 29.65)).exp();
            let e = r[8] / 100.0 * es;
            ForcingStep {
                t_air: t,
                q_air: 0.622 * e / (p - 0.378 * e),
                p_air: p,
                wind: r[5],
                sw_down: r[10],
                lw_down: r[11],
                precip: r[12],
            }
        })
        .collect();
    let forcing = PointForcing {
        source: "tanggula/forcing.txt".into(),
        start: NaiveDate::from_ymd_opt(2007, 4, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        dt: 86400.0,
        steps,
        lat: get("Latitude")[0],
        lon: get("Longitude")[0],
        z_temp: 2.0,
        z_wind: 10.0,
    };
    let tables = data.join("noahtibet-tables");
    let soil = SoilTable::from_noah_tbl(&tables.join("SOILPARM.TBL"), "STAS").unwrap();
    let veg = VegTable::from_noah_tbl(&tables.join("VEGPARM.TBL"), "USGS").unwrap();
    let gen = GeneralParams::from_noah_tbl(&tables.join("GENPARM.TBL")).unwrap();
    let dz = get("Soil_layer_thickness");
    let classes: Vec<usize> = get("Soil_htype").iter().map(|&x| x as usize).collect();
    let mut config = ColumnConfig::from_tables(
        &soil,
        &veg,
        &gen,
        &dz,
        &classes,
        get("Vegetation_type_index")[0] as usize,
        forcing.lat,
        get("Deep_Soil_Temperature")[0],
    )
    .unwrap();
    config.slope_class = get("Slope_type_index")[0] as usize;
    config.max_snow_albedo = get("Max_snow_albedo")[0];
    let shd = get("Shdfac_monthly");
    config.monthly.green_fraction = Some(std::array::from_fn(|i| shd[i]));
    config.green_min = get("Green_Vegetation_Min")[0];
    config.green_max = get("Green_Vegetation_Max")[0];
    let init = InitialCondition::Profile {
        t_soil: get("Soil_Temperature"),
        smc: get("Soil_Moisture"),
        t_skin: get("Skin_Temperature")[0],
        swe: 0.0,
        snow_depth: 0.0,
        canopy_water: 0.0,
        liquid: None,
    };
    Site {
        forcing,
        config,
        init,
    }
}

/// Recycle a forcing into `years` whole years (daily steps).
pub fn recycled(f: &PointForcing, years: usize) -> PointForcing {
    let per_year = (365.25 * 86400.0 / f.dt).round() as usize;
    let n = per_year * years;
    let steps = (0..n).map(|i| f.steps[i % f.steps.len()]).collect();
    PointForcing { steps, ..f.clone() }
}

/// A CSV file's header and rows, as strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

/// The index of the column `name` in a header.
pub fn col(h: &[String], name: &str) -> usize {
    h.iter()
        .position(|x| x == name)
        .unwrap_or_else(|| panic!("no column {name} in {h:?}"))
}
