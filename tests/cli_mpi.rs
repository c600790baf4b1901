//! `calimap run --mpi` on a build without the `mpi` feature must fail with a
//! clear message instead of silently running on one machine.
#![cfg(not(feature = "mpi"))]

use std::process::Command;

#[test]
fn run_with_mpi_flag_fails_clearly_without_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let experiment = dir.path().join("experiment.toml");
    std::fs::write(&experiment, "kind = \"hindcast\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_calimap"))
        .arg("run")
        .arg(&experiment)
        .arg("--mpi")
        .output()
        .expect("calimap should start");
    assert!(
        !out.status.success(),
        "`run --mpi` must fail in a build without MPI"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without MPI support") && stderr.contains("--features mpi"),
        "unclear message: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing may run: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn mpi_selftest_is_absent_without_the_feature() {
    let out = Command::new(env!("CARGO_BIN_EXE_calimap"))
        .args(["mpi-selftest", "--out", "/dev/null"])
        .output()
        .expect("calimap should start");
    assert!(!out.status.success());
}
