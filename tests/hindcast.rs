//! Gridded hindcasts on small generated synthetic domains (daily steps, two
//! transient years): products and their georeferencing, byte-identical
//! outputs for any thread count and any tiling, the ensemble mean, resume
//! from checkpoints, and clear errors on bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use calimap::config::{Body, Experiment};
use calimap::io::geotiff::{read_geotiff, Crs, RasterGrid};
use calimap::io::netcdf_out::read_annual_netcdf;
use calimap::workflow::domain::DomainSetup;
use calimap::workflow::hindcast::{
    hindcast_members, run_hindcast, write_tile_file, HindcastOptions, TileReader, TileSpec,
};

const BIN: &str = env!("CARGO_BIN_EXE_calimap");

/// The tests run one at a time: HDF5 holds `flock` locks on open files, and a
/// child process spawned by one test while another test of this process has
/// a netCDF file open would inherit that lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Write an experiment in `dir` on a domain generated in `dom` (nx x ny
/// cells, daily, 2000-2001); `extra` is appended (an ensemble section, a cell
/// subset via `cells_line`).
fn experiment(
    dir: &Path,
    dom: &Path,
    nx: usize,
    ny: usize,
    cells_line: &str,
    extra: &str,
) -> PathBuf {
    let text = format!(
        r#"kind = "hindcast"
name = "t"
output = "out"
[model]
tables = "{tables}"
[domain]
forcing = "cmfd"
forcing_dir = "{dom}/forcing"
static = "{dom}/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
generate = {{ nx = {nx}, ny = {ny}, years = 2, step = "1d", seed = 11 }}
{cells_line}
[spinup]
max_cycles = 3
[period]
spinup = [2000, 2000]
start = 2000
end = 2001
{extra}
"#,
        tables = concat!(env!("CARGO_MANIFEST_DIR"), "/models/noah-tibet"),
        dom = dom.display()
    );
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn members(dir: &Path) -> &'static str {
    std::fs::write(dir.join("a.toml"), "[values]\n\"general.csoil\" = 1.8e6\n").unwrap();
    std::fs::write(
        dir.join("b.toml"),
        "[values]\n\"general.csoil\" = 2.3e6\n\"soil.bb\" = 5.5\n",
    )
    .unwrap();
    "[ensemble]\nmembers = [\"a.toml\", \"b.toml\"]\n"
}

fn calimap(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the calimap binary runs")
}

fn ok(args: &[&str]) {
    let o = calimap(args);
    assert!(
        o.status.success(),
        "calimap {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn fails(args: &[&str]) -> String {
    let o = calimap(args);
    assert!(!o.status.success(), "calimap {args:?} should fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir` except the manifests and tile files, relative.
fn product_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            if p.is_dir() {
                if rel != Path::new("tiles") {
                    walk(base, &p, out);
                }
            } else if rel != Path::new("manifest.json") {
                out.push(rel);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

fn assert_same_products(a: &Path, b: &Path) {
    let fa = product_files(a);
    assert_eq!(
        fa,
        product_files(b),
        "the same files in {} and {}",
        a.display(),
        b.display()
    );
    for f in &fa {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{} differs between {} and {}",
            f.display(),
            a.display(),
            b.display()
        );
    }
}

fn load(exp: &Path) -> (Experiment, DomainSetup) {
    let e = Experiment::load(exp).unwrap();
    let Body::Hindcast(h) = &e.body else {
        panic!("a hindcast")
    };
    let s = DomainSetup::from_sections(&e.path, &h.domain, &h.model, &h.spinup, &h.period).unwrap();
    (e, s)
}

#[test]
fn threads_and_tiles_give_byte_identical_products_with_the_right_georeferencing() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ens = members(d);
    let exp = experiment(d, &d.join("dom"), 10, 5, "", ens);
    let e = exp.to_str().unwrap();
    let out = |n: &str| d.join(n).to_str().unwrap().to_string();
    ok(&["run", e, "--out", &out("two"), "--threads", "2", "--quiet"]);
    ok(&["run", e, "--out", &out("one"), "--threads", "1", "--quiet"]);
    ok(&["run", e, "--out", &out("tiled"), "--tile", "2/2", "--quiet"]);
    ok(&["run", e, "--out", &out("tiled"), "--tile", "1/2", "--quiet"]);
    ok(&["merge", e, "--out", &out("tiled"), "--quiet"]);
    assert_same_products(&d.join("two"), &d.join("one"));
    assert_same_products(&d.join("two"), &d.join("tiled"));
    assert!(
        !d.join("two/.partial").exists(),
        "checkpoints are removed after the run"
    );

    // products and their tags
    let (_, setup) = load(&exp);
    let grid = RasterGrid::from_grid(setup.grid()).unwrap();
    let o = d.join("two");
    for f in [
        "class_2000.tif",
        "class_2001.tif",
        "members/a/class_2001.tif",
        "members/b/class_2000.tif",
        "agreement/agreement_2001.tif",
        "agreement/alt_spread_2001.tif",
        "class_2001.png",
        "agreement.png",
        "alt_spread.png",
        "hindcast.nc",
        "failures.csv",
        "summary.json",
        "manifest.json",
    ] {
        assert!(o.join(f).is_file(), "{f} is written");
    }
    let class = read_geotiff::<u8>(o.join("class_2001.tif")).unwrap();
    assert_eq!(class.grid, grid);
    assert_eq!(class.grid.crs, Crs::Geographic(4326));
    assert_eq!(class.nodata, Some(255));
    let land: Vec<bool> = setup.maps.mask.iter().map(|&m| m == 0).collect();
    assert!(
        land.iter().any(|l| !l),
        "the test domain has a lake or glacier cell"
    );
    for (k, &v) in class.data.iter().enumerate() {
        if land[k] {
            assert!((1..=3).contains(&v), "land cell {k} is classified, got {v}");
        } else {
            assert_eq!(v, 255, "masked cell {k} is nodata");
        }
    }
    let agree = read_geotiff::<f32>(o.join("agreement/agreement_2001.tif")).unwrap();
    assert_eq!(agree.grid, grid);
    assert_eq!(agree.nodata, Some(-9999.0));
    // the netCDF holds the members and the ensemble mean, whose class is the top-level map
    let stack = read_annual_netcdf(o.join("hindcast.nc")).unwrap();
    assert_eq!(stack.members, ["a", "b", "ensemble-mean"]);
    assert_eq!(stack.years, [2000, 2001]);
    assert_eq!(stack.class_raster(2, 1).unwrap().data, class.data);
    let member_a = read_geotiff::<u8>(o.join("members/a/class_2001.tif")).unwrap();
    assert_eq!(stack.class_raster(0, 1).unwrap().data, member_a.data);
    // agreement is the share of members with permafrost
    let member_b = read_geotiff::<u8>(o.join("members/b/class_2001.tif")).unwrap();
    for (k, &is_land) in land.iter().enumerate() {
        if is_land {
            let pf = (member_a.data[k] == 1) as u8 + (member_b.data[k] == 1) as u8;
            assert_eq!(agree.data[k], pf as f32 / 2.0);
        }
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cells"], land.iter().filter(|l| **l).count());
    assert_eq!(summary["failed_runs"], 0);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o.join("manifest.json")).unwrap()).unwrap();
    let inputs: Vec<String> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        inputs.iter().any(|p| p.ends_with("static.nc")),
        "{inputs:?}"
    );
    assert!(
        inputs.iter().any(|p| p.ends_with("temp_2000.nc")),
        "{inputs:?}"
    );
    assert!(inputs.iter().any(|p| p.ends_with("b.toml")), "{inputs:?}");
}

#[test]
fn ensemble_mean_of_identical_members_equals_the_single_run() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let exp = experiment(
        d,
        &d.join("dom"),
        6,
        4,
        "cells = [[0, 0], [1, 2], [2, 4], [3, 5]]",
        "",
    );
    let (_, setup) = load(&exp);
    let opts = HindcastOptions {
        quiet: true,
        ..Default::default()
    };
    let single = vec![("x".to_string(), vec![])];
    let same = vec![
        ("x".to_string(), vec![]),
        ("y".to_string(), vec![]),
        ("z".to_string(), vec![]),
    ];
    run_hindcast(&setup, &single, &d.join("single"), &opts).unwrap();
    let s = run_hindcast(&setup, &same, &d.join("same"), &opts).unwrap();
    assert_eq!(s.cells, 4);
    let a = read_annual_netcdf(d.join("single/hindcast.nc")).unwrap();
    let b = read_annual_netcdf(d.join("same/hindcast.nc")).unwrap();
    assert_eq!(a.members, ["x"]);
    assert_eq!(b.members, ["x", "y", "z", "ensemble-mean"]);
    for t in 0..2 {
        assert_eq!(a.class_raster(0, t).unwrap(), b.class_raster(3, t).unwrap());
        for f in ["alt", "magt", "ttop", "gt10m"] {
            let x = a.field_raster(f, 0, t).unwrap().data;
            let y = b.field_raster(f, 3, t).unwrap().data;
            assert_eq!(
                x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
    for y in ["class_2000.tif", "class_2001.tif"] {
        assert_eq!(
            std::fs::read(d.join("single").join(y)).unwrap(),
            std::fs::read(d.join("same").join(y)).unwrap()
        );
    }
    // identical members agree everywhere: share 0 or 1, no ALT spread
    let agree = read_geotiff::<f32>(d.join("same/agreement/agreement_2001.tif")).unwrap();
    let spread = read_geotiff::<f32>(d.join("same/agreement/alt_spread_2001.tif")).unwrap();
    let classified = a.class_raster(0, 1).unwrap().data;
    for (k, &c) in classified.iter().enumerate() {
        match c {
            255 => assert_eq!(agree.data[k], -9999.0),
            1 => {
                assert_eq!(agree.data[k], 1.0);
                assert_eq!(spread.data[k], 0.0);
            }
            _ => assert_eq!(agree.data[k], 0.0),
        }
    }
}

#[test]
fn a_rerun_resumes_from_checkpoints() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let exp = experiment(
        d,
        &d.join("dom"),
        6,
        4,
        "cells = [[0, 1], [2, 3], [3, 0]]",
        "",
    );
    let (e, setup) = load(&exp);
    let Body::Hindcast(h) = &e.body else {
        unreachable!()
    };
    let (members, _) = hindcast_members(&setup, &e.path, h).unwrap();
    let opts = HindcastOptions {
        quiet: true,
        ..Default::default()
    };
    // A one-tile run writes the same blocks a checkpoint holds; plant one
    // with a recognisable failure where the rerun looks for its chunk.
    let tiled = HindcastOptions {
        tile: Some(TileSpec { index: 1, count: 1 }),
        ..opts.clone()
    };
    run_hindcast(&setup, &members, &d.join("t"), &tiled).unwrap();
    let r = TileReader::open(&d.join("t/tiles/tile-1-of-1.bin")).unwrap();
    let header = r.header.clone();
    let mut blocks = r.read_all().unwrap();
    assert_eq!(blocks.len(), 1);
    blocks[0].outcomes[1][0] = Err("planted checkpoint".into());
    let out = d.join("resumed");
    std::fs::create_dir_all(out.join(".partial")).unwrap();
    write_tile_file(&out.join(".partial/cells-0-3.bin"), &header, &blocks).unwrap();
    let s = run_hindcast(&setup, &members, &out, &opts).unwrap();
    assert_eq!(s.failed_runs, 1);
    let failures = std::fs::read_to_string(out.join("failures.csv")).unwrap();
    assert!(
        failures.contains("planted checkpoint") && failures.contains("default,2,3,"),
        "{failures}"
    );
    assert!(!out.join(".partial").exists());
    // a checkpoint of another run (other fingerprint) is ignored
    let mut other = header.clone();
    other.fingerprint = "0".repeat(64);
    std::fs::create_dir_all(out.join(".partial")).unwrap();
    write_tile_file(&out.join(".partial/cells-0-3.bin"), &other, &blocks).unwrap();
    let s = run_hindcast(&setup, &members, &out, &opts).unwrap();
    assert_eq!(s.failed_runs, 0);
}

#[test]
fn bad_inputs_fail_with_clear_messages() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let subset = "cells = [[0, 0], [1, 1]]";

    // missing static file (and nothing to generate it)
    let exp = experiment(d, &d.join("dom"), 6, 4, subset, "");
    let text = std::fs::read_to_string(&exp)
        .unwrap()
        .replace("generate = ", "# generate = ");
    std::fs::write(&exp, text).unwrap();
    let err = fails(&["run", exp.to_str().unwrap(), "--quiet"]);
    assert!(
        err.contains("domain.static") && err.contains("does not exist"),
        "{err}"
    );

    // static maps of another grid than the forcing
    let demo = |name: &str, nx: &str| {
        let p = d.join(name);
        ok(&[
            "demo",
            "--out",
            p.to_str().unwrap(),
            "--nx",
            nx,
            "--ny",
            "4",
            "--years",
            "2",
            "--step",
            "1d",
            "--seed",
            "11",
        ]);
    };
    demo("small", "5");
    demo("mixed", "6");
    let g = d.join("g");
    std::fs::create_dir_all(&g).unwrap();
    let mixed = experiment(&g, &d.join("mixed"), 6, 4, subset, "");
    let text = std::fs::read_to_string(&mixed).unwrap().replace(
        &format!("static = \"{}/mixed/static.nc\"", d.display()),
        &format!("static = \"{}/small/static.nc\"", d.display()),
    );
    std::fs::write(&mixed, text).unwrap();
    let err = fails(&["run", mixed.to_str().unwrap(), "--quiet"]);
    assert!(
        err.contains("grid mismatch") && err.contains("static"),
        "{err}"
    );

    // an unknown parameter key names the file and the key
    let u = d.join("u");
    std::fs::create_dir_all(&u).unwrap();
    std::fs::write(u.join("bad.toml"), "[values]\n\"soil.bexp\" = 5.0\n").unwrap();
    let exp = experiment(
        &u,
        &d.join("small"),
        5,
        4,
        subset,
        "[ensemble]\nmembers = [\"bad.toml\"]\n",
    );
    let err = fails(&["run", exp.to_str().unwrap(), "--quiet"]);
    assert!(
        err.contains("bad.toml") && err.contains("soil.bexp"),
        "{err}"
    );
    std::fs::write(
        u.join("bad.toml"),
        "[values]\n\"general.csoil\" = \"high\"\n",
    )
    .unwrap();
    let err = fails(&["run", exp.to_str().unwrap(), "--quiet"]);
    assert!(
        err.contains("bad.toml:2") && err.contains("general.csoil"),
        "{err}"
    );

    // a missing tile at merge, and an experiment changed after the tiles ran
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    let exp = experiment(&m, &d.join("small"), 5, 4, subset, "");
    let e = exp.to_str().unwrap();
    ok(&["run", e, "--tile", "1/2", "--quiet"]);
    let err = fails(&["merge", e, "--quiet"]);
    assert!(err.contains("missing tile(s) 2/2"), "{err}");
    ok(&["run", e, "--tile", "2/2", "--quiet"]);
    let text = std::fs::read_to_string(&exp)
        .unwrap()
        .replace("max_cycles = 3", "max_cycles = 4");
    std::fs::write(&exp, text).unwrap();
    let err = fails(&["merge", e, "--quiet"]);
    assert!(err.contains("fingerprint differs"), "{err}");
    let err = fails(&["run", e, "--tile", "3/2", "--quiet"]);
    assert!(err.contains("3/2"), "{err}");
}
