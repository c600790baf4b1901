//! `calimap kappa` on tiny GeoTIFFs written by the test.

use std::path::Path;
use std::process::Command;

use calimap::io::geotiff::{write_geotiff, Raster, RasterGrid};

fn write_map(path: &Path, grid: RasterGrid, codes: &[u8]) {
    write_geotiff(path, &Raster::new(grid, codes.to_vec(), Some(255)).unwrap()).unwrap();
}

fn kappa(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calimap"))
        .arg("kappa")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kappa_json_for_two_and_three_classes() {
    let dir = tempfile::tempdir().unwrap();
    let grid = RasterGrid::geographic(4, 3, 90.0, 35.0, 0.1, 0.1);
    // The worked example in codes (1 permafrost, 3 not), two nodata cells.
    let reference = [1, 1, 1, 1, 3, 3, 3, 3, 1, 3, 255, 1];
    let simulated = [1, 1, 1, 3, 3, 3, 1, 3, 1, 1, 1, 255];
    let r = dir.path().join("ref.tif");
    let s = dir.path().join("sim.tif");
    write_map(&r, grid, &reference);
    write_map(&s, grid, &simulated);
    let (ok, out, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["kappa"].as_f64().unwrap() - 0.4).abs() < 1e-12, "{out}");
    assert!((v["overall_accuracy"].as_f64().unwrap() - 0.7).abs() < 1e-12);
    assert_eq!(v["n"], 10);
    assert_eq!(v["labels"], serde_json::json!([0, 1]));
    assert_eq!(v["confusion_matrix"], serde_json::json!([[3, 2], [1, 4]]));

    // Three classes with quadratic weights: same cells, seasonally frozen as 2.
    let reference3 = [1, 1, 2, 3, 2, 3, 1, 2, 3, 3, 255, 1];
    let simulated3 = [1, 2, 2, 3, 3, 3, 1, 1, 2, 3, 1, 255];
    write_map(&r, grid, &reference3);
    write_map(&s, grid, &simulated3);
    let (ok, out, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
        "--classes",
        "3",
        "--weights",
        "quadratic",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Confusion (rows ref 1,2,3): [[2,1,0],[1,1,1],[0,1,3]], n = 10.
    assert_eq!(
        v["confusion_matrix"],
        serde_json::json!([[2, 1, 0], [1, 1, 1], [0, 1, 3]])
    );
    // Quadratic: observed sum(w*C) = 1+1+1+1 = 4; row sums 3,3,4, col sums 3,3,4;
    // expected sum(w*E) = (3*3*1 + 3*4*4 + 3*3*1 + 3*4*1 + 4*3*4 + 4*3*1)/10 = 13.8.
    let want = 1.0 - 4.0 / 13.8;
    assert!((v["kappa"].as_f64().unwrap() - want).abs() < 1e-12, "{out}");
}

#[test]
fn mask_limits_the_scored_cells() {
    let dir = tempfile::tempdir().unwrap();
    let grid = RasterGrid::geographic(4, 1, 90.0, 35.0, 0.1, 0.1);
    let r = dir.path().join("ref.tif");
    let s = dir.path().join("sim.tif");
    let m = dir.path().join("mask.tif");
    write_map(&r, grid, &[1, 2, 1, 2]);
    write_map(&s, grid, &[1, 2, 2, 1]);
    // Score only the first two cells (mask 0 and nodata 255 excluded).
    write_map(&m, grid, &[1, 7, 0, 255]);
    let (ok, out, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
        "--mask",
        m.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n"], 2);
    assert_eq!(v["kappa"].as_f64().unwrap(), 1.0);
    // Without the mask all four cells count: po = 0.5, pe = 0.5, Kappa 0.
    let (ok, out, _) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n"], 4);
    assert!(v["kappa"].as_f64().unwrap().abs() < 1e-12);
    // A mask on another grid is an error.
    write_map(
        &m,
        RasterGrid::geographic(2, 2, 90.0, 35.0, 0.1, 0.1),
        &[1; 4],
    );
    let (ok, _, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
        "--mask",
        m.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("mask"), "{err}");
}

#[test]
fn grid_mismatch_and_bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.tif");
    let s = dir.path().join("sim.tif");
    write_map(
        &r,
        RasterGrid::geographic(4, 3, 90.0, 35.0, 0.1, 0.1),
        &[1; 12],
    );
    write_map(
        &s,
        RasterGrid::geographic(3, 4, 90.0, 35.0, 0.1, 0.1),
        &[1; 12],
    );
    let (ok, _, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("grid mismatch") && err.contains("4 x 3"),
        "{err}"
    );

    write_map(
        &s,
        RasterGrid::geographic(4, 3, 90.5, 35.0, 0.1, 0.1),
        &[1; 12],
    );
    let (ok, _, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        s.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("origin"), "{err}");

    let (ok, _, err) = kappa(&[
        "--reference",
        r.to_str().unwrap(),
        "--simulated",
        r.to_str().unwrap(),
        "--classes",
        "4",
    ]);
    assert!(!ok && err.contains("2 or 3"), "{err}");
    let (ok, _, err) = kappa(&[
        "--reference",
        dir.path().join("none.tif").to_str().unwrap(),
        "--simulated",
        r.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("none.tif"), "{err}");
}
