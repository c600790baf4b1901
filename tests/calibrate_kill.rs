//! Kill a real `calimap run` of a model calibration (the tiny twin domain,
//! batches of q = 3 column-model evaluations) with SIGKILL once an
//! evaluation is logged, run the same command again, and check that the
//! evaluation log holds every evaluation exactly once and, like the best
//! parameter files (`best_params.toml`, `best_overrides.toml`), equals that
//! of an uninterrupted run with the same seed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::twin::twin_experiment;

const BIN: &str = env!("CARGO_BIN_EXE_calimap");
const BUDGET: usize = 7;

fn command(experiment: &Path, out: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("run")
        .arg(experiment)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn rows(log: &Path) -> BTreeMap<usize, Vec<String>> {
    common::evallog::rows_by_id(log)
}

/// Complete (newline-terminated) data rows of a log.
fn complete_rows(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|t| t.matches('\n').count().saturating_sub(1))
        .unwrap_or(0)
}

fn run_ok(c: &mut Command) -> serde_json::Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[cfg(unix)]
#[test]
fn sigkill_of_a_model_calibration_then_rerun_equals_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("twin.toml");
    std::fs::write(&exp, twin_experiment(dir.path(), "bo", BUDGET, "")).unwrap();
    let t0 = Instant::now();

    // An uninterrupted run (it also generates the domain and the reference).
    let clean = dir.path().join("clean");
    let s = run_ok(&mut command(&exp, &clean));
    assert_eq!(s["evaluations"], BUDGET);
    assert_eq!(s["replayed"], 0);
    let t_clean = t0.elapsed();

    // The same command, killed with SIGKILL once an evaluation is logged.
    let killed = dir.path().join("killed");
    let log = killed.join("evaluations.csv");
    let mut child = command(&exp, &killed).spawn().unwrap();
    let t1 = Instant::now();
    while complete_rows(&log) < 1 {
        assert!(
            t1.elapsed() < Duration::from_secs(120),
            "the calibration logged nothing"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the calibration ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was not killed: {status}");
    let before = complete_rows(&log);
    assert!(
        (1..BUDGET).contains(&before),
        "{before} evaluations logged at the kill"
    );
    assert!(
        !killed.join("best_params.toml").exists(),
        "the killed run got to its outputs"
    );

    // The same command again: it resumes from the log.
    let s = run_ok(&mut command(&exp, &killed));
    assert_eq!(s["evaluations"], BUDGET);
    assert_eq!(
        s["replayed"].as_u64().unwrap() as usize,
        before,
        "every logged evaluation is replayed, none re-run"
    );

    // No evaluation lost or repeated, and the same evaluations as the clean run.
    let a = rows(&clean.join("evaluations.csv"));
    let b = rows(&log);
    assert_eq!(
        a.keys().copied().collect::<Vec<_>>(),
        (0..BUDGET).collect::<Vec<_>>()
    );
    assert_eq!(a, b);
    assert_eq!(s["kappa_best"], run_summary(&clean)["kappa_best"]);

    // The same best parameters.
    for f in ["best_params.toml", "best_overrides.toml", "top_k.csv"] {
        let a = std::fs::read_to_string(clean.join(f)).unwrap();
        let b = std::fs::read_to_string(killed.join(f)).unwrap();
        assert_eq!(a, b, "{f} differs");
    }
    eprintln!(
        "clean run {:.1} s; killed after {before} of {BUDGET} evaluations; total {:.1} s",
        t_clean.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

fn run_summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}
