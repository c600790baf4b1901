//! The MPI engine under `mpirun` (cargo feature `mpi`): the outputs gathered on
//! rank 0 must equal the local (rayon) engine's byte for byte for an uneven
//! workload at 2 and 3 ranks (3 ranks oversubscribe a 2-core machine), item
//! failures must come back as values, and a panicking item must end the run
//! with a clear error on every rank instead of a hang.
//!
//! `calimap run --mpi` on a small demo hindcast and a short demo calibration
//! must write the same products as the rayon run at 2 and 3 ranks, and an MPI
//! hindcast must resume from a checkpoint to the same products.
//!
//! Needs `mpirun` (Debian: openmpi-bin). When it is missing the tests fail if
//! `CI=true`, else print a note and return.
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use calimap::cmd::bench_mpi::{run_synthetic_cell, synthetic_cells, ColumnSummary};
use calimap::domain::distributed::{decode, encode};
use calimap::workflow::hindcast::{write_tile_file, TileReader};

fn mpirun() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("mpirun"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("mpirun was not found on PATH (install openmpi-bin) and CI=true");
        }
        eprintln!("note: mpirun not found on PATH; skipping the MPI tests");
    }
    found
}

/// Run a command with a time limit; kill it and fail when it hangs.
fn run_with_limit(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command should start");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} hung for more than {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn selftest(mpirun: Option<(&Path, usize)>, out: &Path, extra: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_calimap");
    let mut cmd = match mpirun {
        Some((mpirun, ranks)) => {
            let mut c = Command::new(mpirun);
            c.args(["--allow-run-as-root", "--oversubscribe", "-np"])
                .arg(ranks.to_string())
                .arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.arg("mpi-selftest")
        .args(["--engine", if mpirun.is_some() { "mpi" } else { "local" }])
        .args(["--cells", "150", "--chunk", "4", "--threads", "1", "--out"])
        .arg(out)
        .args(extra)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // Containers often forbid the cross-memory-attach copy of shared-memory transport.
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    run_with_limit(cmd, Duration::from_secs(420))
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mpi_gathers_the_same_bytes_as_the_local_engine_at_2_and_3_ranks() {
    let Some(mpirun) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();

    let local = dir.path().join("local.bin");
    let out = selftest(None, &local, &[]);
    assert_ok(&out, "local self-test");
    let local_bytes = std::fs::read(&local).unwrap();

    // The local engine agrees with a plain serial loop over the same cells.
    let serial: Vec<Result<ColumnSummary, String>> = synthetic_cells(150, 1)
        .iter()
        .map(run_synthetic_cell)
        .collect();
    assert_eq!(local_bytes, encode(&serial).unwrap());
    assert!(
        serial.iter().any(|r| r.is_err()),
        "some cells fail as values"
    );
    assert!(serial
        .iter()
        .any(|r| matches!(r, Ok(s) if s.zero_amplitude_depth.is_nan())));

    for ranks in [2usize, 3] {
        let path = dir.path().join(format!("np{ranks}.bin"));
        let out = selftest(Some((&mpirun, ranks)), &path, &[]);
        assert_ok(&out, &format!("mpirun -np {ranks}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("\"ranks\":{ranks}")),
            "rank 0 should report {ranks} ranks: {stdout}"
        );
        assert_eq!(
            stdout.matches("\"engine\":\"mpi\"").count(),
            1,
            "only rank 0 reports: {stdout}"
        );
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), local_bytes.len(), "-np {ranks}: output size");
        assert!(
            bytes == local_bytes,
            "-np {ranks}: outputs differ from the local engine"
        );
        let back: Vec<Result<ColumnSummary, String>> = decode(&bytes).unwrap();
        assert_eq!(back.len(), 150);
        assert!(matches!(&back[5], Err(m) if m == "cell 5: synthetic failure"));
    }
}

#[test]
fn a_panicking_cell_ends_the_mpi_run_with_an_error_not_a_hang() {
    let Some(mpirun) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("panic.bin");
    let out = selftest(Some((&mpirun, 3)), &path, &["--panic-at", "77"]);
    assert!(!out.status.success(), "the run must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("item 77") && stderr.contains("cell 77 was asked to panic"),
        "the error should name the item: {stderr}"
    );
    assert!(!path.exists(), "no output may be written after a failure");
}

#[test]
fn a_killed_mpi_run_resumes_from_its_checkpoint_with_the_same_bytes() {
    let Some(mpirun) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("checkpoint");
    let ck_arg = ck.to_str().unwrap();
    let path = dir.path().join("resumed.bin");

    // Blocks of 40 cells: 0-40, 40-80, 80-120 finish, then cell 130 panics.
    let out = selftest(
        Some((&mpirun, 3)),
        &path,
        &["--checkpoint", ck_arg, "--block", "40", "--panic-at", "130"],
    );
    assert!(!out.status.success(), "the first run must fail");
    let blocks = std::fs::read_dir(&ck).unwrap().count();
    assert_eq!(blocks, 3, "three finished blocks are kept");

    // The second run, on another rank count, computes only the last block.
    let out = selftest(
        Some((&mpirun, 2)),
        &path,
        &["--checkpoint", ck_arg, "--block", "40"],
    );
    assert_ok(&out, "resumed run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"blocks_reused\":3,\"blocks_computed\":1"),
        "{stdout}"
    );
    let serial: Vec<Result<ColumnSummary, String>> = synthetic_cells(150, 1)
        .iter()
        .map(run_synthetic_cell)
        .collect();
    assert!(std::fs::read(&path).unwrap() == encode(&serial).unwrap());
}

// ---------------------------------------------------------------------------
// `calimap run --mpi`: hindcast and calibration against the rayon run
// ---------------------------------------------------------------------------

/// `calimap ARGS`, under `mpirun -np RANKS` (one rayon thread per rank) when
/// `mpi` is given, else on this machine (two threads).
fn calimap(mpi: Option<(&Path, usize)>, args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_calimap");
    let mut cmd = match mpi {
        Some((mpirun, ranks)) => {
            let mut c = Command::new(mpirun);
            c.args(["--allow-run-as-root", "--oversubscribe", "-np"])
                .arg(ranks.to_string())
                .arg(exe)
                .args(args)
                .args(["--mpi", "--threads", "1"]);
            c
        }
        None => {
            let mut c = Command::new(exe);
            c.args(args);
            if args.first() == Some(&"run") {
                c.args(["--threads", "2"]);
            }
            c
        }
    };
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    run_with_limit(cmd, Duration::from_secs(420))
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// The same files in `a` and `b`, byte for byte, except `skip` (by file name)
/// and `evaluations.csv`, which is compared without its wall-time column.
fn assert_same_outputs(a: &Path, b: &Path, skip: &[&str]) -> usize {
    let fa = files_under(a);
    assert_eq!(fa, files_under(b), "{} and {}", a.display(), b.display());
    let mut compared = 0;
    for f in &fa {
        let name = f.file_name().unwrap().to_str().unwrap();
        if skip.contains(&name) {
            continue;
        }
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        if name == "evaluations.csv" {
            let (x, y) = (without_seconds(&x), without_seconds(&y));
            assert!(x.lines().count() > 1);
            assert_eq!(x, y, "{} differs", f.display());
        } else {
            assert!(
                x == y,
                "{} differs between {} and {}",
                f.display(),
                a.display(),
                b.display()
            );
        }
        compared += 1;
    }
    compared
}

/// An evaluation log without its `seconds` column.
fn without_seconds(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "seconds").unwrap();
    let keep = |l: &str| {
        l.split(',')
            .enumerate()
            .filter(|(i, _)| *i != col)
            .map(|(_, f)| f)
            .collect::<Vec<_>>()
            .join(",")
    };
    std::iter::once(keep(&header.join(",")))
        .chain(lines.map(keep))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The demo-small domain (6 x 5 cells, daily, 2000-2001) from `calimap demo`
/// and a two-member hindcast on it; member `bad` fails on the cells of soil
/// class 7, so failures travel back as values.
fn small_hindcast(dir: &Path) -> PathBuf {
    let dom = dir.join("dom");
    let o = calimap(
        None,
        &[
            "demo",
            "--out",
            dom.to_str().unwrap(),
            "--nx",
            "6",
            "--ny",
            "5",
            "--years",
            "2",
            "--step",
            "1d",
            "--seed",
            "11",
        ],
    );
    assert_ok(&o, "calimap demo");
    std::fs::write(dir.join("a.toml"), "[values]\n\"general.csoil\" = 1.8e6\n").unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        "[values]\n\"general.csoil\" = 2.3e6\n\"soil.bb[7]\" = -1.0\n",
    )
    .unwrap();
    let text = format!(
        r#"kind = "hindcast"
name = "small"
output = "out"
[model]
tables = "{tables}"
[domain]
forcing = "cmfd"
forcing_dir = "dom/forcing"
static = "dom/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
[spinup]
max_cycles = 3
[period]
spinup = [2000, 2000]
start = 2000
end = 2001
[ensemble]
members = ["a.toml", "bad.toml"]
"#,
        tables = concat!(env!("CARGO_MANIFEST_DIR"), "/models/noah-tibet"),
    );
    let p = dir.join("small.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn mpi_hindcast_writes_the_same_products_as_the_rayon_run_at_2_and_3_ranks() {
    let Some(mpirun) = mpirun() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let exp = small_hindcast(d);
    let exp = exp.to_str().unwrap();
    let local = d.join("local");
    let o = calimap(
        None,
        &["run", exp, "--quiet", "--out", local.to_str().unwrap()],
    );
    assert_ok(&o, "local hindcast");
    let failures = std::fs::read_to_string(local.join("failures.csv")).unwrap();
    assert!(failures.contains("b -1 not positive"), "{failures}");
    for ranks in [2usize, 3] {
        let out = d.join(format!("np{ranks}"));
        let o = calimap(
            Some((&mpirun, ranks)),
            &["run", exp, "--out", out.to_str().unwrap()],
        );
        assert_ok(&o, &format!("hindcast at {ranks} ranks"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            stderr.matches("hindcast: 30 cells x 2 members").count(),
            1,
            "rank 0 alone reports: {stderr}"
        );
        assert!(stderr.contains(&format!("mpi: {ranks} ranks")), "{stderr}");
        let n = assert_same_outputs(&local, &out, &["manifest.json"]);
        assert!(n >= 10, "{n} products compared");
        assert!(!out.join(".partial").exists(), "checkpoints are removed");
    }
}

#[test]
fn an_mpi_hindcast_resumes_from_a_checkpoint_with_the_same_products() {
    let Some(mpirun) = mpirun() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let exp = small_hindcast(d);
    let exp = exp.to_str().unwrap();
    let local = d.join("local");
    assert_ok(
        &calimap(
            None,
            &["run", exp, "--quiet", "--out", local.to_str().unwrap()],
        ),
        "local hindcast",
    );
    // A one-tile run holds the blocks checkpoints hold, one per chunk: keep
    // the first chunk (16 cells) as the checkpoint a killed run leaves behind.
    let t = d.join("t");
    assert_ok(
        &calimap(
            None,
            &[
                "run",
                exp,
                "--quiet",
                "--tile",
                "1/1",
                "--out",
                t.to_str().unwrap(),
            ],
        ),
        "one-tile run",
    );
    let r = TileReader::open(&t.join("tiles/tile-1-of-1.bin")).unwrap();
    let mut header = r.header.clone();
    let mut blocks = r.read_all().unwrap();
    assert_eq!(blocks.len(), 2, "chunks of 16 and 14 cells");
    let block = blocks.remove(0);
    assert_eq!((block.first, block.cells.len()), (0, 16));
    header.n_cells = 16;
    let out = d.join("resumed");
    std::fs::create_dir_all(out.join(".partial")).unwrap();
    write_tile_file(&out.join(".partial/cells-0-16.bin"), &header, &[block]).unwrap();

    let o = calimap(
        Some((&mpirun, 3)),
        &["run", exp, "--out", out.to_str().unwrap()],
    );
    assert_ok(&o, "resumed hindcast at 3 ranks");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("resumed 16 cells from checkpoints"),
        "{stderr}"
    );
    assert_same_outputs(&local, &out, &["manifest.json"]);
    assert!(!out.join(".partial").exists());
}

/// A short calibration on an 8 x 6 generated domain: a reference made from
/// hidden parameters, 7 evaluations in batches of 3, the top-2 ensemble.
fn short_calibration(dir: &Path) -> PathBuf {
    let text = format!(
        r#"kind = "calibration"
output = "out"
seed = 5
[model]
tables = "{root}/models/noah-tibet"
[domain]
forcing = "cmfd"
forcing_dir = "data/forcing"
static = "data/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
generate = {{ nx = 8, ny = 6, years = 2, step = "1d", seed = 4 }}
[spinup]
tolerance = 0.05
max_cycles = 4
[period]
spinup = [2000, 2000]
start = 2000
end = 2001
[calibration]
reference = "data/reference_2001.tif"
year = 2001
classes = 2
region = "sensitive"
neighbourhood = 1
parameters = ["bexp", "quartz"]
optimizer = "bo"
budget = 7
q = 3
n_init = 4
top_k = 2
truth = {{ seed = 3, spread = 0.5, parameters = ["bexp", "quartz"] }}
[ensemble]
enabled = true
"#,
        root = env!("CARGO_MANIFEST_DIR"),
    );
    let p = dir.join("cal.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn mpi_calibration_matches_the_rayon_run_at_2_and_3_ranks() {
    let Some(mpirun) = mpirun() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let exp = short_calibration(d);
    let exp = exp.to_str().unwrap();
    // The first run, over MPI, generates the domain and the reference on rank 0.
    let np2 = d.join("np2");
    let o = calimap(
        Some((&mpirun, 2)),
        &["run", exp, "--out", np2.to_str().unwrap()],
    );
    assert_ok(&o, "calibration at 2 ranks");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.matches("\"evaluations\": 7").count(), 1, "{stdout}");
    let local = d.join("local");
    assert_ok(
        &calimap(
            None,
            &["run", exp, "--quiet", "--out", local.to_str().unwrap()],
        ),
        "local calibration",
    );
    let np3 = d.join("np3");
    assert_ok(
        &calimap(
            Some((&mpirun, 3)),
            &["run", exp, "--quiet", "--out", np3.to_str().unwrap()],
        ),
        "calibration at 3 ranks",
    );
    for out in [&np2, &np3] {
        // Everything but the run manifests and the wall-time summary, the
        // evaluation log without its seconds column.
        let n = assert_same_outputs(&local, out, &["manifest.json", "summary.json"]);
        assert!(n >= 20, "{n} outputs compared");
        for f in [
            "best_overrides.toml",
            "best_2001.tif",
            "ensemble/hindcast.nc",
            "top_k.csv",
        ] {
            assert!(local.join(f).is_file(), "{f} missing");
        }
    }
}
