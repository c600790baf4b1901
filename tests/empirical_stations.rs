//! Ground-surface thawing and freezing indices from air indices by ridge regression
//! with k-fold cross-validation, on the annual indices of 52 Qinghai-Tibet Plateau
//! weather stations (../shared/data/pic-qtp-stations, PIC package by L. Luo), and
//! TTOP from the predicted ground-surface indices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calimap::empirical::ridge::fit_ridge_cv;
use calimap::empirical::ttop::{ttop, TtopParams};

fn stations_dir() -> Option<PathBuf> {
    let base = std::env::var_os("CALIMAP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let dir = base.join("pic-qtp-stations");
    if dir.join("Thawing_index_air_QTP.csv").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("shared data missing: {} (CI=true)", dir.display());
    }
    eprintln!("note: {} not found; skipping", dir.display());
    None
}

/// (station, year) -> value from a PIC table: header of station names, one row per
/// year, `NA` for missing.
fn read_table(path: &Path) -> BTreeMap<(String, i32), f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    let mut out = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let Ok(year) = f[0].trim_matches('"').parse::<i32>() else {
            continue;
        };
        for (j, v) in f.iter().enumerate().skip(1) {
            if let Ok(x) = v.parse::<f64>() {
                out.insert((header[j].clone(), year), x);
            }
        }
    }
    out
}

#[test]
fn ground_indices_from_air_indices_by_ridge_cv() {
    let Some(dir) = stations_dir() else { return };
    let ta = read_table(&dir.join("Thawing_index_air_QTP.csv"));
    let fa = read_table(&dir.join("Freezing_index_air_QTP.csv"));
    let tg = read_table(&dir.join("Thawing_index_ground_QTP.csv"));
    let fg = read_table(&dir.join("Freezing_index_ground_QTP.csv"));
    let (mut x, mut y_t, mut y_f) = (Vec::new(), Vec::new(), Vec::new());
    for (key, &t_air) in &ta {
        if let (Some(&f_air), Some(&t_g), Some(&f_g)) = (fa.get(key), tg.get(key), fg.get(key)) {
            x.push(vec![t_air, f_air]);
            y_t.push(t_g);
            y_f.push(f_g);
        }
    }
    assert!(x.len() > 500, "{} station-years", x.len());
    let lambdas = [1000.0, 100.0, 10.0, 1.0, 0.1, 0.01, 0.0];
    let cv_t = fit_ridge_cv(&x, &y_t, &lambdas, 10, true, 7).unwrap();
    let cv_f = fit_ridge_cv(&x, &y_f, &lambdas, 10, true, 7).unwrap();
    // Baseline: the air index used as the ground-surface index (n-factor 1).
    let rmse = |pred: &dyn Fn(usize) -> f64, y: &[f64]| {
        ((0..y.len()).map(|i| (pred(i) - y[i]).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
    };
    let base_t = rmse(&|i| x[i][0], &y_t);
    let base_f = rmse(&|i| x[i][1], &y_f);
    let (best_t, best_f) = (cv_t.cv_rmse[cv_t.best], cv_f.cv_rmse[cv_f.best]);
    eprintln!(
        "{} station-years; thawing: CV RMSE {best_t:.1} (lambda {}) vs air index {base_t:.1}; \
         freezing: CV RMSE {best_f:.1} (lambda {}) vs air index {base_f:.1} degC day",
        x.len(),
        lambdas[cv_t.best],
        lambdas[cv_f.best]
    );
    // Ground surfaces on the plateau are warmer than the air: the regression must
    // beat the air index by a wide margin out of sample.
    assert!(best_t < 0.7 * base_t, "{best_t} vs {base_t}");
    assert!(best_f < 0.7 * base_f, "{best_f} vs {base_f}");
    // The thawing index of the ground grows with the air thawing index.
    assert!(
        cv_t.model.coef[0] > 0.0 && cv_f.model.coef[1] > 0.0,
        "{cv_t:?} {cv_f:?}"
    );

    // TTOP from predicted ground-surface indices (nt = nf = 1) against TTOP from the
    // measured ground-surface indices: agreement of the permafrost class.
    let p = TtopParams {
        rk: 0.8,
        nt: 1.0,
        nf: 1.0,
    };
    let mut agree = 0;
    for i in 0..x.len() {
        let pt = cv_t.model.predict_one(&x[i]).unwrap().max(0.0);
        let pf = cv_f.model.predict_one(&x[i]).unwrap().max(0.0);
        let a = ttop(pt, pf, &p).unwrap() < 0.0;
        let b = ttop(y_t[i], y_f[i], &p).unwrap() < 0.0;
        agree += (a == b) as usize;
    }
    let oa = agree as f64 / x.len() as f64;
    eprintln!("TTOP class agreement (predicted vs measured ground indices): {oa:.3}");
    assert!(oa > 0.8, "{oa}");
}
