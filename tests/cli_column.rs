//! `calimap import-tables` and `calimap run` on a point experiment, including
//! bad input: a clear error, a non-zero exit and no partial outputs.

mod common;

use std::path::Path;
use std::process::Command;

fn calimap(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calimap"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn import_tables_writes_the_shipped_model_tables() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let t = data.join("noahtibet-tables");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let (ok, _, err) = calimap(&[
        "import-tables",
        "--soil",
        t.join("SOILPARM.TBL").to_str().unwrap(),
        "--veg",
        t.join("VEGPARM.TBL").to_str().unwrap(),
        "--gen",
        t.join("GENPARM.TBL").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        files_in(&out),
        ["general.toml", "soil.toml", "vegetation.toml"]
    );
    // Identical to the tables shipped in models/noah-tibet.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet");
    for f in ["general.toml", "soil.toml", "vegetation.toml"] {
        assert_eq!(
            std::fs::read_to_string(out.join(f)).unwrap(),
            std::fs::read_to_string(shipped.join(f)).unwrap(),
            "{f}"
        );
    }
    // A truncated soil table: error names file and line, nothing written.
    let bad = dir.path().join("SOILPARM.TBL");
    let text = std::fs::read_to_string(t.join("SOILPARM.TBL")).unwrap();
    std::fs::write(&bad, text.lines().take(10).collect::<Vec<_>>().join("\n")).unwrap();
    let out2 = dir.path().join("model2");
    let (ok, _, err) = calimap(&[
        "import-tables",
        "--soil",
        bad.to_str().unwrap(),
        "--veg",
        t.join("VEGPARM.TBL").to_str().unwrap(),
        "--gen",
        t.join("GENPARM.TBL").to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("SOILPARM.TBL:11") && err.contains("table ends"),
        "{err}"
    );
    assert!(!out2.exists());
}

#[test]
fn point_run_writes_daily_and_annual_and_rejects_bad_input() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("tanggula.toml");
    let forcing = data.join("tanggula/forcing.txt");
    let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet");
    let write_exp = |extra: &str, forcing: &Path| {
        std::fs::write(
            &exp,
            format!(
                "kind = \"point\"\noutput = \"out\"\n[model]\ntables = \"{}\"\n{extra}\n[forcing]\nformat = \"noah-ascii\"\npath = \"{}\"\n[spinup]\nrecycle_years = 1\nmax_cycles = 3\n",
                tables.display(),
                forcing.display()
            ),
        )
        .unwrap();
    };
    write_exp("", &forcing);
    let (ok, stdout, err) = calimap(&["run", exp.to_str().unwrap(), "--quiet"]);
    assert!(ok, "{err}");
    assert!(stdout.is_empty());
    let out = dir.path().join("out");
    let files = files_in(&out);
    assert!(
        files.contains(&"annual.csv".to_string()) && files.contains(&"daily.csv".to_string()),
        "{files:?}"
    );
    let annual = std::fs::read_to_string(out.join("annual.csv")).unwrap();
    let lines: Vec<&str> = annual.lines().collect();
    assert!(lines[0].starts_with("year,"), "{annual}");
    assert!(lines.len() >= 4, "{annual}");
    let daily = std::fs::read_to_string(out.join("daily.csv")).unwrap();
    assert_eq!(daily.lines().count(), 1 + 1371);

    // Unknown model key, unknown option value, unknown soil class, NaN and Celsius forcing.
    let out_bad = dir.path().join("out");
    std::fs::remove_dir_all(&out_bad).unwrap();
    write_exp("freeze_curv = \"koren99\"", &forcing);
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(!ok && err.contains("freeze_curv"), "{err}");
    write_exp("freeze_curve = \"koren2000\"", &forcing);
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(!ok && err.contains("koren2000"), "{err}");
    // The namelist's sfcdif_option = 1 selects the MYJ surface layer, which
    // has its own thermal roughness: asking for yang08 names the conflict.
    write_exp("thermal_roughness = \"yang08\"", &forcing);
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(
        !ok && err.contains("model.thermal_roughness") && err.contains("sfcdif_option"),
        "{err}"
    );
    write_exp("surface_layer = \"sfcdif\"", &forcing);
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(
        !ok && err.contains("surface_layer") && err.contains("chen97"),
        "{err}"
    );
    assert!(files_in(&out_bad).iter().all(|f| f == "manifest.json"));
    // The Monin-Obukhov iteration chosen explicitly runs and gives other
    // exchange coefficients than the namelist's MYJ default.
    write_exp(
        "surface_layer = \"chen97\"\nthermal_roughness = \"yang08\"",
        &forcing,
    );
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap(), "--quiet"]);
    assert!(ok, "{err}");
    let daily_chen = std::fs::read_to_string(out_bad.join("daily.csv")).unwrap();
    assert_eq!(daily_chen.lines().count(), 1 + 1371);
    assert_ne!(daily_chen, daily, "surface layer option had no effect");
    std::fs::remove_dir_all(&out_bad).unwrap();
    // The other physics options are named in the model section too: each
    // valid choice changes the run, an unknown one is named with its key.
    for (key, value) in [
        ("ice_impedance", "niu06"),
        ("soil_gravity", "explicit"),
        ("conductivity", "peters_lidard"),
        ("snow_albedo", "constant"),
    ] {
        write_exp(&format!("{key} = \"{value}\""), &forcing);
        let (ok, _, err) = calimap(&["run", exp.to_str().unwrap(), "--quiet"]);
        assert!(ok, "{key}: {err}");
        let d = std::fs::read_to_string(out_bad.join("daily.csv")).unwrap();
        assert_eq!(d.lines().count(), 1 + 1371, "{key}");
        assert_ne!(d, daily, "{key} = {value} had no effect");
        std::fs::remove_dir_all(&out_bad).unwrap();
        write_exp(&format!("{key} = \"bogus\""), &forcing);
        let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
        assert!(
            !ok && err.contains(&format!("model.{key}")) && err.contains("bogus"),
            "{key}: {err}"
        );
        assert!(files_in(&out_bad).iter().all(|f| f == "manifest.json"));
    }
    write_exp("soil_classes = [7, 7, 7, 7, 9, 7, 7, 7, 7, 7, 12, 12, 12, 13, 13, 13, 13, 13, 13, 33]\nlayers = [0.045, 0.046, 0.075, 0.123, 0.204, 0.336, 0.371, 0.3, 0.5, 0.5, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]", &forcing);
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(!ok && err.contains("unknown soil class 33"), "{err}");
    let text = std::fs::read_to_string(&forcing).unwrap();
    let celsius = dir.path().join("celsius.txt");
    // Replace the air temperature of the first data row by a Celsius value.
    let mut done = false;
    let patched: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with("2007 04 01") {
                done = true;
                l.replace("271.2412439391", "-1.9087560609")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&celsius, patched.join("\n")).unwrap();
    write_exp("", &celsius);
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(!ok, "Celsius forcing accepted");
    assert!(
        err.to_lowercase().contains("temperature") || err.contains("t_air"),
        "{err}"
    );
    // No partial outputs from the failed runs.
    assert!(
        files_in(&out_bad).iter().all(|f| f == "manifest.json"),
        "{:?}",
        files_in(&out_bad)
    );
}

/// `[spinup] criterion`: `enthalpy` runs and writes both residuals per
/// cycle to spinup.csv; an unknown value is named with its key, and no
/// results are written.
#[test]
fn point_run_spinup_criterion_is_an_option() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("tanggula.toml");
    let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet");
    let write_exp = |criterion: &str| {
        std::fs::write(
            &exp,
            format!(
                "kind = \"point\"\noutput = \"out\"\n[model]\ntables = \"{}\"\n[forcing]\nformat = \"noah-ascii\"\npath = \"{}\"\n[spinup]\nrecycle_years = 1\nmax_cycles = 4\nstart = \"initial\"\ncriterion = \"{criterion}\"\n",
                tables.display(),
                data.join("tanggula/forcing.txt").display()
            ),
        )
        .unwrap();
    };
    write_exp("enthalpy");
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap(), "--quiet"]);
    assert!(ok, "{err}");
    let out = dir.path().join("out");
    let spin = std::fs::read_to_string(out.join("spinup.csv")).unwrap();
    let rows: Vec<Vec<&str>> = spin.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "cycle",
            "simulated_years",
            "residual_k",
            "enthalpy_residual_k"
        ]
    );
    // The first cycle has nothing to compare with; each later one has both
    // residuals.
    assert_eq!(rows.len(), 1 + 4, "{spin}");
    assert!(rows[1][2].is_empty() && rows[1][3].is_empty(), "{spin}");
    for r in &rows[2..] {
        let t: f64 = r[2].parse().unwrap();
        let h: f64 = r[3].parse().unwrap();
        assert!(
            t > 0.0 && h > 0.0 && t.is_finite() && h.is_finite(),
            "{spin}"
        );
    }
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        summary.contains("\"spinup_enthalpy_residual\""),
        "{summary}"
    );
    std::fs::remove_dir_all(&out).unwrap();
    write_exp("latent");
    let (ok, _, err) = calimap(&["run", exp.to_str().unwrap()]);
    assert!(
        !ok && err.contains("spinup.criterion") && err.contains("latent"),
        "{err}"
    );
    assert!(files_in(&out).iter().all(|f| f == "manifest.json"));
}
