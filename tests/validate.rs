//! Validation against boreholes: `calimap validate` on a small product
//! written here, the report files, errors for bad inputs, and the synthetic
//! boreholes of the demo recovered by the validation.

mod common;

use std::path::PathBuf;
use std::process::Command;

use calimap::io::geotiff::{write_geotiff, Raster, RasterGrid};
use calimap::io::netcdf_out::{write_annual_netcdf, AnnualMapStack, NetcdfMeta};
use calimap::validate::{
    synthetic_boreholes, validate, write_observations, write_synthetic_boreholes, ObsVariable,
    SyntheticNoise, ValidationConfig,
};
use common::{col, read_csv};

const YEARS: std::ops::RangeInclusive<i32> = 2000..=2011;

fn grid() -> RasterGrid {
    // 4 columns x 3 rows of 0.5 degrees, west 90 E, north 36 N.
    RasterGrid::geographic(4, 3, 90.0, 36.0, 0.5, 0.5)
}

/// Member a: ALT = 1.5 + 0.1 row + 0.02 (year - 2000) m, TTOP = -1 - 0.1 col,
/// GT10m = -0.5 - 0.1 col + 0.03 (year - 2000) C; member b adds 0.2 to
/// everything. Cell (0, 3) is masked.
fn product() -> AnnualMapStack {
    let years: Vec<i32> = YEARS.collect();
    let mut s = AnnualMapStack::new(grid(), years.clone(), vec!["a".into(), "b".into()]);
    for m in 0..2 {
        for (t, &y) in years.iter().enumerate() {
            for r in 0..3 {
                for c in 0..4 {
                    if (r, c) == (0, 3) {
                        continue;
                    }
                    let k = s.index(m, t, r, c);
                    let dy = (y - 2000) as f32;
                    let off = 0.2 * m as f32;
                    s.class[k] = 1;
                    s.alt[k] = 1.5 + 0.1 * r as f32 + 0.02 * dy + off;
                    s.ttop[k] = -1.0 - 0.1 * c as f32 + off;
                    s.gt10m[k] = -0.5 - 0.1 * c as f32 + 0.03 * dy + off;
                    s.magt[k] = -0.4 + off;
                }
            }
        }
    }
    s
}

fn meta() -> NetcdfMeta {
    NetcdfMeta {
        title: "validation test product".into(),
        history: "tests/validate.rs".into(),
        comment: None,
    }
}

const HEAD: &str =
    "site_id,name,lat,lon,elevation,variable,depth,year,start,end,value,uncertainty\n";

/// Observations: site A (cell (1, 1)) yearly ALT equal to member a plus
/// 0.01 (year - 2000) m; site B (cell (2, 2)) a TTOP period mean and a GT10m
/// at 4800 m; site C outside the grid; site D on the masked cell; site E a
/// year before the product.
fn observations() -> String {
    let mut s = String::from(HEAD);
    for y in YEARS {
        let dy = (y - 2000) as f64;
        let v = 1.5 + 0.1 + 0.02 * dy + 0.01 * dy;
        s.push_str(&format!("A,Site A,35.25,90.75,4700,ALT,,{y},,,{v},0.05\n"));
    }
    s.push_str("B,Site B,34.75,91.25,4800,TTOP,,,2002,2005,-1.5,\n");
    s.push_str("B,Site B,34.75,91.25,4800,GT10m,,2003,,,-0.6,\n");
    s.push_str("C,Outside,37.0,90.75,,ALT,,2003,,,2.0,\n");
    s.push_str("D,Masked,35.75,91.75,,ALT,,2003,,,2.0,\n");
    s.push_str("E,Early,35.25,90.75,,ALT,,1995,,,2.0,\n");
    s
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write_annual_netcdf(root.join("product.nc"), &product(), &meta()).unwrap();
    std::fs::write(root.join("obs.csv"), observations()).unwrap();
    // Sensitive region: the cell of site A.
    std::fs::write(root.join("sensitive.csv"), "row,col\n1,1\n").unwrap();
    // Elevation 4500 m everywhere, 4600 m at cell (2, 2).
    let mut z = vec![4500.0f32; 12];
    z[2 * 4 + 2] = 4600.0;
    write_geotiff(
        root.join("elev.tif"),
        &Raster::new(grid(), z, Some(-9999.0)).unwrap(),
    )
    .unwrap();
    Fixture { _dir: dir, root }
}

/// netCDF files are written in-process and read by child processes; a child
/// started while another test holds an HDF5 file open inherits its lock, so
/// the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn calimap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_calimap"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn calimap_validate_writes_the_report() {
    let _serial = serial();
    let f = fixture();
    let p = |n: &str| f.root.join(n).to_string_lossy().into_owned();
    let out = calimap(&[
        "validate",
        "--product",
        &p("product.nc"),
        "--observations",
        &p("obs.csv"),
        "--out",
        &p("report"),
        "--lapse-rate",
        "-0.0065",
        "--elevation",
        &p("elev.tif"),
        "--sensitive",
        &p("sensitive.csv"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let dir = f.root.join("report");
    for name in [
        "pairs.csv",
        "unmatched.csv",
        "trends.csv",
        "summary.csv",
        "summary.md",
        "summary.json",
        "scatter_ALT.png",
        "scatter_TTOP.png",
        "scatter_GT10m.png",
    ] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let png = std::fs::read(dir.join("scatter_ALT.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Pairs: 14 matched observations x 3 slots (a, b, ensemble-mean).
    let (h, rows) = read_csv(&dir.join("pairs.csv"));
    assert_eq!(rows.len(), 14 * 3);
    let get = |r: &Vec<String>, c: &str| r[col(&h, c)].clone();
    // Site A is in the sensitive region; site B is independent.
    assert!(rows
        .iter()
        .all(|r| (get(r, "site_id") == "A") == (get(r, "independent") == "false")));
    // TTOP period 2002-2005 at cell (2, 2): -1.2 C in member a, corrected
    // from the 4600 m cell to the 4800 m site by -0.0065 K/m * 200 m = -1.3 K.
    let ttop: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| get(r, "variable") == "TTOP")
        .collect();
    assert_eq!(ttop.len(), 3);
    assert_eq!(get(ttop[0], "member"), "a");
    assert!((num(&get(ttop[0], "sim")) - (-1.2 - 1.3)).abs() < 1e-4);
    assert!((num(&get(ttop[0], "lapse_correction_k")) + 1.3).abs() < 1e-9);
    assert_eq!(get(ttop[0], "start"), "2002");
    assert_eq!(get(ttop[0], "end"), "2005");
    // ALT is not corrected.
    assert!(rows
        .iter()
        .filter(|r| get(r, "variable") == "ALT")
        .all(|r| get(r, "lapse_correction_k").is_empty()));

    // Unmatched: C outside, D masked, E not simulated; never silently dropped.
    let (h, rows) = read_csv(&dir.join("unmatched.csv"));
    assert_eq!(rows.len(), 3);
    let reason = |site: &str| {
        rows.iter()
            .find(|r| r[col(&h, "site_id")] == site)
            .map(|r| r[col(&h, "reason")].clone())
            .unwrap()
    };
    assert!(reason("C").contains("outside the product domain"));
    assert!(reason("D").contains("masked cell (row 0, col 3)"));
    assert!(reason("E").contains("1995 not simulated"));

    // Summary: ALT of member a over all sites. Errors are -0.01 (y - 2000),
    // y = 2000..2011: bias -0.055, RMSE 0.01 sqrt(mean(k^2)) = 0.01 sqrt(42.1667).
    let (h, rows) = read_csv(&dir.join("summary.csv"));
    let find = |var: &str, member: &str, sites: &str| {
        rows.iter()
            .find(|r| {
                r[col(&h, "variable")] == var
                    && r[col(&h, "member")] == member
                    && r[col(&h, "sites")] == sites
            })
            .unwrap_or_else(|| panic!("no summary row {var} {member} {sites}"))
            .clone()
    };
    let a = find("ALT", "a", "all");
    assert_eq!(a[col(&h, "n")], "12");
    assert!((num(&a[col(&h, "bias")]) + 0.055).abs() < 1e-3);
    let rmse = 0.01 * (506.0f64 / 12.0).sqrt();
    assert!((num(&a[col(&h, "rmse")]) - rmse).abs() < 1e-3);
    // Simulated trend 0.2 m/decade against observed 0.3: bias -0.1 by both estimators.
    assert_eq!(a[col(&h, "trend_sites")], "1");
    assert!((num(&a[col(&h, "trend_bias_ols")]) + 0.1).abs() < 1e-3);
    assert!((num(&a[col(&h, "trend_rmse_sen")]) - 0.1).abs() < 1e-3);
    assert_eq!(num(&a[col(&h, "trend_sign_agreement")]), 1.0);
    // Member b is 0.2 m deeper, the ensemble mean 0.1 m.
    let b = find("ALT", "b", "all");
    assert!((num(&b[col(&h, "bias")]) - 0.145).abs() < 1e-3);
    let e = find("ALT", "ensemble-mean", "all");
    assert!((num(&e[col(&h, "bias")]) - 0.045).abs() < 1e-3);
    // Independent sites: site A excluded, so no ALT pairs remain.
    let ind = find("ALT", "a", "independent");
    assert_eq!(ind[col(&h, "n")], "0");
    let g = find("GT10m", "a", "independent");
    assert_eq!(g[col(&h, "n")], "1");

    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains("| variable |") && md.contains("-6.5 K/km"),
        "{md}"
    );
}

#[test]
fn bad_rows_and_mismatched_grids_are_errors() {
    let _serial = serial();
    let f = fixture();
    let p = |n: &str| f.root.join(n).to_string_lossy().into_owned();
    // A bad value on line 4 of the observation file.
    std::fs::write(
        f.root.join("bad.csv"),
        format!("{HEAD}A,a,35.2,90.7,,ALT,,2001,,,1.0,\nA,a,35.2,90.7,,ALT,,2002,,,1.1,\nA,a,35.2,90.7,,ALT,,2003,,,one,\n"),
    )
    .unwrap();
    let out = calimap(&[
        "validate",
        "--product",
        &p("product.nc"),
        "--observations",
        &p("bad.csv"),
        "--out",
        &p("r1"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:4") && err.contains("value"), "{err}");
    assert!(!f.root.join("r1").exists());

    // An elevation map on another grid (shifted by one cell).
    let shifted = RasterGrid::geographic(4, 3, 90.5, 36.0, 0.5, 0.5);
    write_geotiff(
        f.root.join("elev_shifted.tif"),
        &Raster::new(shifted, vec![4500.0f32; 12], None).unwrap(),
    )
    .unwrap();
    let mut cfg = ValidationConfig::new(
        f.root.join("product.nc"),
        f.root.join("obs.csv"),
        f.root.join("r2"),
    );
    cfg.elevation = Some(f.root.join("elev_shifted.tif"));
    let err = validate(&cfg).unwrap_err().to_string();
    assert!(
        err.contains("grid mismatch") && err.contains("elev_shifted.tif"),
        "{err}"
    );
    // A sensitive cell list outside the grid names the line.
    std::fs::write(f.root.join("sens.csv"), "row,col\n0,0\n3,0\n").unwrap();
    cfg.elevation = None;
    cfg.sensitive = Some(f.root.join("sens.csv"));
    let err = validate(&cfg).unwrap_err().to_string();
    assert!(
        err.contains("sens.csv:3") && err.contains("outside"),
        "{err}"
    );
    // Unknown method.
    let out = calimap(&[
        "validate",
        "--product",
        &p("product.nc"),
        "--observations",
        &p("obs.csv"),
        "--out",
        &p("r3"),
        "--method",
        "cubic",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cubic"));
}

#[test]
fn synthetic_boreholes_are_recovered() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let truth = product();
    write_annual_netcdf(dir.path().join("truth.nc"), &truth, &meta()).unwrap();
    // Noise-free observations reproduce member a exactly with nearest matching.
    let zero = SyntheticNoise {
        alt: 0.0,
        ttop: 0.0,
        gt10m: 0.0,
    };
    let obs = synthetic_boreholes(&truth, 11, &zero, 42).unwrap();
    write_observations(&dir.path().join("syn.csv"), &obs).unwrap();
    let mut cfg = ValidationConfig::new(
        dir.path().join("truth.nc"),
        dir.path().join("syn.csv"),
        dir.path().join("v0"),
    );
    cfg.plots = false;
    let rep = validate(&cfg).unwrap();
    assert!(
        rep.matched.unmatched.is_empty(),
        "{:?}",
        rep.matched.unmatched
    );
    for v in [ObsVariable::Alt, ObsVariable::Ttop, ObsVariable::Gt10m] {
        let s = rep.score(v, "a").unwrap().scores.clone().unwrap();
        assert_eq!(s.n, 11 * 12);
        assert!(s.rmse < 1e-6, "{v:?} {}", s.rmse);
        let b = rep.score(v, "b").unwrap().scores.clone().unwrap();
        assert!((b.bias - 0.2).abs() < 1e-5);
    }
    // With noise, the RMSE of member a estimates the noise standard deviation
    // (11 sites x 12 years = 132 ALT values; sd 0.1 m, so 0.1 +- about 0.02).
    let noise = SyntheticNoise {
        alt: 0.1,
        ttop: 0.3,
        gt10m: 0.3,
    };
    let obs = write_synthetic_boreholes(
        &dir.path().join("truth.nc"),
        &dir.path().join("syn_noisy.csv"),
        11,
        &noise,
        42,
    )
    .unwrap();
    assert_eq!(obs, synthetic_boreholes(&truth, 11, &noise, 42).unwrap());
    cfg.observations = dir.path().join("syn_noisy.csv");
    cfg.out_dir = dir.path().join("v1");
    let rep = validate(&cfg).unwrap();
    let alt = rep
        .score(ObsVariable::Alt, "a")
        .unwrap()
        .scores
        .clone()
        .unwrap();
    assert!((alt.rmse - 0.1).abs() < 0.025, "ALT RMSE {}", alt.rmse);
    let gt = rep
        .score(ObsVariable::Gt10m, "a")
        .unwrap()
        .scores
        .clone()
        .unwrap();
    assert!((gt.rmse - 0.3).abs() < 0.075, "GT10m RMSE {}", gt.rmse);
    // Every site has 12 years: the trend table covers 11 sites x 3 variables x 3 slots.
    assert_eq!(rep.trends.len(), 11 * 3 * 3);
}

#[test]
fn netcdf_elevation_and_geotiff_sensitive_mask() {
    let _serial = serial();
    use calimap::forcing::synthetic::{static_maps, write_static_maps};
    use calimap::validate::run::read_sensitive;
    let f = fixture();
    // Elevations of the synthetic plateau on the product grid.
    let maps = static_maps(&grid().to_grid().unwrap(), 3);
    write_static_maps(&f.root.join("static.nc"), &maps).unwrap();
    // A u8 mask with cell (2, 2) (site B) sensitive, 255 nodata.
    let mut m = vec![0u8; 12];
    m[2 * 4 + 2] = 1;
    m[0] = 255;
    write_geotiff(
        f.root.join("sens.tif"),
        &Raster::new(grid(), m, Some(255)).unwrap(),
    )
    .unwrap();
    let mask = read_sensitive(&f.root.join("sens.tif"), &grid()).unwrap();
    assert_eq!(mask.iter().filter(|x| **x).count(), 1);
    assert!(mask[10]);
    let mut cfg = ValidationConfig::new(
        f.root.join("product.nc"),
        f.root.join("obs.csv"),
        f.root.join("r"),
    );
    cfg.elevation = Some(f.root.join("static.nc"));
    cfg.sensitive = Some(f.root.join("sens.tif"));
    cfg.plots = false;
    let rep = validate(&cfg).unwrap();
    let gt = rep
        .matched
        .pairs
        .iter()
        .find(|p| p.variable == ObsVariable::Gt10m && p.member == "a")
        .unwrap();
    assert!(!gt.independent);
    // Site B at 4800 m, cell (2, 2) at the plateau's elevation there; member a
    // GT10m in 2003 = -0.5 - 0.2 + 0.09.
    let dz = 4800.0 - maps.elevation[10];
    let expect = -0.5 - 0.2 + 0.09 - 0.0065 * dz;
    assert!((gt.sim - expect).abs() < 1e-4, "{} vs {expect}", gt.sim);
    // The netCDF file stores elevations in single precision.
    assert!((gt.lapse_correction.unwrap() + 0.0065 * dz).abs() < 1e-4);
    assert!(rep
        .matched
        .pairs
        .iter()
        .filter(|p| p.site_id == "A")
        .all(|p| p.independent));
}

#[test]
fn validate_from_an_experiment_section() {
    let _serial = serial();
    let f = fixture();
    std::fs::write(
        f.root.join("exp.toml"),
        "kind = \"calibration\"\noutput = \"out/cal\"\n[validation]\n\
         product = \"product.nc\"\nobservations = \"obs.csv\"\nmethod = \"bilinear\"\n\
         sensitive = \"sensitive.csv\"\nplots = false\n",
    )
    .unwrap();
    let exp = f.root.join("exp.toml").to_string_lossy().into_owned();
    let out = calimap(&["validate", "--experiment", &exp]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = f.root.join("out/cal/validation");
    assert!(dir.join("summary.md").is_file());
    assert!(!dir.join("scatter_ALT.png").exists());
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("matching: bilinear"), "{md}");
    // An unknown key in the section names the file and line.
    std::fs::write(
        f.root.join("bad.toml"),
        "kind = \"calibration\"\n[validation]\nproduct = \"product.nc\"\nobservations = \"obs.csv\"\nmetod = \"nearest\"\n",
    )
    .unwrap();
    let bad = f.root.join("bad.toml").to_string_lossy().into_owned();
    let out = calimap(&["validate", "--experiment", &bad]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:5") && err.contains("metod"), "{err}");
}
