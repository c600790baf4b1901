//! The map calibration of the column model: registry targets drive real model
//! parameters, a twin experiment on a tiny generated domain recovers Kappa
//! above the default run's, failing parameter sets are penalised evaluations,
//! and the demo experiment file parses.

mod common;

use std::path::PathBuf;

use common::twin::twin_experiment;

use calimap::calibrate::registry::{ParamSet, Registry, Scope};
use calimap::column::config::{ColumnConfig, DEFAULT_LAYERS};
use calimap::config::{Body, Experiment};
use calimap::workflow::calibration::{
    flat_overrides, overrides_for_column, read_parameter_set, run_calibration,
};
use calimap::workflow::model::ModelTables;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_registry_target_is_accepted_by_the_column() {
    let reg = Registry::load(&root().join("models/noah-tibet/parameters.toml")).unwrap();
    let tables = ModelTables::load(&root().join("models/noah-tibet")).unwrap();
    let set = ParamSet::defaults(&reg);
    let all: Vec<usize> = (0..set.values.len()).collect();
    let flat = flat_overrides(&reg, &set, &all);
    assert_eq!(
        flat.len(),
        set.values.len(),
        "one override per registry value"
    );
    // A column holding every soil class of the registry, once per vegetation class.
    let mut soil: Vec<usize> = reg
        .params
        .iter()
        .filter(|p| p.scope == Scope::SoilClass)
        .flat_map(|p| p.classes.iter().map(|&c| c as usize))
        .collect();
    soil.sort_unstable();
    soil.dedup();
    let n = DEFAULT_LAYERS.len();
    let classes: Vec<usize> = (0..n).map(|i| soil[i * soil.len() / n]).collect();
    for &k in &soil {
        assert!(classes.contains(&k), "class {k} on some layer");
    }
    let mut vegs: Vec<u32> = reg
        .params
        .iter()
        .filter(|p| p.scope == Scope::VegClass)
        .flat_map(|p| p.classes.clone())
        .collect();
    vegs.sort_unstable();
    vegs.dedup();
    assert!(!vegs.is_empty());
    let mut applied = std::collections::BTreeSet::new();
    for &v in &vegs {
        let mut cfg = ColumnConfig::from_tables(
            &tables.soil,
            &tables.veg,
            &tables.general,
            &DEFAULT_LAYERS,
            &classes,
            v as usize,
            34.0,
            270.0,
        )
        .unwrap();
        let mut col = overrides_for_column(&flat, &classes, v as usize);
        // `tbot_offset` is consumed by the domain runner (added to the cell's TBOT).
        let mut site = calimap::workflow::model::ColumnSite {
            layers: None,
            soil_classes: None,
            veg_class: None,
            latitude: 34.0,
            tbot: Some(270.0),
            z_temp: 2.0,
            z_wind: 10.0,
        };
        let n_before = col.len();
        calimap::workflow::domain::take_tbot_offset(&mut col, &mut site);
        if n_before != col.len() {
            applied.insert("tbot_offset".to_string());
        }
        for (key, value) in &col {
            cfg.set(key, *value)
                .unwrap_or_else(|e| panic!("registry key `{key}` (veg class {v}): {e}"));
        }
        cfg.validate().unwrap();
        applied.extend(col.iter().map(|(k, _)| k.clone()));
    }
    // Every registry value reached some column: per-vegetation keys lose their class suffix.
    for (key, _) in &flat {
        let base = if key.starts_with("soil.") {
            key.clone()
        } else {
            key.split('[').next().unwrap().to_string()
        };
        assert!(applied.contains(&base), "`{key}` never applied");
    }
    // A key the column does not know is refused, so the check above can fail.
    let mut cfg = ColumnConfig::from_tables(
        &tables.soil,
        &tables.veg,
        &tables.general,
        &DEFAULT_LAYERS,
        &classes,
        vegs[0] as usize,
        34.0,
        270.0,
    )
    .unwrap();
    assert!(cfg.set("snow.rho_new", 80.0).is_err());
}

#[test]
fn overrides_apply_per_column_class() {
    let flat = vec![
        ("soil.bb[7]".to_string(), 6.0),
        ("soil.bb[9]".to_string(), 5.0),
        ("veg.rsmin[7]".to_string(), 70.0),
        ("veg.rsmin[8]".to_string(), 90.0),
        ("max_snow_albedo[8]".to_string(), 0.7),
        ("general.csoil".to_string(), 2.1e6),
    ];
    let col = overrides_for_column(&flat, &[7, 7, 12], 8);
    assert_eq!(
        col,
        vec![
            ("soil.bb[7]".to_string(), 6.0),
            ("veg.rsmin".to_string(), 90.0),
            ("max_snow_albedo".to_string(), 0.7),
            ("general.csoil".to_string(), 2.1e6),
        ]
    );
}

#[test]
fn twin_experiment_bo_recovers_kappa_above_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twin.toml");
    std::fs::write(&path, twin_experiment(dir.path(), "bo", 11, "")).unwrap();
    let exp = Experiment::load(&path).unwrap();
    let Body::Calibration(c) = &exp.body else {
        panic!("a calibration experiment")
    };
    let s = run_calibration(&exp, c, None, true).unwrap();
    eprintln!(
        "twin: Kappa default {:.3} -> best {:.3} on {} of {} cells ({} evaluations, {:.2} s each)",
        s.kappa_default,
        s.kappa_best,
        s.scored_cells,
        s.land_cells,
        s.evaluations,
        s.mean_evaluation_seconds
    );
    assert_eq!(s.evaluations, 11);
    assert!(s.kappa_default < 1.0);
    assert!(
        s.kappa_best > s.kappa_default,
        "best {} not above default {}",
        s.kappa_best,
        s.kappa_default
    );
    assert!(s.kappa_best_all >= s.kappa_default_all);
    let out = dir.path().join("out");
    // Outputs: the log has the default run as evaluation 0, plus the products.
    let log = std::fs::read_to_string(out.join("evaluations.csv")).unwrap();
    assert_eq!(log.lines().count(), 12);
    for f in [
        "manifest.json",
        "best_overrides.toml",
        "top_k.csv",
        "top/member1.toml",
        "convergence.png",
        "reference_2001.tif",
        "default_2001.png",
        "best_2001.tif",
        "difference_best_2001.png",
        "summary.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // The margin maps agree in sign with the class maps: <= 0 C exactly on
    // the permafrost cells, nodata off land.
    for which in ["default", "best"] {
        let classes: calimap::io::geotiff::Raster<u8> =
            calimap::io::geotiff::read_geotiff(out.join(format!("{which}_2001.tif"))).unwrap();
        let margins: calimap::io::geotiff::Raster<f32> =
            calimap::io::geotiff::read_geotiff(out.join(format!("margin_{which}_2001.tif")))
                .unwrap();
        let mut land = 0;
        for (k, (&c, &m)) in classes.data.iter().zip(&margins.data).enumerate() {
            if classes.is_nodata(c) {
                assert_eq!(m, -9999.0, "{which} cell {k}");
                continue;
            }
            land += 1;
            assert_eq!(c == 1, m <= 0.0, "{which} cell {k}: class {c}, margin {m}");
        }
        assert!(land > 0);
    }
    let (name, best) = read_parameter_set(&out.join("best_overrides.toml")).unwrap();
    assert_eq!(name, "best");
    assert_eq!(best.len(), 10, "five soil classes of bexp and quartz");
    assert!(best
        .iter()
        .all(|(k, _)| k.starts_with("soil.bb[") || k.starts_with("soil.qtz[")));
    // The truth the reference was made from sits beside it.
    let (_, truth) = read_parameter_set(&dir.path().join("data/truth.toml")).unwrap();
    assert_eq!(truth.len(), 10);

    // Re-running replays the whole log: nothing is evaluated again.
    let again = run_calibration(&exp, c, None, true).unwrap();
    assert_eq!(again.replayed, 11);
    assert_eq!(again.kappa_best, s.kappa_best);
}

#[test]
fn a_failing_parameter_set_is_a_penalised_evaluation() {
    // CSOIL above 1e7 J m-3 K-1 is refused by the column's own check, not by
    // the registry bounds: widen the registry copy so proposals reach it.
    let dir = tempfile::tempdir().unwrap();
    let reg_text =
        std::fs::read_to_string(root().join("models/noah-tibet/parameters.toml")).unwrap();
    let reg_text = set_bound(&reg_text, "csoil", "upper", "5.0e7");
    std::fs::write(dir.path().join("parameters.toml"), reg_text).unwrap();
    let extra = format!("registry = \"{}/parameters.toml\"", dir.path().display());
    let text = twin_experiment(dir.path(), "random", 5, &extra).replace(
        "parameters = [\"bexp\", \"quartz\"]\noptimizer",
        "parameters = [\"csoil\"]\noptimizer",
    );
    let path = dir.path().join("fail.toml");
    std::fs::write(&path, text).unwrap();
    let exp = Experiment::load(&path).unwrap();
    let Body::Calibration(c) = &exp.body else {
        panic!("a calibration experiment")
    };
    let s = run_calibration(&exp, c, None, true).unwrap();
    assert_eq!(s.evaluations, 5);
    assert!(s.failed >= 1, "some proposal with CSOIL <= 0 fails: {s:?}");
    let log = std::fs::read_to_string(dir.path().join("out/evaluations.csv")).unwrap();
    assert!(log.lines().any(|l| l.ends_with(",failed")), "{log}");
    assert!(s.kappa_best.is_finite());
}

/// Set bound `which` (lower or upper) of registry entry `name` to `value`.
fn set_bound(text: &str, name: &str, which: &str, value: &str) -> String {
    let start = text.find(&format!("name = \"{name}\"")).unwrap();
    let at = start + text[start..].find(&format!("{which} = ")).unwrap();
    let end = at + text[at..].find('\n').unwrap();
    format!("{}{which} = {value}{}", &text[..at], &text[end..])
}

#[test]
fn demo_calibration_experiment_parses() {
    let path = root().join("experiments/demo-calibration.toml");
    let exp = Experiment::load(&path).unwrap();
    let Body::Calibration(c) = &exp.body else {
        panic!("a calibration experiment")
    };
    assert_eq!(c.year, 2002);
    assert!(c.section.budget >= 20 && c.section.q >= 2);
    assert!(c.section.truth.is_some());
    let space = calimap::workflow::calibration::parameter_space(&exp, c).unwrap();
    assert!(space.dim() >= 10, "{} dimensions", space.dim());
    // A bad section is refused with the key named.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("year = 2002", "year = 1990");
    let err = Experiment::parse(&path, &text).unwrap_err().to_string();
    assert!(err.contains("calibration.year"), "{err}");
}
