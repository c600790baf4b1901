//! Every experiment file shipped under `experiments/` parses and validates.

use std::path::PathBuf;

use calimap::config::Experiment;

#[test]
fn every_experiment_file_parses() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut n = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        n += 1;
        if let Err(e) = Experiment::load(&path) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(n >= 3, "expected the shipped experiment files, found {n}");
    assert!(
        failures.is_empty(),
        "experiment files that do not load:\n{}",
        failures.join("\n")
    );
}
