//! Sensitivity-analysis methods against exact reference cases: a hand-checked
//! SALib 1.6 Sobol case, a hand-checked Morris case, and analytic indices of
//! the Ishigami function and the Sobol g-function.

use calimap::sensitivity::morris::{
    morris_analyze, morris_design, MorrisAnalyzeOptions, MorrisOptions,
};
use calimap::sensitivity::saltelli::{BaseSampling, SaltelliDesign};
use calimap::sensitivity::sobol::{sobol_analyze, SobolOptions};
use calimap::sensitivity::testfn::{g_function, g_function_indices, ishigami, ishigami_indices};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// D = 2, N = 4, f = x1 + 2 x2 + x1 x2 on given A and B. SALib 1.6 standardises
/// Y with the population standard deviation over all 16 outputs, then applies
/// S1 = mean(B (AB - A)) / var([A; B]) and ST = mean((A - AB)^2) / (2 var([A; B]))
/// with the population variance; that convention (and no other among sample /
/// population variance, variance of A, B or all Y, raw or standardised Y)
/// reproduces S1 = [0.32625, 1.62967], ST = [0.16222, 1.16379].
#[test]
fn salib_exact_case_d2_n4() {
    let a = vec![
        vec![0.1, 0.2],
        vec![0.4, 0.9],
        vec![0.7, 0.5],
        vec![0.9, 0.3],
    ];
    let b = vec![
        vec![0.6, 0.8],
        vec![0.2, 0.1],
        vec![0.3, 0.7],
        vec![0.8, 0.6],
    ];
    let design = SaltelliDesign::from_ab(&a, &b, false).unwrap();
    assert_eq!(design.rows.len(), 16);
    assert_eq!(design.rows[1], vec![0.6, 0.2]); // AB1 of sample 0
    assert_eq!(design.rows[2], vec![0.1, 0.8]); // AB2 of sample 0
    let y: Vec<f64> = design
        .rows
        .iter()
        .map(|x| x[0] + 2.0 * x[1] + x[0] * x[1])
        .collect();
    let opts = SobolOptions {
        bootstrap: 0,
        ..SobolOptions::default()
    };
    let s = sobol_analyze(&y, 2, &opts).unwrap();
    let s1 = [0.32625, 1.62967];
    let st = [0.16222, 1.16379];
    for j in 0..2 {
        assert!(close(s.s1[j], s1[j], 5e-6), "S1[{j}] = {}", s.s1[j]);
        assert!(close(s.st[j], st[j], 5e-6), "ST[{j}] = {}", s.st[j]);
    }
    // Without standardisation the first-order estimator changes (it is not
    // shift invariant) while the total-order one does not.
    let raw = sobol_analyze(
        &y,
        2,
        &SobolOptions {
            standardize: false,
            ..opts
        },
    )
    .unwrap();
    assert!(
        close(raw.s1[0], -0.0073628, 1e-6),
        "raw S1[0] = {}",
        raw.s1[0]
    );
    assert!(close(raw.st[0], st[0], 5e-6));
    assert!(close(raw.st[1], st[1], 5e-6));
}

/// Morris, 4 levels, g = 3 x1 + x2^2 on two given trajectories: elementary
/// effects are (3, 4/3) and (2/3, 3), so mu* = [3, 1], sigma = [0, sqrt(2)/3].
#[test]
fn morris_exact_case() {
    let x = vec![
        vec![0.0, 1.0 / 3.0],
        vec![2.0 / 3.0, 1.0 / 3.0],
        vec![2.0 / 3.0, 1.0],
        vec![1.0, 2.0 / 3.0],
        vec![1.0, 0.0],
        vec![1.0 / 3.0, 0.0],
    ];
    let y: Vec<f64> = x.iter().map(|p| 3.0 * p[0] + p[1] * p[1]).collect();
    let m = morris_analyze(&x, &y, 2, &MorrisAnalyzeOptions::default()).unwrap();
    assert!(close(m.mu_star[0], 3.0, 1e-12));
    assert!(close(m.mu_star[1], 1.0, 1e-12));
    assert!(close(m.sigma[0], 0.0, 1e-12));
    assert!(close(m.sigma[1], 0.4714, 5e-5), "sigma[1] = {}", m.sigma[1]);
    assert!(close(m.mu[1], 1.0, 1e-12));
    // Bootstrap interval of mu* for x1 is zero-width: every effect equals 3.
    assert!(close(m.mu_star_conf[0], 0.0, 1e-12));
}

/// Ishigami (a = 7, b = 0.1), Sobol base sampling N = 8192 (40 960 runs), 1000
/// bootstrap resamples: every analytic index lies within the 95 % interval.
#[test]
fn ishigami_within_bootstrap_interval() {
    let n = 8192;
    let design = SaltelliDesign::generate(
        3,
        n,
        false,
        BaseSampling::Sobol {
            skip: 0,
            shift_seed: None,
        },
    )
    .unwrap();
    let y: Vec<f64> = design.rows.iter().map(|x| ishigami(x, 7.0, 0.1)).collect();
    let s = sobol_analyze(
        &y,
        3,
        &SobolOptions {
            seed: 42,
            ..SobolOptions::default()
        },
    )
    .unwrap();
    let (e1, et) = ishigami_indices(7.0, 0.1);
    for j in 0..3 {
        println!(
            "x{}: S1 {:.4} +- {:.4} (exact {:.4}), ST {:.4} +- {:.4} (exact {:.4})",
            j + 1,
            s.s1[j],
            s.s1_conf[j],
            e1[j],
            s.st[j],
            s.st_conf[j],
            et[j]
        );
        assert!((s.s1[j] - e1[j]).abs() <= s.s1_conf[j], "S1[{j}]");
        assert!((s.st[j] - et[j]).abs() <= s.st_conf[j], "ST[{j}]");
        assert!(
            s.s1_interval[j].0 <= e1[j] && e1[j] <= s.s1_interval[j].1,
            "S1[{j}] percentile"
        );
        assert!(
            s.st_interval[j].0 <= et[j] && et[j] <= s.st_interval[j].1,
            "ST[{j}] percentile"
        );
        assert!(s.s1_conf[j] < 0.05 && s.st_conf[j] < 0.05);
    }
}

/// Second-order indices of the Ishigami function: only x1-x3 interact,
/// S13 = V13 / V = ST3 = 0.2437 (random base sampling, N = 8192).
#[test]
fn ishigami_second_order() {
    let design = SaltelliDesign::generate(3, 8192, true, BaseSampling::Random { seed: 7 }).unwrap();
    let y: Vec<f64> = design.rows.iter().map(|x| ishigami(x, 7.0, 0.1)).collect();
    let s = sobol_analyze(
        &y,
        3,
        &SobolOptions {
            second_order: true,
            bootstrap: 200,
            seed: 1,
            ..SobolOptions::default()
        },
    )
    .unwrap();
    let s2 = s.s2.unwrap();
    let c2 = s.s2_conf.unwrap();
    let (_, et) = ishigami_indices(7.0, 0.1);
    println!(
        "S12 {:.4}+-{:.4} S13 {:.4}+-{:.4} S23 {:.4}+-{:.4}",
        s2[0][1], c2[0][1], s2[0][2], c2[0][2], s2[1][2], c2[1][2]
    );
    assert!((s2[0][2] - et[2]).abs() <= c2[0][2]);
    assert!(s2[0][1].abs() <= c2[0][1]);
    assert!(s2[1][2].abs() <= c2[1][2]);
}

/// Sobol g-function, a = [0, 1, 4.5, 9, 99, 99, 99, 99], Sobol base sampling
/// N = 4096 (40 960 runs): indices within 0.02 of the analytic values and
/// within the bootstrap interval.
#[test]
fn g_function_analytic_indices() {
    let a = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0];
    let design = SaltelliDesign::generate(
        8,
        4096,
        false,
        BaseSampling::Sobol {
            skip: 0,
            shift_seed: None,
        },
    )
    .unwrap();
    let y: Vec<f64> = design.rows.iter().map(|x| g_function(x, &a)).collect();
    let s = sobol_analyze(
        &y,
        8,
        &SobolOptions {
            bootstrap: 500,
            seed: 3,
            ..SobolOptions::default()
        },
    )
    .unwrap();
    let (e1, et) = g_function_indices(&a);
    for j in 0..8 {
        println!(
            "x{}: S1 {:.4} (exact {:.4}) ST {:.4} (exact {:.4})",
            j + 1,
            s.s1[j],
            e1[j],
            s.st[j],
            et[j]
        );
        assert!(close(s.s1[j], e1[j], 0.02), "S1[{j}]");
        assert!(close(s.st[j], et[j], 0.02), "ST[{j}]");
        assert!(
            (s.s1[j] - e1[j]).abs() <= s.s1_conf[j].max(1e-3),
            "S1[{j}] interval"
        );
        assert!(
            (s.st[j] - et[j]).abs() <= s.st_conf[j].max(1e-3),
            "ST[{j}] interval"
        );
    }
    // Analytic value by hand: V_i = 1/3, 1/12, 1/90.75, 1/300, 4 x 1/30000;
    // V = prod(1 + V_i) - 1 = 0.465425, S1_1 = (1/3) / V = 0.71619.
    assert!(close(e1[0], 0.71619, 1e-5), "{}", e1[0]);
}

/// Morris screening of f = 10 x1 + 4 x2^2 + x3 with three inert inputs:
/// mu* of the inert ones is exactly 0 and the ranking is x1 > x2 > x3.
#[test]
fn morris_ranks_and_finds_inert_inputs() {
    let opts = MorrisOptions {
        levels: 4,
        trajectories: 20,
        candidates: Some(100),
        seed: 9,
    };
    let d = morris_design(6, &opts).unwrap();
    assert_eq!(d.rows.len(), 20 * 7);
    let y: Vec<f64> = d
        .rows
        .iter()
        .map(|x| 10.0 * x[0] + 4.0 * x[1] * x[1] + x[2])
        .collect();
    let m = morris_analyze(&d.rows, &y, 6, &MorrisAnalyzeOptions::default()).unwrap();
    println!("mu* = {:?}", m.mu_star);
    assert!(close(m.mu_star[0], 10.0, 1e-9));
    assert!(close(m.mu_star[2], 1.0, 1e-9));
    assert!(m.mu_star[1] > m.mu_star[2] && m.mu_star[1] < m.mu_star[0]);
    // Effects of x2 are 4 (x + x') with x + x' in {2/3, 4/3}: mu* between 8/3 and 16/3.
    assert!(m.mu_star[1] >= 8.0 / 3.0 - 1e-9 && m.mu_star[1] <= 16.0 / 3.0 + 1e-9);
    for j in 3..6 {
        assert_eq!(m.mu_star[j], 0.0);
        assert_eq!(m.sigma[j], 0.0);
    }
}
