//! Validation at the end of a calibration (`[validation]` with synthetic
//! boreholes from the hidden truth) on the tiny twin domain: the best set
//! without an ensemble, then every member of the top-K ensemble and its mean.
//! The report files exist, the metrics are finite, and a site is flagged
//! independent exactly when its cell lies outside the calibration's region.
//! A hindcast experiment of two calibrated members with its own
//! `[validation]` (truth file, bilinear matching, lapse-rate correction with
//! the domain's elevations) validates through `calimap run`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use calimap::config::{Body, Experiment};
use calimap::io::geotiff::{read_geotiff, Raster};
use calimap::workflow::calibration::{run_calibration, CalibrationSummary};
use common::twin::twin_experiment;
use common::{col, read_csv};

const VALIDATION: &str = "
[validation]
synthetic = true
sites = 14
method = \"nearest\"
years = [2000, 2001]
";

fn run(path: &Path) -> CalibrationSummary {
    let exp = Experiment::load(path).unwrap();
    let Body::Calibration(c) = &exp.body else {
        panic!("a calibration experiment")
    };
    assert!(c.validation.is_some());
    run_calibration(&exp, c, None, true).unwrap()
}

/// Checks common to both runs; returns the member slots of `pairs.csv`.
fn check_validation(out: &Path, s: &CalibrationSummary) -> BTreeSet<String> {
    let v = out.join("validation");
    for f in [
        "synthetic_boreholes.csv",
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
        assert!(v.join(f).is_file(), "{f} missing");
    }
    let brief = s.validation.as_ref().expect("a validation summary");
    assert_eq!(brief.sites, 14, "every synthetic site matched");
    assert!(brief.n_pairs > 0);

    // Observations: ALT, TTOP and GT10m of 2000-2001 at 14 sites, with the
    // elevations of their cells.
    let (h, obs) = read_csv(&v.join("synthetic_boreholes.csv"));
    let sites: BTreeSet<&str> = obs.iter().map(|r| r[col(&h, "site_id")].as_str()).collect();
    assert_eq!(sites.len(), 14);
    assert!(obs
        .iter()
        .all(|r| ["2000", "2001"].contains(&r[col(&h, "year")].as_str())));
    assert!(obs
        .iter()
        .all(|r| r[col(&h, "elevation")].parse::<f64>().unwrap() > 3000.0));
    let vars: BTreeSet<&str> = obs
        .iter()
        .map(|r| r[col(&h, "variable")].as_str())
        .collect();
    assert_eq!(vars, ["ALT", "GT10m", "TTOP"].into_iter().collect());

    // Independence flags follow the calibration's region, cell by cell.
    let region: Raster<u8> = read_geotiff(out.join("region.tif")).unwrap();
    let (h, pairs) = read_csv(&v.join("pairs.csv"));
    let (ir, ic, ii) = (col(&h, "row"), col(&h, "col"), col(&h, "independent"));
    let members: BTreeSet<String> = pairs.iter().map(|p| p[col(&h, "member")].clone()).collect();
    let mut flags = BTreeSet::new();
    for p in &pairs {
        let (r, c): (usize, usize) = (p[ir].parse().unwrap(), p[ic].parse().unwrap());
        let in_region = region.data[r * region.grid.cols + c] != 0;
        let independent: bool = p[ii].parse().unwrap();
        assert_eq!(independent, !in_region, "pair at cell ({r}, {c})");
        flags.insert(independent);
        let (obs, sim): (f64, f64) = (
            p[col(&h, "obs")].parse().unwrap(),
            p[col(&h, "sim")].parse().unwrap(),
        );
        assert!(obs.is_finite() && sim.is_finite());
    }
    assert_eq!(
        flags.len(),
        2,
        "the seeded sites fall inside and outside the region"
    );
    let independent_sites: BTreeSet<&str> = pairs
        .iter()
        .filter(|p| p[ii] == "true")
        .map(|p| p[col(&h, "site_id")].as_str())
        .collect();
    assert_eq!(brief.independent_sites, independent_sites.len());

    // Every score with pairs is finite; RMSE is non-negative.
    let (h, summary) = read_csv(&v.join("summary.csv"));
    let mut scored = 0;
    for r in &summary {
        if r[col(&h, "n")].parse::<usize>().unwrap() == 0 {
            continue;
        }
        scored += 1;
        for k in ["rmse", "bias", "mae"] {
            let x: f64 = r[col(&h, k)].parse().unwrap();
            assert!(x.is_finite(), "{k} in {r:?}");
        }
        assert!(r[col(&h, "rmse")].parse::<f64>().unwrap() >= 0.0);
    }
    assert!(scored >= 3, "{scored} scored rows");
    for m in &brief.rmse {
        let gt = m.gt10m_c.expect("GT10m at every site");
        assert!(gt.is_finite() && gt >= 0.0, "{m:?}");
        for x in [m.alt_m, m.ttop_c].into_iter().flatten() {
            assert!(x.is_finite() && x >= 0.0, "{m:?}");
        }
    }
    assert!(brief.rmse_table().contains("GT10m"));
    members
}

#[test]
fn validation_ends_calibration_and_hindcast_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    // Without an ensemble: the best set is validated (its maps in best_annual.nc).
    let path = dir.path().join("best.toml");
    std::fs::write(&path, twin_experiment(dir.path(), "bo", 5, VALIDATION)).unwrap();
    let s = run(&path);
    assert!(out.join("best_annual.nc").is_file());
    let members = check_validation(&out, &s);
    assert_eq!(members, ["best".to_string()].into_iter().collect());
    let first_obs = std::fs::read(out.join("validation/synthetic_boreholes.csv")).unwrap();
    // `calimap validate --experiment` repeats the run's validation exactly.
    let pairs = std::fs::read(out.join("validation/pairs.csv")).unwrap();
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_calimap"))
        .args(["validate", "--experiment"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        std::fs::read(out.join("validation/pairs.csv")).unwrap(),
        pairs
    );

    // With the top-4 ensemble (the log is replayed): every member and the mean.
    let path = dir.path().join("ensemble.toml");
    let extra = format!("{VALIDATION}[ensemble]\nenabled = true\n");
    std::fs::write(&path, twin_experiment(dir.path(), "bo", 5, &extra)).unwrap();
    let s = run(&path);
    assert_eq!(s.replayed, 5);
    let members = check_validation(&out, &s);
    let want: BTreeSet<String> = ["member1", "member2", "member3", "member4", "ensemble-mean"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(members, want);
    let slots: Vec<&str> = s
        .validation
        .as_ref()
        .unwrap()
        .rmse
        .iter()
        .map(|m| m.member.as_str())
        .collect();
    assert_eq!(slots.last(), Some(&"ensemble-mean"));
    assert_eq!(slots.len(), 5);
    // The same seed samples the same boreholes.
    assert_eq!(
        std::fs::read(out.join("validation/synthetic_boreholes.csv")).unwrap(),
        first_obs
    );

    // A hindcast of two calibrated members on the same domain, validated by `calimap run`.
    let d = dir.path().display();
    let text = format!(
        r#"kind = "hindcast"
output = "{d}/hind"
seed = 9
[model]
tables = "{root}/models/noah-tibet"
[domain]
forcing = "cmfd"
forcing_dir = "{d}/data/forcing"
static = "{d}/data/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
[spinup]
tolerance = 0.05
max_cycles = 4
[period]
spinup = [2000, 2000]
start = 2000
end = 2001
[ensemble]
members = ["out/top/member1.toml", "out/top/member2.toml"]
[validation]
synthetic = true
truth = "data/truth.toml"
sites = 10
sensitive = "out/region.tif"
method = "bilinear"
lapse_rate = -0.0065
"#,
        root = env!("CARGO_MANIFEST_DIR"),
    );
    let hind = dir.path().join("hind.toml");
    std::fs::write(&hind, text).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_calimap"))
        .arg("run")
        .arg(&hind)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // The RMSE table is printed at the end of the run.
    assert!(
        stderr.contains("ALT (m)") && stderr.contains("ensemble-mean"),
        "{stderr}"
    );
    let v = dir.path().join("hind/validation");
    let (h, pairs) = read_csv(&v.join("pairs.csv"));
    let members: BTreeSet<&str> = pairs
        .iter()
        .map(|p| p[col(&h, "member")].as_str())
        .collect();
    assert_eq!(
        members,
        ["member1", "member2", "ensemble-mean"]
            .into_iter()
            .collect()
    );
    let region: Raster<u8> = read_geotiff(out.join("region.tif")).unwrap();
    let mut corrected = 0;
    for p in &pairs {
        let (r, c): (usize, usize) = (
            p[col(&h, "row")].parse().unwrap(),
            p[col(&h, "col")].parse().unwrap(),
        );
        let independent: bool = p[col(&h, "independent")].parse().unwrap();
        assert_eq!(independent, region.data[r * region.grid.cols + c] == 0);
        let lapse = &p[col(&h, "lapse_correction_k")];
        if p[col(&h, "variable")] == "ALT" {
            assert!(lapse.is_empty(), "no lapse correction of ALT");
        } else {
            let k: f64 = lapse.parse().unwrap();
            // Within a few hundred metres of the neighbours' elevations.
            assert!(k.abs() < 3.0, "{k}");
            corrected += 1;
        }
    }
    assert!(corrected > 0);
    let md = std::fs::read_to_string(v.join("summary.md")).unwrap();
    assert!(
        md.contains("lapse-rate correction of temperatures: -6.5 K/km"),
        "{md}"
    );
}
