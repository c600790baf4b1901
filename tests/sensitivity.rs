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

// ---------------------------------------------------------------------------
// Study runner: checkpoint, resume, thread-count independence, outputs.

mod study {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use calimap::sensitivity::morris::{MorrisAnalyzeOptions, MorrisOptions};
    use calimap::sensitivity::saltelli::BaseSampling;
    use calimap::sensitivity::sobol::SobolOptions;
    use calimap::sensitivity::study::{
        read_screened, Method, OutputIndices, RunOptions, ScreenMetric, ScreenRule, Study,
        StudySpec, INDICES_FILE, LOG_FILE,
    };
    use calimap::sensitivity::testfn::{g_function, ishigami};
    use calimap::Result;

    fn sobol_spec() -> StudySpec {
        StudySpec {
            parameters: vec!["x1".into(), "x2".into(), "x3".into()],
            outputs: vec!["ishigami".into(), "gfun".into()],
            method: Method::Sobol {
                n: 256,
                sampling: BaseSampling::Sobol {
                    skip: 0,
                    shift_seed: Some(17),
                },
                analysis: SobolOptions {
                    bootstrap: 200,
                    seed: 5,
                    ..SobolOptions::default()
                },
            },
            screen: ScreenRule {
                metric: ScreenMetric::TotalOrder,
                threshold: 0.2,
            },
            batch: 3,
        }
    }

    fn objective(rows: &[Vec<f64>]) -> Vec<Result<Vec<f64>>> {
        rows.iter()
            .map(|x| Ok(vec![ishigami(x, 7.0, 0.1), g_function(x, &[0.0, 1.0, 9.0])]))
            .collect()
    }

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    #[test]
    fn resume_after_truncating_the_log_gives_identical_indices() {
        let dir = tempfile::tempdir().unwrap();
        let study = Study::new(sobol_spec()).unwrap();
        let total = study.design().len();
        assert_eq!(total, 256 * 5);
        let quiet = RunOptions { quiet: true };
        let full = pool(2)
            .install(|| study.run(dir.path(), objective, &quiet))
            .unwrap();
        assert_eq!(full.evaluated_now, total);
        assert_eq!(
            full.screened,
            vec!["x1".to_string(), "x2".to_string(), "x3".to_string()]
        );
        let indices_before = std::fs::read_to_string(dir.path().join(INDICES_FILE)).unwrap();

        // Keep the header, 300 complete records and half of the next line.
        let log_path = dir.path().join(LOG_FILE);
        let text = std::fs::read_to_string(&log_path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut cut = lines[..301].join("\n");
        cut.push('\n');
        cut.push_str(&lines[301][..lines[301].len() / 2]);
        std::fs::write(&log_path, cut).unwrap();

        // A fresh study object from the same spec: same seed, same design.
        let again = Study::new(sobol_spec()).unwrap();
        assert_eq!(again.design_digest(), study.design_digest());
        let calls = AtomicUsize::new(0);
        let counting = |rows: &[Vec<f64>]| {
            calls.fetch_add(rows.len(), Ordering::SeqCst);
            objective(rows)
        };
        let resumed = pool(1)
            .install(|| again.run(dir.path(), counting, &quiet))
            .unwrap();
        assert_eq!(resumed.evaluated_now, total - 300);
        assert_eq!(calls.load(Ordering::SeqCst), total - 300);
        assert_eq!(resumed.outputs, full.outputs);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(INDICES_FILE)).unwrap(),
            indices_before
        );

        // Every row exactly once in the log.
        let text = std::fs::read_to_string(&log_path).unwrap();
        let mut ids: Vec<usize> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ids.len(), total);
        ids.sort_unstable();
        assert_eq!(ids, (0..total).collect::<Vec<_>>());

        // Running once more evaluates nothing.
        let third = again.run(dir.path(), objective, &quiet).unwrap();
        assert_eq!(third.evaluated_now, 0);
        assert_eq!(third.outputs, full.outputs);
        for f in [
            "ranking_ishigami.png",
            "ranking_gfun.png",
            "screened.toml",
            "study.json",
        ] {
            assert!(dir.path().join(f).exists(), "{f}");
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count_or_batch() {
        let quiet = RunOptions { quiet: true };
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let one = pool(1)
            .install(|| {
                Study::new(sobol_spec())
                    .unwrap()
                    .run(d1.path(), objective, &quiet)
            })
            .unwrap();
        let spec2 = StudySpec {
            batch: 7,
            ..sobol_spec()
        };
        let two = pool(2)
            .install(|| Study::new(spec2).unwrap().run(d2.path(), objective, &quiet))
            .unwrap();
        assert_eq!(one.outputs, two.outputs);
    }

    #[test]
    fn a_different_study_in_the_same_folder_is_refused() {
        let quiet = RunOptions { quiet: true };
        let dir = tempfile::tempdir().unwrap();
        Study::new(sobol_spec())
            .unwrap()
            .run(dir.path(), objective, &quiet)
            .unwrap();
        let mut other = sobol_spec();
        other.method = Method::Sobol {
            n: 256,
            sampling: BaseSampling::Sobol {
                skip: 0,
                shift_seed: Some(18),
            },
            analysis: SobolOptions::default(),
        };
        let err = Study::new(other)
            .unwrap()
            .run(dir.path(), objective, &quiet)
            .unwrap_err();
        assert!(err.to_string().contains("different study"), "{err}");
    }

    #[test]
    fn morris_study_screens_out_inert_parameters() {
        let quiet = RunOptions { quiet: true };
        let dir = tempfile::tempdir().unwrap();
        let spec = StudySpec {
            parameters: ["k_soil", "porosity", "snow_albedo", "inert_a", "inert_b"]
                .map(String::from)
                .to_vec(),
            outputs: vec!["alt".into()],
            method: Method::Morris {
                design: MorrisOptions {
                    levels: 4,
                    trajectories: 10,
                    candidates: Some(40),
                    seed: 2,
                },
                analysis: MorrisAnalyzeOptions::default(),
            },
            screen: ScreenRule {
                metric: ScreenMetric::MuStarShare,
                threshold: 0.05,
            },
            batch: 2,
        };
        let f = |rows: &[Vec<f64>]| -> Vec<Result<Vec<f64>>> {
            rows.iter()
                .map(|x| Ok(vec![5.0 * x[0] + 2.0 * x[1] * x[1] + x[2]]))
                .collect()
        };
        let res = Study::new(spec)
            .unwrap()
            .run(dir.path(), f, &quiet)
            .unwrap();
        assert_eq!(res.screened, vec!["k_soil", "porosity", "snow_albedo"]);
        let screened = read_screened(&dir.path().join("screened.toml")).unwrap();
        assert_eq!(screened.parameters, res.screened);
        assert_eq!(screened.registry_names, res.screened);
        let csv = std::fs::read_to_string(dir.path().join(INDICES_FILE)).unwrap();
        assert!(
            csv.lines().any(|l| l.starts_with("alt,k_soil,1,5,5,")),
            "{csv}"
        );
    }

    #[test]
    fn outputs_without_a_value_keep_the_morris_trajectories_that_have_one() {
        let quiet = RunOptions { quiet: true };
        let dir = tempfile::tempdir().unwrap();
        let spec = StudySpec {
            parameters: ["a", "b", "c"].map(String::from).to_vec(),
            outputs: vec!["always".into(), "holes".into()],
            method: Method::Morris {
                design: MorrisOptions {
                    levels: 4,
                    trajectories: 12,
                    candidates: Some(30),
                    seed: 4,
                },
                analysis: MorrisAnalyzeOptions::default(),
            },
            screen: ScreenRule {
                metric: ScreenMetric::MuStarShare,
                threshold: 0.05,
            },
            batch: 1,
        };
        // Both outputs are a + 2 b; `holes` has no value where c = 1 (a
        // trajectory based at c = 1/3 steps there, one based at 0 never does).
        let f = |rows: &[Vec<f64>]| -> Vec<Result<Vec<f64>>> {
            rows.iter()
                .map(|x| {
                    let y = x[0] + 2.0 * x[1];
                    Ok(vec![y, if x[2] > 0.9 { f64::NAN } else { y }])
                })
                .collect()
        };
        let study = Study::new(spec).unwrap();
        let per = 4;
        let kept = study
            .design()
            .chunks(per)
            .filter(|t| t.iter().all(|x| x[2] <= 0.9))
            .count();
        assert!(
            (2..12).contains(&kept),
            "{kept} trajectories without a hole"
        );
        let res = study.run(dir.path(), f, &quiet).unwrap();
        assert_eq!(res.failed_rows, 0);
        let always = &res.outputs[0];
        assert!(always.note.is_none());
        let holes = &res.outputs[1];
        let note = holes.note.as_deref().unwrap();
        assert!(
            note.contains(&format!("the {kept} of 12 trajectories")),
            "{note}"
        );
        // A linear function's elementary effects are its slopes, whichever
        // trajectories remain.
        let (Ok(OutputIndices::Morris(all)), Ok(OutputIndices::Morris(some))) =
            (&always.indices, &holes.indices)
        else {
            panic!("Morris indices for both outputs")
        };
        for (j, slope) in [1.0, 2.0, 0.0].into_iter().enumerate() {
            assert!((all.mu[j] - slope).abs() < 1e-12 && (some.mu[j] - slope).abs() < 1e-12);
            assert_eq!(all.effects[j].len(), 12);
            assert_eq!(some.effects[j].len(), kept);
        }
        let csv = std::fs::read_to_string(dir.path().join(INDICES_FILE)).unwrap();
        assert!(csv.lines().next().unwrap().ends_with(",trajectories"));
        assert!(
            csv.lines()
                .any(|l| l.starts_with("holes,b,1,") && l.ends_with(&format!(",{kept}"))),
            "{csv}"
        );
    }

    #[test]
    fn sobol_indices_of_an_output_without_every_value_are_refused() {
        let quiet = RunOptions { quiet: true };
        let dir = tempfile::tempdir().unwrap();
        let f = |rows: &[Vec<f64>]| -> Vec<Result<Vec<f64>>> {
            rows.iter()
                .map(|x| {
                    let y = ishigami(x, 7.0, 0.1);
                    Ok(vec![y, if x[0] > 0.95 { f64::NAN } else { y }])
                })
                .collect()
        };
        let res = Study::new(sobol_spec())
            .unwrap()
            .run(dir.path(), f, &quiet)
            .unwrap();
        assert!(res.outputs[0].indices.is_ok());
        let e = res.outputs[1].indices.as_ref().unwrap_err();
        assert!(e.contains("give no value") && e.contains("Sobol"), "{e}");
    }

    #[test]
    fn failed_evaluations_are_recorded_not_rerun() {
        let quiet = RunOptions { quiet: true };
        let dir = tempfile::tempdir().unwrap();
        let study = Study::new(sobol_spec()).unwrap();
        let failing = |rows: &[Vec<f64>]| -> Vec<Result<Vec<f64>>> {
            rows.iter()
                .map(|x| {
                    if x[0] > 0.9 {
                        Err(calimap::Error::model(
                            Some("cell 3".into()),
                            "soil temperature not finite",
                        ))
                    } else {
                        Ok(vec![ishigami(x, 7.0, 0.1), 1.0])
                    }
                })
                .collect()
        };
        let err = study.run(dir.path(), failing, &quiet).unwrap_err();
        assert!(err.to_string().contains("failed"), "{err}");
        let log = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        assert!(log.contains("soil temperature not finite"));
        let calls = AtomicUsize::new(0);
        let counting = |rows: &[Vec<f64>]| {
            calls.fetch_add(rows.len(), Ordering::SeqCst);
            failing(rows)
        };
        assert!(study.run(dir.path(), counting, &quiet).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}

/// The demo experiment's `[sensitivity]` section parses and yields a valid study.
#[test]
fn demo_experiment_section_is_valid() {
    use calimap::sensitivity::section::{MethodName, SensitivitySection};
    use calimap::sensitivity::study::Study;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/demo-sensitivity.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let raw: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        raw.get("kind").and_then(|v| v.as_str()),
        Some("sensitivity")
    );
    let s = SensitivitySection::from_experiment(&path, &raw).unwrap();
    assert_eq!(s.method, MethodName::Morris);
    let names = s.parameters.clone().unwrap();
    let seed = raw.get("seed").and_then(|v| v.as_integer()).unwrap() as u64;
    let study = Study::new(s.to_spec(names.clone(), seed)).unwrap();
    assert_eq!(study.design().len(), s.trajectories * (names.len() + 1));
}
