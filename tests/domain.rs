//! The gridded domain setup on a small generated synthetic domain: every land
//! cell runs, failures are per cell, and results do not depend on the thread count.

use std::path::Path;

use calimap::config::domain::{DomainSection, PeriodSection};
use calimap::config::{ModelSection, SpinupSection};
use calimap::diagnostics::annual::annual_diagnostics;
use calimap::workflow::domain::DomainSetup;

fn setup(dir: &Path) -> DomainSetup {
    let exp = dir.join("exp.toml");
    let domain: DomainSection = toml::from_str(&format!(
        r#"
forcing = "cmfd"
forcing_dir = "{d}/forcing"
static = "{d}/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
generate = {{ nx = 6, ny = 4, years = 3, step = "1d", seed = 7 }}
"#,
        d = dir.display()
    ))
    .unwrap();
    let model: ModelSection = toml::from_str(&format!(
        "tables = \"{}/models/noah-tibet\"",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let spinup = SpinupSection {
        max_cycles: 8,
        ..Default::default()
    };
    let period = PeriodSection {
        spinup: [2000, 2000],
        start: 2000,
        end: 2002,
    };
    DomainSetup::from_sections(&exp, &domain, &model, &spinup, &period).unwrap()
}

#[test]
fn every_land_cell_runs_and_threads_do_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path());
    let cells = s.cells().to_vec();
    assert!(!cells.is_empty() && cells.len() <= 24);
    let members = vec![vec![], vec![("general.csoil".to_string(), 2.4e6)]];
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = one.install(|| s.run(&cells, &members, None)).unwrap();
    let b = two.install(|| s.run(&cells, &members, None)).unwrap();
    assert_eq!(a.len(), 2);
    for m in 0..2 {
        assert_eq!(a[m].len(), cells.len());
        for (x, y) in a[m].iter().zip(&b[m]) {
            let sx = x.result.as_ref().expect("cell runs");
            let sy = y.result.as_ref().expect("cell runs");
            assert_eq!(sx.len(), 3, "three transient years");
            for (p, q) in sx.iter().zip(sy) {
                for (u, v) in p.t_mean.iter().zip(&q.t_mean) {
                    assert_eq!(u.to_bits(), v.to_bits());
                }
            }
        }
    }
    // the synthetic climate spans the permafrost boundary: the top of the
    // ridge is colder than the basin, so the margins differ across cells
    let margins: Vec<f64> = a[0]
        .iter()
        .map(|o| {
            let st = o.result.as_ref().unwrap();
            annual_diagnostics(&st[2], Some(&st[1])).margin
        })
        .collect();
    let lo = margins.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = margins.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(hi - lo > 0.1, "margins {margins:?}");
}

#[test]
fn an_impossible_parameter_fails_that_run_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path());
    let cells = s.cells()[..2].to_vec();
    let members = vec![vec![], vec![("soil.maxsmc".to_string(), -1.0)]];
    let out = s.run(&cells, &members, None).unwrap();
    assert!(out[0].iter().all(|o| o.result.is_ok()));
    assert!(out[1]
        .iter()
        .all(|o| o.result.as_ref().unwrap_err().contains("maxsmc")));
}
