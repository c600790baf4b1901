//! A point run compared with measured ground temperatures (`[observations]`):
//! observations made from a first run's own daily temperatures, shifted by
//! known offsets, give those offsets back as biases; a bad file stops the run
//! before it writes anything.

mod common;

use std::path::{Path, PathBuf};

use calimap::config::{Body, Experiment};
use calimap::workflow::point::run_point;
use common::{col, read_csv};

/// The Tanggula file's layers.
const THICKNESS: [f64; 20] = [
    0.045, 0.046, 0.075, 0.123, 0.204, 0.336, 0.371, 0.3, 0.5, 0.5, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0,
    1.0, 2.0, 2.0, 2.0,
];

fn experiment(dir: &Path, data: &Path, out: &str, observations: Option<&Path>) -> PathBuf {
    let obs = observations
        .map(|p| format!("[observations]\nfile = \"{}\"\n", p.display()))
        .unwrap_or_default();
    experiment_with(dir, data, out, &obs)
}

/// A point experiment on the Tanggula file with `extra` TOML at the end.
fn experiment_with(dir: &Path, data: &Path, out: &str, obs: &str) -> PathBuf {
    let text = format!(
        "kind = \"point\"\noutput = \"{}\"\n[model]\nname = \"noah-tibet\"\ntables = \"{}\"\n\
         surface_layer = \"myj\"\n[forcing]\nformat = \"noah-ascii\"\npath = \"{}\"\n\
         [spinup]\nrecycle_years = 1\ntolerance = 0.05\nmax_cycles = 10\n{obs}",
        dir.join(out).display(),
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models/noah-tibet")
            .display(),
        data.join("tanggula/forcing.txt").display(),
    );
    let path = dir.join(format!("{out}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(path: &Path) -> calimap::Result<calimap::workflow::point::PointSummary> {
    let exp = Experiment::load(path).unwrap();
    let Body::Point(p) = &exp.body else {
        panic!("a point experiment")
    };
    run_point(&exp, p, None, true)
}

/// Linear interpolation between layer midpoints, written out here.
fn at_depth(temps: &[f64], z: f64) -> f64 {
    let mut mids = Vec::new();
    let mut top = 0.0;
    for dz in THICKNESS {
        mids.push(top + dz / 2.0);
        top += dz;
    }
    let k = mids.iter().position(|&m| m >= z).unwrap();
    if k == 0 {
        return temps[0];
    }
    let w = (z - mids[k - 1]) / (mids[k] - mids[k - 1]);
    temps[k - 1] + w * (temps[k] - temps[k - 1])
}

#[test]
fn shifted_daily_temperatures_come_back_as_the_biases() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    run(&experiment(dir.path(), &data, "plain", None)).unwrap();
    let (h, rows) = read_csv(&dir.path().join("plain/daily.csv"));
    let layer: Vec<usize> = (1..=20).map(|k| col(&h, &format!("t{k}_c"))).collect();
    let mut obs = String::from("site,date,depth_m,temperature_c\n");
    let (mut n_shallow, mut n_deep) = (0, 0);
    for (i, r) in rows.iter().enumerate() {
        let date = &r[col(&h, "date")];
        if !date.starts_with("2008") {
            continue;
        }
        let t: Vec<f64> = layer.iter().map(|&c| r[c].parse().unwrap()).collect();
        obs.push_str(&format!("TGL,{date},0.5,{}\n", at_depth(&t, 0.5) + 0.3));
        n_shallow += 1;
        if i % 10 == 0 {
            obs.push_str(&format!("TGL,{date},3.0,{}\n", at_depth(&t, 3.0) - 0.2));
            n_deep += 1;
        }
    }
    obs.push_str("TGL,2008-05-01,1.0,NA\nTGL,2015-01-01,1.0,-3.0\n");
    let file = dir.path().join("borehole.csv");
    std::fs::write(&file, obs).unwrap();

    // Measured ALT: the plain run's less 0.1 m, one year outside the run.
    let (h, annual) = read_csv(&dir.path().join("plain/annual.csv"));
    let mut alt = String::from("year,alt_m\n");
    for r in &annual {
        let a: f64 = r[col(&h, "alt_m")].parse().unwrap();
        alt.push_str(&format!("{},{}\n", r[col(&h, "year")], a - 0.1));
    }
    alt.push_str("2016,2.5\n");
    let alt_file = dir.path().join("calm.csv");
    std::fs::write(&alt_file, alt).unwrap();
    let section = format!(
        "[observations]\nfile = \"{}\"\nalt_file = \"{}\"\n",
        file.display(),
        alt_file.display()
    );
    let s = run(&experiment_with(dir.path(), &data, "observed", &section)).unwrap();
    let a = s.observed_alt.as_ref().unwrap();
    assert_eq!(
        (a.pairs.len(), a.outside_run, a.no_simulated_alt),
        (annual.len(), 1, 0)
    );
    let x = a.scores.as_ref().unwrap();
    assert!(
        (x.bias - 0.1).abs() < 1e-3 && (x.rmse - 0.1).abs() < 1e-3,
        "{x:?}"
    );
    let o = s.observed.as_ref().unwrap();
    assert_eq!((o.outside_run, o.missing), (1, 1));
    assert_eq!(o.depths.len(), 2);
    // daily.csv holds three decimals, so the made-up observations carry up
    // to 0.0005 K of rounding besides their offsets.
    let (shallow, deep) = (&o.depths[0], &o.depths[1]);
    assert_eq!((shallow.depth_m, shallow.scores.n), (0.5, n_shallow));
    assert_eq!((deep.depth_m, deep.scores.n), (3.0, n_deep));
    assert!(
        (shallow.scores.bias + 0.3).abs() < 1e-3,
        "{:?}",
        shallow.scores
    );
    assert!(
        (shallow.scores.rmse - 0.3).abs() < 1e-3,
        "{:?}",
        shallow.scores
    );
    assert!((deep.scores.bias - 0.2).abs() < 1e-3, "{:?}", deep.scores);
    assert!(shallow.scores.r > 0.999 && deep.scores.r > 0.999);
    let out = dir.path().join("observed");
    let (h, rows) = read_csv(&out.join("observed_scores.csv"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][col(&h, "n")], n_deep.to_string());
    let (_, pairs) = read_csv(&out.join("observed_pairs.csv"));
    assert_eq!(pairs.len(), n_shallow + n_deep);
    let (_, alt_pairs) = read_csv(&out.join("observed_alt.csv"));
    assert_eq!(alt_pairs.len(), annual.len());
    for f in [
        "observed_scatter.png",
        "observed_series.png",
        "annual_alt.png",
    ] {
        assert!(
            std::fs::read(out.join(f)).unwrap().starts_with(b"\x89PNG"),
            "{f}"
        );
    }
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("borehole.csv") && manifest.contains("calm.csv"));
    // The run itself is the plain run's.
    assert_eq!(
        std::fs::read(out.join("annual.csv")).unwrap(),
        std::fs::read(dir.path().join("plain/annual.csv")).unwrap()
    );
}

#[test]
fn a_bad_observation_file_stops_the_run_before_any_output() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, text, says) in [
        (
            "kelvin",
            "date,depth_m,temperature_c\n2008-01-01,1.0,270.1\n",
            "kelvin.csv:2:",
        ),
        (
            "deep",
            "date,depth_m,temperature_c\n2008-01-01,1.0,-1\n2008-01-02,14.9,-1\n",
            "deep.csv:3:",
        ),
    ] {
        let file = dir.path().join(format!("{name}.csv"));
        std::fs::write(&file, text).unwrap();
        let e = run(&experiment(dir.path(), &data, name, Some(&file)))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{e}");
        // Values and depths are checked before the run writes anything.
        let written: Vec<_> = std::fs::read_dir(dir.path().join(name))
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(written.is_empty(), "{name}: {written:?}");
    }
    // ALT in centimetres.
    let file = dir.path().join("cm.csv");
    std::fs::write(&file, "year,alt_m\n2008,210\n").unwrap();
    let section = format!("[observations]\nalt_file = \"{}\"\n", file.display());
    let e = run(&experiment_with(dir.path(), &data, "cm", &section))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cm.csv:2:") && e.contains("cm given?"), "{e}");
    assert!(std::fs::read_dir(dir.path().join("cm"))
        .unwrap()
        .next()
        .is_none());
    // An empty section.
    let path = experiment_with(dir.path(), &data, "empty", "[observations]\n");
    let e = Experiment::load(&path).unwrap_err().to_string();
    assert!(e.contains("observations") && e.contains("alt_file"), "{e}");
}
