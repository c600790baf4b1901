//! GeoTIFF reading of the real QTP survey rasters and write/read round trips,
//! checked against GDAL where `gdalinfo` is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use calimap::io::geotiff::{
    read_geotiff, read_geotiff_any, write_geotiff, AnyRaster, Crs, Raster, RasterGrid,
};

/// The shared data folder, or `None` (after a note) when it is absent outside CI.
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CALIMAP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("shared data not found at {}", dir.display());
    }
    eprintln!("note: shared data not found at {}; skipping", dir.display());
    None
}

fn gdalinfo_json(path: &Path) -> Option<serde_json::Value> {
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        // Never leave .aux.xml side-car files next to the inputs.
        .env("GDAL_PAM_ENABLED", "NO")
        .output();
    match out {
        Ok(o) if o.status.success() => Some(serde_json::from_slice(&o.stdout).unwrap()),
        Ok(o) => panic!(
            "gdalinfo failed on {}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => {
            eprintln!("note: gdalinfo is not installed; GDAL cross-check skipped");
            None
        }
    }
}

fn mean_valid(v: &[f64]) -> (f64, f64, f64, usize) {
    let valid: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let n = valid.len();
    let mean = valid.iter().sum::<f64>() / n as f64;
    let min = valid.iter().copied().fold(f64::INFINITY, f64::min);
    let max = valid.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, min, max, n)
}

#[test]
fn reads_real_survey_map_u8_lzw() {
    let Some(dir) = shared_data() else { return };
    let r: Raster<u8> = read_geotiff(dir.join("qtp-survey/investigation_map.tif")).unwrap();
    assert_eq!((r.grid.cols, r.grid.rows), (192, 121));
    assert_eq!(r.grid.crs, Crs::Geographic(4326));
    assert_eq!(r.nodata, Some(3));
    let t = r.grid.transform;
    // GDAL: Origin = (98.458017987663766, 36.170243198261794), pixel 0.009622504490074.
    assert!((t.x_origin - 98.458017987663766).abs() < 1e-12);
    assert!((t.y_origin - 36.170243198261794).abs() < 1e-12);
    assert!((t.dx - 0.009622504490074).abs() < 1e-14);
    assert!((t.dy - 0.009622504490074).abs() < 1e-14);
    // GDAL statistics of the valid pixels: min 1, max 2, mean 1.3228550295858.
    let (mean, min, max, _) = mean_valid(&r.to_f64_nan());
    assert_eq!((min, max), (1.0, 2.0));
    assert!((mean - 1.3228550295858).abs() < 1e-10, "{mean}");
}

#[test]
fn reads_real_float_and_cluster_rasters() {
    let Some(dir) = shared_data() else { return };
    let ddt: Raster<f32> = read_geotiff(dir.join("qtp-survey/DDT_mean_annual.tif")).unwrap();
    // GDAL: NoData -3.4028235e+38, min 287.38446044922, mean 2088.5515523309.
    assert_eq!(ddt.nodata, Some(f32::MIN));
    let (mean, min, max, _) = mean_valid(&ddt.to_f64_nan());
    assert!((min - 287.38446044922).abs() < 1e-6, "{min}");
    assert!((max - 3975.624).abs() < 1e-3, "{max}");
    assert!((mean - 2088.5515523309).abs() < 1e-4, "{mean}");

    let soil = read_geotiff_any(dir.join("qtp-survey/soil_cluster.tif")).unwrap();
    let AnyRaster::U8(soil) = soil else {
        panic!("soil clusters should be u8")
    };
    assert_eq!(soil.nodata, Some(15));
    let (mean, min, max, _) = mean_valid(&soil.to_f64_nan());
    assert_eq!((min, max), (1.0, 8.0));
    assert!((mean - 7.2232868244437).abs() < 1e-10, "{mean}");
    soil.grid.check_same(&ddt.grid).unwrap();

    // Asking for the wrong pixel type is an error naming the file and types.
    let e = read_geotiff::<f32>(dir.join("qtp-survey/soil_cluster.tif")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("soil_cluster.tif") && msg.contains("u8") && msg.contains("f32"),
        "{msg}"
    );
}

fn demo_grid(crs: Crs) -> RasterGrid {
    let mut g = RasterGrid::geographic(5, 3, 90.0, 36.0, 0.1, 0.1);
    if let Crs::Projected(_) = crs {
        g.transform.x_origin = 500_000.0;
        g.transform.y_origin = 3_900_000.0;
        g.transform.dx = 1000.0;
        g.transform.dy = 1000.0;
    }
    g.crs = crs;
    g
}

#[test]
fn u8_and_f32_round_trip_and_gdal_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let grid = demo_grid(Crs::WGS84);
    let classes: Vec<u8> = (0..15).map(|i| [1, 2, 3, 255][i % 4]).collect();
    let r8 = Raster::new(grid, classes.clone(), Some(255u8)).unwrap();
    let p8 = dir.path().join("class.tif");
    write_geotiff(&p8, &r8).unwrap();
    let back: Raster<u8> = read_geotiff(&p8).unwrap();
    assert_eq!(back, r8);

    let vals: Vec<f32> = (0..15)
        .map(|i| {
            if i == 7 {
                -9999.0
            } else {
                i as f32 * 0.25 - 1.0
            }
        })
        .collect();
    let rf = Raster::new(grid, vals, Some(-9999.0f32)).unwrap();
    let pf = dir.path().join("alt.tif");
    write_geotiff(&pf, &rf).unwrap();
    let back: Raster<f32> = read_geotiff(&pf).unwrap();
    assert_eq!(back, rf);
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    for (path, nodata, ty) in [(&p8, 255.0, "Byte"), (&pf, -9999.0, "Float32")] {
        let Some(info) = gdalinfo_json(path) else {
            return;
        };
        let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
        assert!(
            wkt.contains("WGS 84") && wkt.contains("ID[\"EPSG\",4326]"),
            "{wkt}"
        );
        let gt: Vec<f64> = info["geoTransform"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let want = [90.0, 0.1, 0.0, 36.0, 0.0, -0.1];
        for (a, b) in gt.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{gt:?}");
        }
        assert_eq!(info["size"], serde_json::json!([5, 3]));
        let band = &info["bands"][0];
        assert_eq!(band["type"], ty);
        assert_eq!(band["noDataValue"].as_f64().unwrap(), nodata);
        assert_eq!(
            info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"],
            serde_json::json!("LZW")
        );
    }
}

#[test]
fn projected_crs_round_trip_and_gdal_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let grid = demo_grid(Crs::Projected(32646));
    let r = Raster::new(grid, vec![1u8; 15], None).unwrap();
    let p = dir.path().join("utm.tif");
    write_geotiff(&p, &r).unwrap();
    let back: Raster<u8> = read_geotiff(&p).unwrap();
    assert_eq!(back.grid.crs, Crs::Projected(32646));
    assert_eq!(back.nodata, None);
    let Some(info) = gdalinfo_json(&p) else {
        return;
    };
    let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(
        wkt.contains("UTM zone 46N") && wkt.contains("ID[\"EPSG\",32646]"),
        "{wkt}"
    );
    assert_eq!(info["geoTransform"][0].as_f64().unwrap(), 500_000.0);
    assert_eq!(info["geoTransform"][3].as_f64().unwrap(), 3_900_000.0);
    assert!(info["bands"][0].get("noDataValue").is_none());
}

#[test]
fn bad_inputs_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tif");
    let e = read_geotiff::<u8>(&missing).unwrap_err();
    assert!(e.to_string().contains("missing.tif"));
    let junk = dir.path().join("junk.tif");
    std::fs::write(&junk, b"this is not a tiff").unwrap();
    let e = read_geotiff_any(&junk).unwrap_err();
    assert!(e.to_string().contains("junk.tif"));
    // Data that does not fill the grid.
    assert!(Raster::new(demo_grid(Crs::WGS84), vec![0u8; 14], None).is_err());
    // A grid check that names the difference.
    let a = demo_grid(Crs::WGS84);
    let mut b = a;
    b.transform.x_origin += 0.05;
    let e = a.check_same(&b).unwrap_err().to_string();
    assert!(e.contains("origin"), "{e}");
    let mut c = a;
    c.cols = 6;
    assert!(a.check_same(&c).unwrap_err().to_string().contains("6 x 3"));
}

#[test]
fn grid_geometry_helpers() {
    let g = demo_grid(Crs::WGS84);
    let (x, y) = g.cell_center(0, 0);
    assert!((x - 90.05).abs() < 1e-12 && (y - 35.95).abs() < 1e-12);
    assert_eq!(g.cell_at(90.05, 35.95), Some((0, 0)));
    assert_eq!(g.cell_at(90.49, 35.71), Some((2, 4)));
    assert_eq!(g.cell_at(90.51, 35.95), None);
    assert_eq!(g.cell_at(90.05, 36.01), None);
    assert_eq!(g.x_centers().len(), 5);
    assert!((g.y_centers()[2] - 35.75).abs() < 1e-12);
}
