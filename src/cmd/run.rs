//! `calimap run EXPERIMENT.toml`: dispatch on the experiment's `kind`.

use anyhow::Context;

use super::RunArgs;
use crate::config::{Body, Experiment};

/// Run an experiment file.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.mpi && !cfg!(feature = "mpi") {
        anyhow::bail!(
            "--mpi was given but this calimap was built without MPI support; rebuild with `cargo build --release --features mpi`"
        );
    }
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the number of threads")?;
    }
    if args.mpi {
        return super::run_mpi::run(&args);
    }
    let exp = Experiment::load(&args.experiment)?;
    match &exp.body {
        Body::Point(p) => {
            let s = crate::workflow::point::run_point(&exp, p, args.out.clone(), args.quiet)?;
            if !args.quiet {
                eprintln!(
                    "wrote {} ({} steps; energy imbalance {:.2e} W m-2, water imbalance {:.2e} mm/yr)",
                    s.output.display(),
                    s.steps,
                    s.energy_imbalance_w_m2,
                    s.water_imbalance_mm_per_year
                );
            }
        }
        Body::Hindcast(h) => super::merge::run_hindcast_experiment(&exp, h, &args)?,
        Body::Calibration(c) => {
            let s = crate::workflow::calibration::run_calibration(
                &exp,
                c,
                args.out.clone(),
                args.quiet,
            )?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        Body::PointCalibration(c) => {
            let s = crate::workflow::point_calibration::run_point_calibration(
                &exp,
                c,
                args.out.clone(),
                args.quiet,
            )?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        Body::Sensitivity(s) => {
            let out = args.out.clone().unwrap_or_else(|| exp.output.clone());
            let r = crate::workflow::sensitivity::run_sensitivity(
                &exp.path, s, exp.seed, &out, args.quiet,
            )?;
            if !args.quiet {
                for o in &r.outputs {
                    match (&o.indices, &o.note) {
                        (Err(e), _) => eprintln!("warning: output `{}` not analysed: {e}", o.name),
                        (Ok(_), Some(n)) => eprintln!("note: output `{}`: {n}", o.name),
                        _ => {}
                    }
                }
                eprintln!(
                    "wrote {} ({} rows evaluated now, {} failed); screened: {}",
                    out.display(),
                    r.evaluated_now,
                    r.failed_rows,
                    r.screened.join(", ")
                );
            }
        }
        Body::Survey(cfg) => {
            let mut cfg = cfg.clone();
            cfg.output = Some(args.out.clone().unwrap_or_else(|| exp.output.clone()));
            let report = crate::empirical::survey::run_survey_calibration(&cfg)?;
            if !args.quiet {
                eprintln!(
                    "{} scored cells ({} left out for nodata); E = 1 everywhere: Kappa {:.4}, OA {:.4}",
                    report.n_cells, report.left_out, report.uniform_e1.kappa, report.uniform_e1.oa
                );
                for c in &report.calibrations {
                    eprintln!(
                        "{:?} by {:?}: Kappa {:.4}, OA {:.4} after {} evaluations ({:.0} s)",
                        c.model, c.method, c.train.kappa, c.train.oa, c.evaluations, c.seconds
                    );
                }
            }
        }
    }
    Ok(())
}
