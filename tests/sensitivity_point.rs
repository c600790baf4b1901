//! Point sensitivity studies: a Morris study of the Tanggula column on its
//! Noah forcing, checked against independent point runs and the physics'
//! known signs, and the experiment file's errors.

mod common;

use std::path::{Path, PathBuf};

use calimap::calibrate::registry::{ParamSpace, Registry};
use calimap::config::{Body, Experiment};
use calimap::workflow::point::run_point;
use calimap::workflow::sensitivity::run_sensitivity;
use common::{col, read_csv};

/// The spin-up of every run here: short, so that a study takes seconds.
const SPINUP: &str =
    "[spinup]\nrecycle_years = 1\ntolerance = 0.05\nmax_cycles = 15\nstart = \"equilibrium\"\n";

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet")
}

/// A point sensitivity experiment on the Tanggula file in `dir`.
fn write_study(dir: &Path, data: &Path, parameters: &str, outputs: &str, extra: &str) -> PathBuf {
    let text = format!(
        r#"kind = "sensitivity"
name = "tanggula-study"
output = "{out}"
seed = 11

[model]
name = "noah-tibet"
tables = "{models}"
surface_layer = "myj"

[forcing]
format = "noah-ascii"
path = "{forcing}"

{spinup}{extra}
[sensitivity]
method = "morris"
parameters = {parameters}
outputs = {outputs}
levels = 4
trajectories = 4
candidates = 12
bootstrap = 0
"#,
        out = dir.join("out").display(),
        models = models_dir().display(),
        forcing = data.join("tanggula/forcing.txt").display(),
        spinup = SPINUP,
    );
    let path = dir.join("study.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_point_study_varies_the_column_classes_and_reproduces_point_runs() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write_study(
        dir.path(),
        &data,
        r#"["bexp", "tbot_offset", "czil"]"#,
        r#"["gt10m", "magt", "margin", "permafrost_years"]"#,
        "",
    );
    let exp = Experiment::load(&path).unwrap();
    let Body::Sensitivity(s) = &exp.body else {
        panic!("a sensitivity experiment")
    };
    let out = dir.path().join("out");
    let res = run_sensitivity(&exp.path, s, exp.seed, &out, true).unwrap();
    assert_eq!(res.failed_rows, 0);
    assert!(res.outputs.iter().all(|o| o.indices.is_ok()));

    // The column's soil classes are 7, 9, 12 and 13 (12 has no registry
    // entry): bexp varies in 7, 9 and 13 only, in registry order.
    let (h, rows) = read_csv(&out.join("indices.csv"));
    let params: Vec<&str> = rows
        .iter()
        .filter(|r| r[col(&h, "output")] == "gt10m")
        .map(|r| r[col(&h, "parameter")].as_str())
        .collect();
    assert_eq!(
        params,
        ["bexp[7]", "bexp[9]", "bexp[13]", "tbot_offset", "czil"]
    );
    // A warmer lower boundary warms the ground at 10 m in every trajectory:
    // every elementary effect positive, so mu = mu* > 0.
    let row = rows
        .iter()
        .find(|r| r[col(&h, "output")] == "gt10m" && r[col(&h, "parameter")] == "tbot_offset")
        .unwrap();
    let (mu, mu_star): (f64, f64) = (
        row[col(&h, "mu")].parse().unwrap(),
        row[col(&h, "mu_star")].parse().unwrap(),
    );
    assert!(
        mu > 0.0 && (mu - mu_star).abs() < 1e-12,
        "mu {mu}, mu* {mu_star}"
    );
    assert_eq!(row[col(&h, "trajectories")], "4");

    // Each evaluation is the point run of its parameters: a study of TBOT
    // and CZIL alone, whose first rows are given to a point experiment as its
    // TBOT (the namelist's 272.43 K plus the offset) and a parameter-set file
    // holding CZIL.
    let path2 = dir.path().join("study2");
    std::fs::create_dir_all(&path2).unwrap();
    let path2 = write_study(
        &path2,
        &data,
        r#"["tbot_offset", "czil"]"#,
        r#"["gt10m", "magt"]"#,
        "",
    );
    let exp2 = Experiment::load(&path2).unwrap();
    let Body::Sensitivity(s2) = &exp2.body else {
        panic!("a sensitivity experiment")
    };
    let out2 = dir.path().join("out2");
    run_sensitivity(&exp2.path, s2, exp2.seed, &out2, true).unwrap();
    let (h, rows) = read_csv(&out2.join("evaluations.csv"));
    let registry = Registry::load(&models_dir().join("parameters.toml")).unwrap();
    let space = ParamSpace::select(registry, &["tbot_offset", "czil"]).unwrap();
    for r in rows.iter().take(2) {
        let u: Vec<f64> = ["tbot_offset", "czil"]
            .iter()
            .map(|n| r[col(&h, n)].parse().unwrap())
            .collect();
        let set = space.to_physical(&u).unwrap();
        let (offset, czil) = (set.get("tbot_offset").unwrap(), set.get("czil").unwrap());
        let params = dir.path().join("czil.toml");
        std::fs::write(
            &params,
            format!("model = \"noah-tibet\"\n[values]\n\"general.czil\" = {czil:?}\n"),
        )
        .unwrap();
        let point = dir.path().join("point.toml");
        std::fs::write(
            &point,
            format!(
                r#"kind = "point"
output = "{out}"
[model]
name = "noah-tibet"
tables = "{models}"
surface_layer = "myj"
tbot = {tbot:?}
parameters = "{params}"
[forcing]
format = "noah-ascii"
path = "{forcing}"
{spinup}[outputs]
daily = false
plots = false
"#,
                out = dir.path().join("point-out").display(),
                models = models_dir().display(),
                forcing = data.join("tanggula/forcing.txt").display(),
                tbot = 272.43 + offset,
                params = params.display(),
                spinup = SPINUP,
            ),
        )
        .unwrap();
        let pe = Experiment::load(&point).unwrap();
        let Body::Point(p) = &pe.body else {
            panic!("a point experiment")
        };
        let summary = run_point(&pe, p, None, true).unwrap();
        let n = summary.annual.len() as f64;
        let gt10m = summary.annual.iter().map(|a| a.gt10m).sum::<f64>() / n;
        let magt = summary.annual.iter().map(|a| a.magt).sum::<f64>() / n;
        let logged = |name: &str| -> f64 { r[col(&h, name)].parse().unwrap() };
        assert_eq!(logged("gt10m"), gt10m, "row {}", r[0]);
        assert_eq!(logged("magt"), magt, "row {}", r[0]);
        // The parameter-set file is the run's input.
        let manifest = std::fs::read_to_string(dir.path().join("point-out/manifest.json")).unwrap();
        assert!(manifest.contains("czil.toml"), "{manifest}");
    }
}

#[test]
fn point_study_files_with_the_wrong_sections_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let head =
        "kind = \"sensitivity\"\n[sensitivity]\nmethod = \"morris\"\noutputs = [\"gt10m\"]\n";
    let forcing = "[forcing]\nformat = \"noah-ascii\"\npath = \"f.txt\"\n";
    let domain = "[domain]\nforcing = \"cmfd\"\nforcing_dir = \"f\"\nstatic = \"s.nc\"\n";
    let period = "[period]\nspinup = [2000, 2000]\nstart = 2000\nend = 2001\n";
    let reference = "[reference]\nmap = \"r.tif\"\n";
    for (body, key, says) in [
        (
            format!("{head}{forcing}{domain}{period}"),
            "forcing",
            "not both",
        ),
        (
            head.to_string(),
            "domain",
            "[domain] (gridded) or [forcing]",
        ),
        (
            format!("{head}{forcing}{period}"),
            "period",
            "[period] is for domain studies",
        ),
        (
            format!("{head}{forcing}{reference}"),
            "reference",
            "needs a domain study",
        ),
        (format!("{head}{domain}"), "period", "needs a [period]"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, &body).unwrap();
        let e = Experiment::load(&path).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(says), "{body}\n-> {e}");
        assert!(e.contains("bad.toml"), "{e}");
    }
}

#[test]
fn point_study_outputs_and_parameters_must_fit_a_point() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |parameters: &str, outputs: &str| -> String {
        let path = write_study(dir.path(), &data, parameters, outputs, "");
        let exp = Experiment::load(&path).unwrap();
        let Body::Sensitivity(s) = &exp.body else {
            panic!("a sensitivity experiment")
        };
        run_sensitivity(&exp.path, s, exp.seed, &dir.path().join("o"), true)
            .unwrap_err()
            .to_string()
    };
    // Map agreement needs a map.
    let e = run(r#"["czil"]"#, r#"["kappa"]"#);
    assert!(
        e.contains("sensitivity.outputs") && e.contains("kappa"),
        "{e}"
    );
    // Tanggula's vegetation class 9 has no registry values: nothing to vary.
    let e = run(r#"["rsmin", "shdfac"]"#, r#"["gt10m"]"#);
    assert!(
        e.contains("reaches this column") && e.contains("vegetation class 9"),
        "{e}"
    );
}

#[test]
fn a_point_run_names_a_missing_parameter_set_file() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("point.toml");
    std::fs::write(
        &path,
        format!(
            "kind = \"point\"\noutput = \"{}\"\n[model]\nname = \"noah-tibet\"\ntables = \"{}\"\n\
             parameters = \"best_overrides.toml\"\n[forcing]\nformat = \"noah-ascii\"\npath = \"{}\"\n",
            dir.path().join("out").display(),
            models_dir().display(),
            data.join("tanggula/forcing.txt").display()
        ),
    )
    .unwrap();
    let exp = Experiment::load(&path).unwrap();
    let Body::Point(p) = &exp.body else {
        panic!("a point experiment")
    };
    let e = run_point(&exp, p, None, true).unwrap_err().to_string();
    assert!(
        e.contains("point.toml")
            && e.contains("model.parameters")
            && e.contains("best_overrides.toml"),
        "{e}"
    );
}
