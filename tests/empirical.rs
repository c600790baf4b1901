//! Tests of the empirical permafrost models against values computed independently
//! from the published equations (literals worked out separately, and the same
//! equations re-evaluated inline in the tests).

use std::f64::consts::PI;

use calimap::diagnostics::FrozenClass;
use calimap::empirical::freeze_thaw::{
    classify_day, classify_mean_series, classify_minmax_series, daily_stats, overall_accuracy,
    FreezeThawRule, FreezeThawState,
};
use calimap::empirical::frost_number::{
    class_from_classic, class_from_edaphic, frost_number_classic, frost_number_edaphic,
    frost_number_map, FrostNumberGrid, FrostNumberParams,
};
use calimap::empirical::insar::{seasonal_deformation, InsarParams, ThawDepthModel};
use calimap::empirical::kudryavtsev::{
    alt_romanovsky_osterkamp, kudryavtsev, snow_effect, ttop_kudryavtsev, KudryavtsevForcing,
    KudryavtsevParams,
};
use calimap::empirical::ridge::{fit_ridge, fit_ridge_cv, kfold_assignment, solve_linear};
use calimap::empirical::stefan::{
    edaphic_from_physical, fit_edaphic_coefficient, stefan_alt_edaphic, stefan_depth,
};
use calimap::empirical::ttop::{class_from_ttop, ttop, ttop_map, TtopParams};
use calimap::Error;
use chrono::NaiveDate;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---------------------------------------------------------------- frost number

#[test]
fn frost_number_values_and_forms_agree() {
    // DDT = 900, DDF = 1600: sqrt ratio 30/40 = 0.75; E = 1.2 gives 0.9.
    let f = frost_number_edaphic(900.0, 1600.0, 1.2).unwrap();
    assert!(close(f, 0.9, 1e-12), "{f}");
    assert_eq!(class_from_edaphic(f), FrozenClass::Permafrost);
    // Classic: 40 / (40 + 30) = 0.571428...
    let c = frost_number_classic(900.0, 1600.0).unwrap();
    assert!(close(c, 4.0 / 7.0, 1e-12), "{c}");
    assert_eq!(class_from_classic(c), FrozenClass::Permafrost);
    // With E = 1 both forms agree on every case, including near the boundary.
    for (t, f) in [
        (900.0, 1600.0),
        (1600.0, 900.0),
        (1000.0, 999.0),
        (999.0, 1000.0),
    ] {
        let e = class_from_edaphic(frost_number_edaphic(t, f, 1.0).unwrap());
        let k = class_from_classic(frost_number_classic(t, f).unwrap());
        assert_eq!(e, k, "DDT {t} DDF {f}");
    }
    // E = 1.5 turns the first case into seasonally frozen ground (1.125 >= 1).
    let f = frost_number_edaphic(900.0, 1600.0, 1.5).unwrap();
    assert_eq!(class_from_edaphic(f), FrozenClass::SeasonallyFrozen);
}

#[test]
fn frost_number_rejects_bad_input() {
    let e = frost_number_edaphic(-1.0, 1000.0, 1.0).unwrap_err();
    assert!(e.to_string().contains("DDT"), "{e}");
    let e = frost_number_edaphic(100.0, f64::NAN, 1.0).unwrap_err();
    assert!(e.to_string().contains("DDF"), "{e}");
    assert!(frost_number_edaphic(100.0, 100.0, 0.0).is_err());
    let grid = FrostNumberGrid {
        ddt: vec![100.0, 200.0],
        ddf: vec![100.0],
        cluster: vec![Some(1), Some(1)],
        valid: vec![true, true],
    };
    let e = frost_number_map(&grid, &FrostNumberParams::uniform(1, 1.0)).unwrap_err();
    assert!(matches!(e, Error::Grid(_)), "{e}");
    // A valid cell with a negative index is named by its index.
    let grid = FrostNumberGrid {
        ddt: vec![100.0, -5.0],
        ddf: vec![100.0, 100.0],
        cluster: vec![Some(1), Some(1)],
        valid: vec![true, true],
    };
    let e = frost_number_map(&grid, &FrostNumberParams::uniform(1, 1.0)).unwrap_err();
    assert!(e.to_string().contains("cell 1"), "{e}");
    // A cluster without a factor is an error, not a guess.
    let grid = FrostNumberGrid {
        ddt: vec![100.0],
        ddf: vec![100.0],
        cluster: vec![Some(3)],
        valid: vec![true],
    };
    let e = frost_number_map(&grid, &FrostNumberParams::uniform(2, 1.0)).unwrap_err();
    assert!(e.to_string().contains("cluster 3"), "{e}");
}

#[test]
fn frost_number_map_leaves_out_invalid_cells_and_uses_cluster_factors() {
    let grid = FrostNumberGrid {
        ddt: vec![900.0, 900.0, f64::NAN, 0.0],
        ddf: vec![1600.0, 1600.0, 1600.0, 0.0],
        cluster: vec![Some(1), Some(2), None, Some(1)],
        valid: vec![true, true, false, true],
    };
    let params = FrostNumberParams {
        edaphic: vec![1.0, 1.4],
    };
    let map = frost_number_map(&grid, &params).unwrap();
    // 0.75 < 1 permafrost; 1.4 * 0.75 = 1.05 seasonal; left out; 0/0 -> 1/1 with E=1 -> F=1 seasonal.
    assert_eq!(
        map,
        vec![
            Some(FrozenClass::Permafrost),
            Some(FrozenClass::SeasonallyFrozen),
            None,
            Some(FrozenClass::SeasonallyFrozen)
        ]
    );
}

// ---------------------------------------------------------------- TTOP

#[test]
fn ttop_smith_riseborough_published_case() {
    let p = TtopParams {
        rk: 0.7,
        nt: 1.0,
        nf: 0.6,
    };
    // rk nt DDT - nf DDF = 560 - 1200 = -640 < 0, so TTOP = -640 / 365.
    let t = ttop(800.0, 2000.0, &p).unwrap();
    let from_equation = (0.7 * 1.0 * 800.0 - 0.6 * 2000.0) / 365.0;
    assert!(close(t, from_equation, 1e-12));
    assert!(close(t, -1.753_424_657_534_246_5, 1e-12), "{t}");
    assert_eq!(class_from_ttop(t), FrozenClass::Permafrost);
    // Warm branch: 0.7 * 2000 - 0.6 * 800 = 920 >= 0, so TTOP = (2000 - 480 / 0.7) / 365.
    let t = ttop(2000.0, 800.0, &p).unwrap();
    assert!(close(t, 3.600_782_778_864_970_4, 1e-12), "{t}");
    assert_eq!(class_from_ttop(t), FrozenClass::SeasonallyFrozen);
}

#[test]
fn ttop_rejects_bad_input_and_maps_per_cluster() {
    let p = TtopParams {
        rk: 0.7,
        nt: 1.0,
        nf: 0.6,
    };
    assert!(ttop(-1.0, 100.0, &p)
        .unwrap_err()
        .to_string()
        .contains("DDT"));
    assert!(ttop(1.0, 100.0, &TtopParams { rk: 0.0, ..p }).is_err());
    let map = ttop_map(
        &[800.0, 800.0, 1.0],
        &[2000.0, 2000.0, 1.0],
        &[Some(1), Some(2), None],
        &[true, true, false],
        &[
            p,
            TtopParams {
                rk: 1.0,
                nt: 2.0,
                nf: 0.5,
            },
        ],
    )
    .unwrap();
    // Cluster 2: 1600 - 1000 = 600 >= 0 -> positive TTOP.
    assert_eq!(
        map,
        vec![
            Some(FrozenClass::Permafrost),
            Some(FrozenClass::SeasonallyFrozen),
            None
        ]
    );
    let e = ttop_map(&[1.0], &[1.0, 2.0], &[Some(1)], &[true], &[p]).unwrap_err();
    assert!(matches!(e, Error::Grid(_)));
}

// ---------------------------------------------------------------- ridge regression

#[test]
fn linear_solve_hand_case() {
    // [[2, 1], [1, 3]] x = [5, 10] -> x = [1, 3].
    let x = solve_linear(&[2.0, 1.0, 1.0, 3.0], &[5.0, 10.0]).unwrap();
    assert!(close(x[0], 1.0, 1e-12) && close(x[1], 3.0, 1e-12), "{x:?}");
    // Needs a row swap: [[0, 1], [1, 0]] x = [2, 3] -> [3, 2].
    let x = solve_linear(&[0.0, 1.0, 1.0, 0.0], &[2.0, 3.0]).unwrap();
    assert!(close(x[0], 3.0, 1e-12) && close(x[1], 2.0, 1e-12), "{x:?}");
    assert!(solve_linear(&[1.0, 2.0, 2.0, 4.0], &[1.0, 2.0]).is_err());
}

#[test]
fn ridge_two_feature_hand_case() {
    // Centred: Xc^T Xc = [[5, 3], [3, 5]], Xc^T yc = [9, 7], mean x = (2.5, 2.5), mean y = 4.
    let x = vec![
        vec![1.0, 2.0],
        vec![2.0, 1.0],
        vec![3.0, 4.0],
        vec![4.0, 3.0],
    ];
    let y = vec![1.0, 3.0, 6.0, 6.0];
    // lambda = 0 (least squares): b = [24/16, 8/16] = [1.5, 0.5], b0 = 4 - 2.5 * 2 = -1.
    let m = fit_ridge(&x, &y, 0.0, false).unwrap();
    assert!(
        close(m.coef[0], 1.5, 1e-12) && close(m.coef[1], 0.5, 1e-12),
        "{m:?}"
    );
    assert!(close(m.intercept, -1.0, 1e-12));
    // lambda = 1: [[6, 3], [3, 6]] b = [9, 7] -> b = [33/27, 15/27], b0 = 4 - 2.5 * 48/27.
    let m = fit_ridge(&x, &y, 1.0, false).unwrap();
    assert!(close(m.coef[0], 11.0 / 9.0, 1e-12), "{m:?}");
    assert!(close(m.coef[1], 5.0 / 9.0, 1e-12), "{m:?}");
    assert!(close(m.intercept, -4.0 / 9.0, 1e-12), "{m:?}");
    assert!(close(
        m.predict_one(&[1.0, 2.0]).unwrap(),
        -4.0 / 9.0 + 11.0 / 9.0 + 10.0 / 9.0,
        1e-12
    ));
    // Standardised features: both have variance 5/4, so the penalty acts as
    // lambda * 5/4 in the original scale... i.e. b = (XtX + (5/4) lambda I)^-1 Xt y.
    let m = fit_ridge(&x, &y, 0.8, true).unwrap();
    assert!(close(m.coef[0], 11.0 / 9.0, 1e-12), "{m:?}");
    assert!(close(m.coef[1], 5.0 / 9.0, 1e-12), "{m:?}");
    // Bad input.
    assert!(fit_ridge(&x, &y[..3], 1.0, false).is_err());
    assert!(fit_ridge(&x, &y, -1.0, false).is_err());
    let mut bad = x.clone();
    bad[2][1] = f64::NAN;
    assert!(fit_ridge(&bad, &y, 1.0, false)
        .unwrap_err()
        .to_string()
        .contains("row 2"));
}

#[test]
fn ridge_cv_prefers_small_penalty_for_clean_linear_data_and_is_seeded() {
    // y = 2 + 3 x1 - x2 exactly: any penalty only adds error.
    let x: Vec<Vec<f64>> = (0..30)
        .map(|i| vec![i as f64 * 0.37 % 5.0, (i * i) as f64 * 0.11 % 3.0])
        .collect();
    let y: Vec<f64> = x.iter().map(|r| 2.0 + 3.0 * r[0] - r[1]).collect();
    let lambdas = [100.0, 10.0, 1.0, 0.0];
    let cv = fit_ridge_cv(&x, &y, &lambdas, 5, true, 42).unwrap();
    assert_eq!(cv.best, 3, "{:?}", cv.cv_rmse);
    assert!(cv.cv_rmse[3] < 1e-9);
    assert!(cv.cv_rmse[0] > cv.cv_rmse[1] && cv.cv_rmse[1] > cv.cv_rmse[2]);
    assert!(close(cv.model.coef[0], 3.0, 1e-9) && close(cv.model.intercept, 2.0, 1e-9));
    // Folds: balanced and deterministic for a seed.
    let a = kfold_assignment(30, 4, 7).unwrap();
    assert_eq!(a, kfold_assignment(30, 4, 7).unwrap());
    let counts: Vec<usize> = (0..4)
        .map(|f| a.iter().filter(|&&v| v == f).count())
        .collect();
    assert_eq!(counts, vec![8, 8, 7, 7]);
    assert!(kfold_assignment(3, 4, 1).is_err());
}

// ---------------------------------------------------------------- Kudryavtsev

#[test]
fn kudryavtsev_ttop_uses_t_over_a_square_root() {
    let (t, a, kt, kf) = (-3.0, 12.0, 1.5, 2.0);
    let r: f64 = t / a;
    let s = 0.5 * t * (kf + kt) + a * (kt - kf) / PI * (r * r.asin() + (1.0 - r * r).sqrt());
    let got = ttop_kudryavtsev(t, a, kt, kf).unwrap();
    assert!(close(got, s / kf, 1e-12));
    assert!(close(got, -3.609_929_633_533_624, 1e-12), "{got}");
    // The mistaken sqrt(1 - pi^2 / A^2) gives -3.606946888995628: distinguishable.
    assert!((got - (-3.606_946_888_995_628)).abs() > 1e-3);
    // Surface always frozen (T = -A): the ground follows the surface mean exactly.
    assert!(close(
        ttop_kudryavtsev(-5.0, 5.0, kt, kf).unwrap(),
        -5.0,
        1e-12
    ));
    assert!(close(
        ttop_kudryavtsev(-8.0, 5.0, kt, kf).unwrap(),
        -8.0,
        1e-12
    ));
    // No seasonal cycle and equal conductivities: TTOP = mean.
    assert!(close(
        ttop_kudryavtsev(-1.0, 10.0, 1.0, 1.0).unwrap(),
        -1.0,
        1e-12
    ));
    // Thermal offset: kf > kt makes TTOP below a slightly positive surface mean.
    assert!(close(
        ttop_kudryavtsev(1.0, 12.0, kt, kf).unwrap(),
        -0.083_247_309_366_506_7,
        1e-12
    ));
}

#[test]
fn kudryavtsev_alt_hand_case() {
    let period = 365.0 * 86_400.0;
    let q = 334_000.0 * 1000.0 * 0.3;
    let z = alt_romanovsky_osterkamp(12.0, -1.0, 1.5, 2.5e6, q, period).unwrap();
    assert!(close(z, 1.588_802_619_992_548, 1e-9), "{z}");
    // No latent heat: the formula reduces to a damped wave depth
    // Z = (A - |T|) sqrt(k P C / pi) / (A_z C), A_z = (A - |T|) / ln(A / |T|).
    let z0 = alt_romanovsky_osterkamp(12.0, -1.0, 1.5, 2.5e6, 0.0, period).unwrap();
    let az = 11.0 / (12.0f64).ln();
    let expect = 11.0 * (1.5 * period * 2.5e6 / PI).sqrt() / (az * 2.5e6);
    assert!(close(z0, expect, 1e-9), "{z0} vs {expect}");
    assert!(alt_romanovsky_osterkamp(1.0, -2.0, 1.5, 2.5e6, q, period).is_err());
}

#[test]
fn kudryavtsev_full_model_hand_case() {
    // Snow alone: dA = A (1 - exp(-H sqrt(pi / (P D)))), dT = 2 dA / pi.
    let (da, dt) = snow_effect(14.0, 0.0, 1e-7, 3.15e7).unwrap();
    assert_eq!((da, dt), (0.0, 0.0));
    let f = KudryavtsevForcing {
        t_air_mean: -4.0,
        t_air_amplitude: 14.0,
        snow_depth: 0.3,
        snow_density: 250.0,
    };
    let p = KudryavtsevParams {
        k_thawed: 1.2,
        k_frozen: 1.8,
        c_thawed: 2.4e6,
        water_content: 0.25,
        veg_height_cold: 0.1,
        veg_height_warm: 0.2,
        veg_diffusivity_cold: 2e-7,
        veg_diffusivity_warm: 1e-7,
    };
    let d = kudryavtsev(&f, &p).unwrap();
    // Worked out separately from the equations in the module documentation.
    assert!(close(d.t_snow_base, -2.159_539_542_645_45, 1e-9), "{d:?}");
    assert!(close(d.a_snow_base, 11.109_011_473_976_217, 1e-9), "{d:?}");
    assert!(close(d.t_surface, -2.306_167_050_191_757, 1e-9), "{d:?}");
    assert!(close(d.a_surface, 9.891_875_796_276_466, 1e-9), "{d:?}");
    assert!(close(d.ttop, -3.000_021_278_721_652, 1e-9), "{d:?}");
    assert!(close(d.alt.unwrap(), 1.023_331_264_024_775, 1e-8), "{d:?}");
    // Bad input is named.
    let e = kudryavtsev(
        &KudryavtsevForcing {
            snow_depth: -0.1,
            ..f
        },
        &p,
    )
    .unwrap_err();
    assert!(e.to_string().contains("snow_depth"), "{e}");
    let e = kudryavtsev(
        &KudryavtsevForcing {
            t_air_mean: f64::NAN,
            ..f
        },
        &p,
    )
    .unwrap_err();
    assert!(e.to_string().contains("t_air_mean"), "{e}");
    // Warm climate without snow: no permafrost, no ALT.
    let warm = kudryavtsev(
        &KudryavtsevForcing {
            t_air_mean: 6.0,
            snow_depth: 0.0,
            ..f
        },
        &p,
    )
    .unwrap();
    assert!(warm.ttop > 0.0 && warm.alt.is_none(), "{warm:?}");
}

// ---------------------------------------------------------------- Stefan

#[test]
fn stefan_forms_and_fit() {
    // sqrt(2 * 1 * 1000 * 86400 / (334000 * 1000 * 0.3)) = 1.31322157...
    let z = stefan_depth(1.0, 1000.0, 0.3).unwrap();
    assert!(close(z, 1.313_221_572_394_998_7, 1e-12), "{z}");
    let e_s = edaphic_from_physical(1.0, 0.3).unwrap();
    assert!(close(stefan_alt_edaphic(1000.0, e_s).unwrap(), z, 1e-12));
    // sqrt(DDT) = 20, 30, 40; E_s = (20*1.0 + 30*1.4 + 40*2.1) / 2900 = 146 / 2900.
    let e = fit_edaphic_coefficient(&[400.0, 900.0, 1600.0], &[1.0, 1.4, 2.1]).unwrap();
    assert!(close(e, 146.0 / 2900.0, 1e-15), "{e}");
    // Exact data is recovered.
    let ddt = [100.0, 500.0, 1200.0, 2000.0];
    let alt: Vec<f64> = ddt.iter().map(|d: &f64| 0.045 * d.sqrt()).collect();
    assert!(close(
        fit_edaphic_coefficient(&ddt, &alt).unwrap(),
        0.045,
        1e-14
    ));
    assert!(stefan_depth(1.0, -1.0, 0.3)
        .unwrap_err()
        .to_string()
        .contains("DDT"));
    assert!(matches!(
        fit_edaphic_coefficient(&[1.0], &[1.0, 2.0]).unwrap_err(),
        Error::Grid(_)
    ));
    assert!(fit_edaphic_coefficient(&[0.0, 0.0], &[1.0, 2.0]).is_err());
}

// ---------------------------------------------------------------- InSAR

#[test]
fn insar_constructed_thaw_season() {
    // One year from 1 January 2020: frozen (-10 C) except 100 thaw days at +10 C from day 120.
    let t: Vec<f64> = (0..366)
        .map(|d| if (120..220).contains(&d) { 10.0 } else { -10.0 })
        .collect();
    let p = InsarParams {
        porosity: 0.4,
        saturation: 1.0,
        thaw: ThawDepthModel::Stefan { k_thawed: 1.2 },
        long_term_rate: 0.0,
        reset_month_day: (1, 1),
    };
    let s = seasonal_deformation(&t, NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), &p).unwrap();
    assert_eq!(s.seasonal.len(), 366);
    assert!(s.seasonal[..120].iter().all(|&v| v == 0.0));
    // Day 120 + n has ADDT = 10 (n + 1); at the end of the season ADDT = 1000.
    assert!(close(s.addt[219], 1000.0, 1e-9));
    assert!(
        close(s.thaw_depth[219], 1.245_831_372_370_769, 1e-12),
        "{}",
        s.thaw_depth[219]
    );
    assert!(
        close(s.seasonal[219], 0.045_105_345_215_604_7, 1e-12),
        "{}",
        s.seasonal[219]
    );
    // Square-root growth: d(day 159) = d(day 219) * sqrt(400/1000).
    assert!(close(
        s.seasonal[159],
        s.seasonal[219] * 0.4f64.sqrt(),
        1e-12
    ));
    // Constant after freeze-up until the reset.
    assert!(s.seasonal[220..].iter().all(|&v| v == s.seasonal[219]));
    // Long-term term and reset on 1 January of the next year.
    let t2: Vec<f64> = t.iter().chain(t.iter()).cloned().collect();
    let p2 = InsarParams {
        long_term_rate: 0.01,
        ..p
    };
    let s2 = seasonal_deformation(&t2, NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), &p2).unwrap();
    assert_eq!(s2.addt[366], 0.0);
    assert!(close(s2.seasonal[366 + 219], s.seasonal[219], 1e-12));
    assert!(close(
        s2.total[500] - s2.seasonal[500],
        0.01 * 500.0 / 365.25,
        1e-12
    ));
    // Bad input.
    let mut bad = t.clone();
    bad[10] = f64::NAN;
    let e =
        seasonal_deformation(&bad, NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), &p).unwrap_err();
    assert!(e.to_string().contains("day 10"), "{e}");
    assert!(seasonal_deformation(
        &t,
        NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        &InsarParams { porosity: 1.5, ..p }
    )
    .is_err());
}

// ---------------------------------------------------------------- freeze-thaw

#[test]
fn freeze_thaw_rules_and_accuracy() {
    use FreezeThawState::*;
    let mean = [-5.0, -0.5, 0.0, 0.4, 0.6, 3.0];
    let band = classify_mean_series(&mean, 0.0, 0.5).unwrap();
    assert_eq!(
        band,
        vec![Frozen, Frozen, Transitional, Transitional, Thawed, Thawed]
    );
    let binary = classify_mean_series(&mean, 0.0, 0.0).unwrap();
    assert_eq!(binary, vec![Frozen, Frozen, Frozen, Thawed, Thawed, Thawed]);
    let lo = [-8.0, -3.0, -1.0, 0.5];
    let hi = [-2.0, 0.0, 4.0, 6.0];
    let mm = classify_minmax_series(&lo, &hi, 0.0).unwrap();
    assert_eq!(mm, vec![Frozen, Frozen, Transitional, Thawed]);
    // OA: 4 of 6 days agree.
    let oa = overall_accuracy(&band, &binary).unwrap();
    assert!(close(oa, 4.0 / 6.0, 1e-15), "{oa}");
    // Sub-daily series (4 steps a day) of a top soil layer.
    let series = [-3.0, -1.0, 1.0, -1.0, 1.0, 2.0, 3.0, 2.0];
    let (m, l, h) = daily_stats(&series, 4).unwrap();
    assert_eq!(
        (m, l.clone(), h.clone()),
        (vec![-1.0, 2.0], vec![-3.0, 1.0], vec![1.0, 3.0])
    );
    assert_eq!(
        classify_minmax_series(&l, &h, 0.0).unwrap(),
        vec![Transitional, Thawed]
    );
    // Bad input.
    assert!(daily_stats(&series[..7], 4).is_err());
    assert!(matches!(
        overall_accuracy(&band, &mm).unwrap_err(),
        Error::Grid(_)
    ));
    assert!(classify_day(FreezeThawRule::DiurnalMinMax { t0: 0.0 }, 0.0, 2.0, 1.0).is_err());
    assert!(classify_mean_series(&[f64::NAN], 0.0, 0.5)
        .unwrap_err()
        .to_string()
        .contains("day 0"));
}
