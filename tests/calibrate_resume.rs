//! Kill a real calibration process with SIGKILL mid-run, restart it, and check
//! that the evaluation log ends with every evaluation exactly once and equals
//! the log of an uninterrupted run with the same seed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_calimap");
const BUDGET: usize = 40;

fn command(log: &Path, sleep_ms: u64) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "bench",
        "calibrate-testfn",
        "--fn",
        "hartmann6",
        "--optimizer",
        "bo",
        "--budget",
        &BUDGET.to_string(),
        "--q",
        "2",
        "--seed",
        "1",
        "--quiet",
        "--sleep-ms",
        &sleep_ms.to_string(),
        "--log",
    ])
    .arg(log)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

fn rows(log: &Path) -> BTreeMap<usize, Vec<String>> {
    common::evallog::rows_by_id(log)
}

fn data_rows(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn sigkill_mid_run_then_resume_equals_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();

    // An uninterrupted run.
    let clean = dir.path().join("clean.csv");
    let out = command(&clean, 0).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A run killed with SIGKILL after some evaluations are logged.
    let log = dir.path().join("killed.csv");
    let mut child = command(&log, 120).spawn().unwrap();
    let t0 = Instant::now();
    while data_rows(&log) < 15 {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "the calibration logged too little"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the calibration ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());
    let before = data_rows(&log);
    assert!((15..BUDGET).contains(&before), "{before} rows at the kill");

    // Restart: it resumes from the log.
    let out = command(&log, 0).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["evaluations"], BUDGET);
    let replayed = summary["replayed"].as_u64().unwrap() as usize;
    let evaluated = summary["evaluated"].as_u64().unwrap() as usize;
    assert!(replayed >= 15, "replayed {replayed}");
    assert_eq!(replayed + evaluated, BUDGET);

    // No evaluation lost or repeated, and the same evaluations as the clean run.
    let a = rows(&clean);
    let b = rows(&log);
    assert_eq!(
        a.keys().copied().collect::<Vec<_>>(),
        (0..BUDGET).collect::<Vec<_>>()
    );
    assert_eq!(a, b);

    // The same best parameters.
    let best_a = std::fs::read_to_string(dir.path().join("clean-best.toml")).unwrap();
    let best_b = std::fs::read_to_string(dir.path().join("killed-best.toml")).unwrap();
    assert_eq!(best_a, best_b);
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for threads in ["1", "2", "3"] {
        let log = dir.path().join(format!("t{threads}.csv"));
        let out = command(&log, 0)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        logs.push(rows(&log));
    }
    assert_eq!(logs[0].len(), BUDGET);
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[0], logs[2]);
}
