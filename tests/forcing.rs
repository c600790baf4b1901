//! Forcing readers, unit conversion, bad input and the demo domain.

#![allow(clippy::type_complexity)]

use std::path::{Path, PathBuf};

use calimap::forcing::read_noah_ascii;

/// The shared real-data folder, or `None` (after a note) when it is missing
/// outside CI; in CI (`CI=true`) a missing folder fails the test.
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CALIMAP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "shared data not found at {} (set CALIMAP_SHARED_DATA)",
            dir.display()
        );
    }
    eprintln!("note: shared data not found at {}; skipping", dir.display());
    None
}

#[test]
fn tanggula_noah_ascii() {
    let Some(data) = shared_data() else { return };
    let f = read_noah_ascii(data.join("tanggula/forcing.txt")).unwrap();
    let h = &f.header;
    assert_eq!(f.forcing.steps.len(), 1371);
    assert_eq!(f.forcing.dt, 86400.0);
    assert_eq!(h.forcing_timestep, 86400.0);
    assert_eq!(h.noahlsm_timestep, 86400.0);
    assert_eq!(h.latitude, 33.02);
    assert_eq!(h.longitude, 91.96);
    assert_eq!(h.n_layers(), 20);
    assert!((h.column_depth() - 15.2).abs() < 1e-9);
    assert_eq!(h.soil_htype[4], 9);
    assert_eq!(h.soil_htype[19], 13);
    assert_eq!(h.soil_temperature[0], 273.4);
    assert_eq!(h.soil_liquid[6], 0.003);
    assert_eq!(h.skin_temperature, 271.241);
    assert_eq!(h.deep_soil_temperature, 272.43);
    assert_eq!(h.vegetation_type_index, 9);
    assert_eq!(h.soil_type_index, Some(3));
    assert_eq!(h.glacial_veg_category, 24);
    assert_eq!(h.air_temperature_level, 2.0);
    assert_eq!(h.wind_level, 10.0);
    assert_eq!(h.sfcdif_option, Some(1));
    assert!(!h.usemonalb && !h.sea_ice_point);
    assert_eq!(h.max_snow_albedo, Some(0.75));
    assert_eq!(h.shdfac_monthly.unwrap()[7], 0.96);
    assert_eq!(h.z0brd_monthly.unwrap()[5], 0.036);
    assert_eq!(h.landuse_dataset, "USGS");
    assert_eq!(
        f.forcing.start,
        chrono::NaiveDate::from_ymd_opt(2007, 4, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    );
    assert_eq!(
        f.forcing.time(1370),
        chrono::NaiveDate::from_ymd_opt(2010, 12, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    );
    // First row: 4.1889973491 m/s, 271.2412439391 K, 25.9113713626 %, 548.22 hPa.
    let s = f.forcing.steps[0];
    assert_eq!(s.wind, 4.1889973491);
    assert_eq!(s.t_air, 271.2412439391);
    assert_eq!(s.p_air, 54822.0);
    assert_eq!(s.sw_down, 243.6875);
    assert_eq!(s.lw_down, 228.8125);
    assert_eq!(s.precip, 0.0000000003104409);
    // Noah driver humidity by hand: Lv = 2.501e6 - 2317*(-1.9087560609) = 2505422.58;
    // e_s = 611.2 exp(Lv (1/273.15 - 1/271.2412439) / 461.5) = 531.425 Pa;
    // e = p e_s r / (p - e_s (1 - r)) = 138.695 Pa; q = 0.622 e / (p - 0.378 e) = 1.575119e-3.
    assert!((s.q_air - 1.575_119e-3).abs() < 1e-9, "{}", s.q_air);
}

#[test]
fn terelj_era5_accumulated_fluxes_by_hand() {
    use calimap::forcing::{read_cf_point, CfForcingSpec};
    let Some(data) = shared_data() else { return };
    let spec = CfForcingSpec::era5(&data.join("terelj-era5"));
    let f = read_cf_point(&spec).unwrap();
    // t2m starts 1979-01-01 00:00; the accumulations start at 12:00, i.e. the
    // interval 06:00-12:00; both end 2020-12-31 18:00 (the last interval that
    // has its accumulation starts at 12:00).
    assert_eq!(f.dt, 21600.0);
    assert_eq!(
        f.start,
        chrono::NaiveDate::from_ymd_opt(1979, 1, 1)
            .unwrap()
            .and_hms_opt(6, 0, 0)
            .unwrap()
    );
    assert_eq!(f.steps.len(), 61362);
    assert!(
        (f.lat - 47.9).abs() < 0.01 && (f.lon - 107.3).abs() < 0.01,
        "{} {}",
        f.lat,
        f.lon
    );
    // Step 732 starts 1979-07-03 06:00. Packed values (ncdump) times
    // scale_factor plus add_offset:
    //   t2m  20007 * 0.00115905350055328 + 268.127739259871 = 291.3169226 K
    //   d2m  25806 * 0.000973177918830017 + 259.488588118072 = 284.6024175 K
    //   sp    2021 * 0.0724272503929318 + 82850.4637863748 = 82996.83926 Pa
    //   u10 -7967 * 0.000314021131272096 + 0.896775591363075 = -1.605030761 m/s
    //   v10 14985 * 0.00031253861614788 - 0.479897842641814 = 4.20349332 m/s
    // and, stamped 12:00 (end of the interval), hourly accumulations:
    //   ssrd -26546 * 52.9475531411655 + 1734879.52622343 = 329333.7805 J/m2 -> / 3600 s = 91.48160571 W/m2
    //   strd  19344 * 16.7474869531381 + 884474.095006523 = 1208437.483 J/m2 -> / 3600 s = 335.6770785 W/m2
    //   tp  -29695 * 9.69553229162418e-08 + 0.00317683811067358 = 2.977497967e-4 m
    //        -> 0.2977497967 kg/m2 / 3600 s = 8.270827685e-5 kg/m2/s
    // q from the dew point (Bolton): e = 611.2 exp(17.67 * 11.4524175 / 254.9524175) = 1360.9 Pa,
    //   q = 0.622 e / (sp - 0.378 e) = 0.010193143; wind = hypot(u, v) = 4.499497732.
    let s = f.steps[732];
    assert_eq!(
        f.time(732).format("%Y-%m-%d %H:%M").to_string(),
        "1979-07-03 06:00"
    );
    let close = |a: f64, b: f64, rel: f64| assert!((a - b).abs() <= rel * b.abs(), "{a} vs {b}");
    close(s.t_air, 291.3169226, 1e-9);
    close(s.p_air, 82996.83926, 1e-9);
    close(s.q_air, 0.010193143, 1e-7);
    close(s.wind, 4.499497732, 1e-9);
    close(s.sw_down, 91.48160571, 1e-9);
    close(s.lw_down, 335.6770785, 1e-9);
    close(s.precip, 8.270827685e-5, 1e-9);
    // Whole-record means in the physically plausible range for a 48 N
    // mountain site (they would be 6 times smaller if divided by the step).
    let n = f.steps.len() as f64;
    let lw = f.steps.iter().map(|s| s.lw_down).sum::<f64>() / n;
    let pr_mm_yr = f.steps.iter().map(|s| s.precip).sum::<f64>() / n * 86400.0 * 365.25;
    let t = f.steps.iter().map(|s| s.t_air).sum::<f64>() / n - 273.15;
    assert!((200.0..260.0).contains(&lw), "mean LW {lw}");
    assert!(
        (250.0..500.0).contains(&pr_mm_yr),
        "precip {pr_mm_yr} mm/yr"
    );
    assert!((-8.0..2.0).contains(&t), "MAAT {t}");
}

// ---------------------------------------------------------------------------
// Bad input in the text formats: every error names the file, the line and
// the variable.

fn tanggula_text() -> Option<(PathBuf, String)> {
    let data = shared_data()?;
    let path = data.join("tanggula/forcing.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    Some((path, text))
}

/// Replace the `k`-th (0-based) forcing row and return the text and the
/// 1-based line number of that row.
fn with_row(text: &str, k: usize, f: impl Fn(&str) -> String) -> (String, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let tag = lines
        .iter()
        .position(|l| l.starts_with("<Forcing>"))
        .unwrap();
    let idx = tag + 1 + k;
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    out[idx] = f(lines[idx]);
    (out.join("\n"), idx + 1)
}

fn set_col(line: &str, col: usize, value: &str) -> String {
    let mut toks: Vec<String> = line.split_whitespace().map(String::from).collect();
    toks[col] = value.to_string();
    toks.join(" ")
}

#[test]
fn noah_ascii_bad_rows_name_file_line_and_variable() {
    use calimap::forcing::noah_ascii::parse_noah_ascii;
    let Some((path, text)) = tanggula_text() else {
        return;
    };
    let name = path.display().to_string();
    let cases: Vec<(&str, Box<dyn Fn(&str) -> String>, &str)> = vec![
        (
            "truncated",
            Box::new(|l: &str| l[..40].to_string()),
            "truncated",
        ),
        ("NaN", Box::new(|l: &str| set_col(l, 7, "NaN")), "t_air"),
        (
            "Celsius",
            Box::new(|l: &str| set_col(l, 7, "-3.5")),
            "Celsius",
        ),
        (
            "negative SW",
            Box::new(|l: &str| set_col(l, 10, "-20.0")),
            "sw_down",
        ),
        (
            "negative precip",
            Box::new(|l: &str| set_col(l, 12, "-1e-5")),
            "precip",
        ),
        (
            "pressure in Pa",
            Box::new(|l: &str| set_col(l, 9, "54822.0")),
            "p_air",
        ),
        (
            "malformed",
            Box::new(|l: &str| set_col(l, 6, "24x9.0")),
            "wind direction",
        ),
        ("RH", Box::new(|l: &str| set_col(l, 8, "250")), "rh"),
    ];
    for (label, f, needle) in cases {
        let (bad, line) = with_row(&text, 100, f);
        let err = parse_noah_ascii(&bad, &path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{name}:{line}:")) && err.contains(needle),
            "{label}: {err}"
        );
    }
    // A gap: drop row 200.
    let lines: Vec<&str> = text.lines().collect();
    let tag = lines
        .iter()
        .position(|l| l.starts_with("<Forcing>"))
        .unwrap();
    let mut gap: Vec<&str> = lines.clone();
    gap.remove(tag + 1 + 200);
    let err = parse_noah_ascii(&gap.join("\n"), &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{name}:{}:", tag + 2 + 200)) && err.contains("gap"),
        "{err}"
    );
    // A file cut before enddate.
    let cut = lines[..tag + 1 + 500].join("\n");
    let err = parse_noah_ascii(&cut, &path).unwrap_err().to_string();
    assert!(err.contains("before enddate"), "{err}");
    // A layer list that does not match the thicknesses.
    let bad = text.replace("Soil_htype = 7 7 7 7 9", "Soil_htype = 7 7 7 9");
    let err = parse_noah_ascii(&bad, &path).unwrap_err().to_string();
    assert!(err.contains("Soil_htype") && err.contains(":15:"), "{err}");
    let bad = text.replace("Forcing_Timestep = 86400\n", "");
    let err = parse_noah_ascii(&bad, &path).unwrap_err().to_string();
    assert!(
        err.contains("Forcing_Timestep") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn csv_round_trip_and_bad_rows() {
    use calimap::forcing::csv::parse_csv_forcing;
    use calimap::forcing::{read_csv_forcing, write_csv_forcing};
    let Some(data) = shared_data() else { return };
    let f = read_noah_ascii(data.join("tanggula/forcing.txt"))
        .unwrap()
        .forcing;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tanggula.csv");
    write_csv_forcing(&path, &f).unwrap();
    let g = read_csv_forcing(&path).unwrap();
    assert_eq!(g.steps, f.steps);
    assert_eq!((g.start, g.dt, g.lat, g.lon), (f.start, f.dt, f.lat, f.lon));
    assert_eq!((g.z_temp, g.z_wind), (f.z_temp, f.z_wind));
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let text = std::fs::read_to_string(&path).unwrap();
    let header_line = text.lines().position(|l| l.starts_with("time,")).unwrap() + 1;
    let p = Path::new("bad.csv");
    let row = |k: usize, f: &dyn Fn(&str) -> String| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[header_line + k] = f(&lines[header_line + k]);
        (lines.join("\n"), header_line + k + 1)
    };
    let field = |l: &str, i: usize, v: &str| {
        let mut t: Vec<String> = l.split(',').map(String::from).collect();
        t[i] = v.into();
        t.join(",")
    };
    let cases: Vec<(Box<dyn Fn(&str) -> String>, &str)> = vec![
        (Box::new(|l: &str| l[..30].to_string()), "truncated"),
        (Box::new(|l: &str| field(l, 1, "NaN")), "not finite"),
        (Box::new(|l: &str| field(l, 1, "-4.2")), "Celsius"),
        (Box::new(|l: &str| field(l, 6, "-1.0")), "lw_down"),
        (Box::new(|l: &str| field(l, 3, "548.2")), "hPa given as Pa"),
        (
            Box::new(|l: &str| field(l, 0, "2007-04-31T00:00:00")),
            "time",
        ),
    ];
    for (f, needle) in cases {
        let (bad, line) = row(10, &*f);
        let err = parse_csv_forcing(&bad, p).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("bad.csv:{line}:")) && err.contains(needle),
            "{err}"
        );
    }
    let (bad, line) = row(10, &|l: &str| field(l, 0, "2007-04-13T00:00:00"));
    let err = parse_csv_forcing(&bad, p).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("bad.csv:{line}:")) && err.contains("gap"),
        "{err}"
    );
    let bad = text.replace("t_air[K]", "t_air[F]");
    let err = parse_csv_forcing(&bad, p).unwrap_err().to_string();
    assert!(
        err.contains(&format!(":{header_line}:")) && err.contains("`F`"),
        "{err}"
    );
    let bad = text.replace("t_air[K]", "t_ari[K]");
    let err = parse_csv_forcing(&bad, p).unwrap_err().to_string();
    assert!(err.contains("unknown column `t_ari`"), "{err}");
}

// ---------------------------------------------------------------------------
// CF-netCDF: constructed files for every failure the reader must explain.

struct NcVar<'a> {
    name: &'a str,
    units: Option<&'a str>,
    hours: Vec<f64>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    data: Vec<f32>,
    fill: Option<f32>,
    calendar: &'a str,
}

fn write_nc(path: &Path, v: &NcVar) {
    let mut f = netcdf::create(path).unwrap();
    f.add_dimension("time", v.hours.len()).unwrap();
    f.add_dimension("latitude", v.lat.len()).unwrap();
    f.add_dimension("longitude", v.lon.len()).unwrap();
    let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
    t.put_attribute("units", "hours since 1900-01-01 00:00:00.0")
        .unwrap();
    t.put_attribute("calendar", v.calendar).unwrap();
    t.put_values(&v.hours, ..).unwrap();
    let mut la = f.add_variable::<f64>("latitude", &["latitude"]).unwrap();
    la.put_values(&v.lat, ..).unwrap();
    let mut lo = f.add_variable::<f64>("longitude", &["longitude"]).unwrap();
    lo.put_values(&v.lon, ..).unwrap();
    let mut x = f
        .add_variable::<f32>(v.name, &["time", "latitude", "longitude"])
        .unwrap();
    if let Some(u) = v.units {
        x.put_attribute("units", u).unwrap();
    }
    if let Some(fill) = v.fill {
        x.put_attribute("missing_value", fill).unwrap();
    }
    x.put_values(&v.data, ..).unwrap();
}

/// A valid 1 x 2-cell, 6-hourly, 20-step forcing in `dir`, one file per
/// variable; returns the spec. `tweak` may alter any variable before writing.
fn small_forcing(dir: &Path, tweak: &dyn Fn(&mut NcVar)) -> calimap::forcing::CfForcingSpec {
    use calimap::forcing::{CfForcingSpec, VarSource};
    let n = 20;
    let hours: Vec<f64> = (0..n).map(|i| 876576.0 + 6.0 * i as f64).collect(); // 2000-01-01
    let vars: [(&str, &str, f32); 8] = [
        ("t2m", "K", 265.0),
        ("d2m", "K", 255.0),
        ("sp", "Pa", 60000.0),
        ("u10", "m s**-1", 3.0),
        ("v10", "m s**-1", -4.0),
        ("ssrd", "W m-2", 150.0),
        ("strd", "W m-2", 220.0),
        ("tp", "kg m-2 s-1", 1e-5),
    ];
    for (name, units, value) in vars {
        let mut v = NcVar {
            name,
            units: Some(units),
            hours: hours.clone(),
            lat: vec![47.9],
            lon: vec![107.25, 107.5],
            data: (0..2 * n)
                .map(|i| value * (1.0 + 0.001 * i as f32))
                .collect(),
            fill: Some(-9999.0),
            calendar: "gregorian",
        };
        tweak(&mut v);
        write_nc(&dir.join(format!("{name}.nc")), &v);
    }
    let v = |n: &str| VarSource::new(n, dir.join(format!("{n}.nc")));
    CfForcingSpec {
        t_air: v("t2m"),
        p_air: v("sp"),
        q_air: None,
        rh: None,
        dewpoint: Some(v("d2m")),
        wind: None,
        wind_u: Some(v("u10")),
        wind_v: Some(v("v10")),
        sw_down: v("ssrd"),
        lw_down: v("strd"),
        precip: v("tp"),
        z_temp: 2.0,
        z_wind: 10.0,
    }
}

fn open_err(spec: &calimap::forcing::CfForcingSpec) -> String {
    use calimap::forcing::GriddedForcing;
    match GriddedForcing::open(spec) {
        Ok(g) => match g.read_tile(&[(0, 0), (0, 1)], 0, g.n_time()) {
            Ok(_) => panic!("no error"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn netcdf_reads_constructed_files() {
    use calimap::forcing::GriddedForcing;
    let dir = tempfile::tempdir().unwrap();
    let spec = small_forcing(dir.path(), &|_| {});
    let g = GriddedForcing::open(&spec).unwrap();
    assert_eq!(
        (g.grid().nx, g.grid().ny, g.n_time(), g.dt()),
        (2, 1, 20, 21600.0)
    );
    let tile = g.read_tile(&[(0, 1)], 3, 2).unwrap();
    // Cell (0, 1), step 3: file index 3 * 2 + 1 = 7.
    let k = 1.0 + 0.001 * 7.0;
    let s = tile[0][0];
    assert!((s.t_air - 265.0 * k).abs() < 1e-3);
    assert!((s.wind - 5.0 * k).abs() < 1e-4);
    let q = calimap::forcing::units::dewpoint_to_q(255.0 * k, 60000.0 * k);
    assert!((s.q_air - q).abs() < 1e-8);
}

#[test]
fn netcdf_bad_inputs_are_explained() {
    let cases: Vec<(&str, Box<dyn Fn(&mut NcVar)>, Vec<&str>)> = vec![
        (
            "missing units",
            Box::new(|v: &mut NcVar| {
                if v.name == "sp" {
                    v.units = None
                }
            }),
            vec!["sp.nc", "attribute `units` of `sp` is missing"],
        ),
        (
            "unknown unit",
            Box::new(|v: &mut NcVar| {
                if v.name == "t2m" {
                    v.units = Some("furlongs")
                }
            }),
            vec!["t2m.nc", "furlongs"],
        ),
        (
            "fill value",
            Box::new(|v: &mut NcVar| {
                if v.name == "strd" {
                    v.data[11] = -9999.0
                }
            }),
            vec![
                "strd.nc",
                "strd",
                "fill value",
                "2000-01-02 06:00",
                "cell (0, 1)",
            ],
        ),
        (
            "gap",
            Box::new(|v: &mut NcVar| {
                if v.name == "u10" {
                    for h in v.hours.iter_mut().skip(8) {
                        *h += 6.0;
                    }
                }
            }),
            vec!["u10.nc", "gap", "2000-01-03 06:00"],
        ),
        (
            "other grid",
            Box::new(|v: &mut NcVar| {
                if v.name == "tp" {
                    v.lon = vec![107.5, 107.75]
                }
            }),
            vec!["tp.nc", "another grid", "lon0"],
        ),
        (
            "calendar",
            Box::new(|v: &mut NcVar| {
                if v.name == "d2m" {
                    v.calendar = "noleap"
                }
            }),
            vec!["d2m.nc", "noleap"],
        ),
        (
            "wrong unit value",
            Box::new(|v: &mut NcVar| {
                if v.name == "t2m" {
                    v.units = Some("K");
                    v.data[4] = -5.0
                }
            }),
            vec!["t2m.nc", "t_air", "Celsius", "cell (0, 0)"],
        ),
    ];
    for (label, tweak, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_forcing(dir.path(), &*tweak);
        let err = open_err(&spec);
        for n in needles {
            assert!(err.contains(n), "{label}: `{n}` not in: {err}");
        }
    }
    // A variable that is not in the file.
    let dir = tempfile::tempdir().unwrap();
    let mut spec = small_forcing(dir.path(), &|_| {});
    spec.t_air.name = "t2mx".into();
    let err = open_err(&spec);
    assert!(
        err.contains("t2m.nc") && err.contains("`t2mx` not found"),
        "{err}"
    );
}

#[test]
fn netcdf_joins_files_split_in_time() {
    use calimap::forcing::{GriddedForcing, VarSource};
    let dir = tempfile::tempdir().unwrap();
    let whole = small_forcing(dir.path(), &|_| {});
    let g = GriddedForcing::open(&whole).unwrap();
    let all = g.read_tile(&[(0, 0), (0, 1)], 0, 20).unwrap();
    // Split t2m into two files (second listed first) and read again.
    let part = |k0: usize, k1: usize| NcVar {
        name: "t2m",
        units: Some("K"),
        hours: (k0..k1).map(|i| 876576.0 + 6.0 * i as f64).collect(),
        lat: vec![47.9],
        lon: vec![107.25, 107.5],
        data: (2 * k0..2 * k1)
            .map(|i| 265.0 * (1.0 + 0.001 * i as f32))
            .collect(),
        fill: None,
        calendar: "standard",
    };
    let (a, b) = (dir.path().join("t2m_a.nc"), dir.path().join("t2m_b.nc"));
    write_nc(&a, &part(0, 12));
    write_nc(&b, &part(12, 20));
    let mut split = whole.clone();
    split.t_air = VarSource {
        files: vec![b.clone(), a.clone()],
        ..VarSource::new("t2m", &a)
    };
    let g = GriddedForcing::open(&split).unwrap();
    assert_eq!(g.read_tile(&[(0, 0), (0, 1)], 0, 20).unwrap(), all);
    // Overlapping files are refused.
    let c = dir.path().join("t2m_c.nc");
    write_nc(&c, &part(10, 20));
    split.t_air.files = vec![a, c];
    let err = GriddedForcing::open(&split).unwrap_err().to_string();
    assert!(err.contains("t2m_c.nc") && err.contains("overlap"), "{err}");
}

// ---------------------------------------------------------------------------
// The demo domain.

#[test]
fn demo_domain_is_deterministic_and_streams_back() {
    use calimap::forcing::synthetic::{
        read_static_maps, synthetic_forcing_spec, synthetic_maat, write_synthetic_domain,
        SyntheticSpec,
    };
    use calimap::forcing::GriddedForcing;
    let dir = tempfile::tempdir().unwrap();
    let spec = SyntheticSpec::demo(6, 5, 2, 86400.0, 7).unwrap();
    let a = write_synthetic_domain(&dir.path().join("a"), &spec).unwrap();
    let b = write_synthetic_domain(&dir.path().join("b"), &spec).unwrap();
    let mut other = spec.clone();
    other.seed = 8;
    let c = write_synthetic_domain(&dir.path().join("c"), &other).unwrap();
    assert_eq!(a.forcing_files.len(), 14);

    let open = |d: &calimap::forcing::synthetic::SyntheticDomain| {
        GriddedForcing::open(&synthetic_forcing_spec(&d.forcing_dir).unwrap()).unwrap()
    };
    let (ga, gb, gc) = (open(&a), open(&b), open(&c));
    assert!(ga.grid().same_as(&spec.grid), "{:?}", ga.grid());
    assert_eq!(ga.n_time(), 366 + 365);
    assert_eq!(
        ga.start().format("%Y-%m-%d %H:%M").to_string(),
        "2000-01-01 00:00"
    );
    let cells: Vec<(usize, usize)> = (0..5).flat_map(|r| (0..6).map(move |c| (r, c))).collect();
    let ta = ga.read_tile(&cells, 0, ga.n_time()).unwrap();
    assert_eq!(ta, gb.read_tile(&cells, 0, gb.n_time()).unwrap());
    assert_ne!(ta, gc.read_tile(&cells, 0, gc.n_time()).unwrap());

    // Tiles, windows and small read chunks give the same numbers.
    let mut small = ga.clone();
    small.set_chunk_values(7);
    let sub = [(4, 5), (0, 0), (2, 3)];
    let tile = small.read_tile(&sub, 100, 300).unwrap();
    for (k, (r, c)) in sub.iter().enumerate() {
        assert_eq!(tile[k][..], ta[r * 6 + c][100..400]);
    }
    // Tile plans cover every included cell once and respect the budget.
    let budget = calimap::forcing::GriddedForcing::tile_bytes(7, 731);
    let plan = ga.plan_tiles(budget, 731, |r, c| (r + c) % 4 != 0);
    let mut seen: Vec<(usize, usize)> = plan.concat();
    seen.sort();
    let mut want: Vec<(usize, usize)> = cells
        .iter()
        .cloned()
        .filter(|(r, c)| (r + c) % 4 != 0)
        .collect();
    want.sort();
    assert_eq!(seen, want);
    assert!(plan.iter().all(|t| t.len() <= 7), "{plan:?}");
    assert_eq!(
        ga.plan_tiles(usize::MAX, 731, |_, _| true),
        vec![cells.clone()]
    );
    let p = ga.read_point_window(2, 3, 100, 300).unwrap();
    assert_eq!(p.steps[..], ta[2 * 6 + 3][100..400]);
    assert_eq!(p.time(0), ga.time(100));

    // Static maps read back on the same grid.
    let maps = read_static_maps(&a.static_file).unwrap();
    assert!(maps.grid.same_as(&spec.grid));
    assert_eq!(
        (&maps.soil, &maps.vegetation, &maps.mask),
        (&a.maps.soil, &a.maps.vegetation, &a.maps.mask)
    );
    for (x, y) in maps.elevation.iter().zip(&a.maps.elevation) {
        assert!((x - y).abs() < 1e-3);
    }

    // The climate: annual mean air temperature follows the lapse rate
    // (within the weather noise) and spans the permafrost boundary.
    let maat: Vec<f64> = ta
        .iter()
        .map(|s| s[..366].iter().map(|x| x.t_air).sum::<f64>() / 366.0 - 273.15)
        .collect();
    for (m, z) in maat.iter().zip(&a.maps.elevation) {
        assert!((m - synthetic_maat(*z)).abs() < 2.0, "MAAT {m} at {z} m");
    }
    let lo = maat.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = maat.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(lo < -4.0 && hi > 0.0, "{lo} {hi}");
    let n = (ta.len() * ta[0].len()) as f64;
    let sw = ta.iter().flatten().map(|s| s.sw_down).sum::<f64>() / n;
    let pr = ta.iter().flatten().map(|s| s.precip).sum::<f64>() / n * 86400.0 * 365.25;
    assert!((150.0..320.0).contains(&sw), "mean SW {sw}");
    assert!((200.0..800.0).contains(&pr), "precip {pr} mm/yr");
}

#[test]
fn demo_three_hourly_has_a_diurnal_cycle() {
    use calimap::forcing::synthetic::{
        synthetic_forcing_spec, write_synthetic_domain, SyntheticSpec,
    };
    use calimap::forcing::GriddedForcing;
    let dir = tempfile::tempdir().unwrap();
    let spec = SyntheticSpec::demo(3, 2, 1, 10800.0, 3).unwrap();
    let d = write_synthetic_domain(dir.path(), &spec).unwrap();
    let g = GriddedForcing::open(&synthetic_forcing_spec(&d.forcing_dir).unwrap()).unwrap();
    assert_eq!((g.n_time(), g.dt()), (366 * 8, 10800.0));
    let s = g.read_point(1, 1).unwrap();
    // At 90 E local noon is 06 UTC: steps starting 03 and 06 UTC get the most
    // sun; steps starting 15 and 18 UTC (21-03 local) none.
    let mean_at = |h: usize| {
        (0..366)
            .map(|d| s.steps[d * 8 + h / 3].sw_down)
            .sum::<f64>()
            / 366.0
    };
    assert!(
        mean_at(3) > 400.0 && mean_at(15) == 0.0 && mean_at(18) == 0.0,
        "{} {}",
        mean_at(3),
        mean_at(15)
    );
}

#[test]
fn netcdf_point_series_all_variables_in_one_file() {
    use calimap::forcing::{read_cf_point, units, CfForcingSpec, VarSource};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("station.nc");
    let n = 48;
    let vars: [(&str, &str, f64); 7] = [
        ("ta", "degC", -5.0),
        ("hurs", "%", 60.0),
        ("ps", "hPa", 600.0),
        ("ws", "m s-1", 4.0),
        ("rsds", "W m-2", 120.0),
        ("rlds", "W m-2", 230.0),
        ("pr", "mm h-1", 0.36),
    ];
    {
        let mut f = netcdf::create(&path).unwrap();
        f.add_dimension("time", n).unwrap();
        let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "seconds since 2010-06-01 00:00:00")
            .unwrap();
        let secs: Vec<f64> = (0..n).map(|i| 3600.0 * i as f64).collect();
        t.put_values(&secs, ..).unwrap();
        let mut la = f.add_variable::<f64>("lat", &[]).unwrap();
        la.put_value(33.02, ..).unwrap();
        let mut lo = f.add_variable::<f64>("lon", &[]).unwrap();
        lo.put_value(91.96, ..).unwrap();
        for (name, unit, value) in vars {
            let mut v = f.add_variable::<f64>(name, &["time"]).unwrap();
            v.put_attribute("units", unit).unwrap();
            v.put_values(&vec![value; n], ..).unwrap();
        }
    }
    let v = |name: &str| VarSource::new(name, &path);
    let spec = CfForcingSpec {
        t_air: v("ta"),
        p_air: v("ps"),
        q_air: None,
        rh: Some(v("hurs")),
        dewpoint: None,
        wind: Some(v("ws")),
        wind_u: None,
        wind_v: None,
        sw_down: v("rsds"),
        lw_down: v("rlds"),
        precip: v("pr"),
        z_temp: 2.0,
        z_wind: 2.0,
    };
    let f = read_cf_point(&spec).unwrap();
    assert_eq!((f.steps.len(), f.dt), (48, 3600.0));
    assert!((f.lat - 33.02).abs() < 1e-9 && (f.lon - 91.96).abs() < 1e-9);
    let s = f.steps[10];
    assert!((s.t_air - 268.15).abs() < 1e-9);
    assert_eq!(s.p_air, 60000.0);
    // 0.36 mm per hour = 1e-4 kg m-2 s-1.
    assert!((s.precip - 1e-4).abs() < 1e-15);
    assert!((s.q_air - units::rh_to_q(60.0, 268.15, 60000.0)).abs() < 1e-15);
    // An accumulation window on a rate is refused.
    let mut bad = spec.clone();
    bad.precip.accumulation = Some(3600.0);
    let err = read_cf_point(&bad).unwrap_err().to_string();
    assert!(
        err.contains("station.nc") && err.contains("accumulation"),
        "{err}"
    );
}

#[test]
fn forcing_spec_from_toml_with_patterns() {
    use calimap::forcing::synthetic::{write_synthetic_domain, SyntheticSpec};
    use calimap::forcing::{CfForcingSpec, GriddedForcing};
    let dir = tempfile::tempdir().unwrap();
    let spec = SyntheticSpec::demo(3, 2, 2, 86400.0, 5).unwrap();
    write_synthetic_domain(dir.path(), &spec).unwrap();
    let text = r#"
        t_air = { name = "temp", files = ["forcing/temp_*.nc"] }
        p_air = { name = "pres", files = ["forcing/pres_*.nc"] }
        q_air = { name = "shum", files = ["forcing/shum_2000.nc", "forcing/shum_2001.nc"] }
        wind = { name = "wind", files = ["forcing/wind_*.nc"] }
        sw_down = { name = "srad", files = ["forcing/srad_*.nc"] }
        lw_down = { name = "lrad", files = ["forcing/lrad_*.nc"] }
        precip = { name = "prec", files = ["forcing/prec_*.nc"], units = "kg m-2 s-1" }
    "#;
    let raw: CfForcingSpec = toml::from_str(text).unwrap();
    let resolved = raw.resolve(dir.path()).unwrap();
    assert_eq!(resolved.t_air.files.len(), 2);
    let g = GriddedForcing::open(&resolved).unwrap();
    assert_eq!(g.n_time(), 731);
    assert_eq!(g.files().len(), 14);
    // A misspelt key is refused by name.
    let err = toml::from_str::<CfForcingSpec>(&text.replace("wind =", "wnd =")).unwrap_err();
    assert!(err.to_string().contains("wnd"), "{err}");
    // A pattern that matches nothing names the variable.
    let bad: CfForcingSpec = toml::from_str(&text.replace("lrad_*.nc", "lwd_*.nc")).unwrap();
    let err = bad.resolve(dir.path()).unwrap_err().to_string();
    assert!(err.contains("lwd_*.nc") && err.contains("lw_down"), "{err}");
}
