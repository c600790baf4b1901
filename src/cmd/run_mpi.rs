//! `calimap run EXPERIMENT --mpi`: a hindcast or a calibration over MPI ranks.
//!
//! Every rank starts the same command. Rank 0 reads the experiment and runs
//! the workflow exactly as on one machine (optimiser, evaluation log,
//! checkpoints, progress, every output file), handing each domain run out to
//! all ranks through the MPI engine; the other ranks open the same domain
//! files and run the groups of cells they are given with rayon
//! ([`crate::workflow::domain::serve_domain`]), printing and writing nothing.
//! Whatever happens on rank 0 (success, error or panic), it releases the
//! other ranks before it returns.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::RunArgs;
use crate::config::{Body, Experiment};
use crate::domain::distributed::{engine_from_flag, AnyEngine, Engine};
use crate::workflow::domain::{serve_domain, stop_workers, DomainSetup};
use crate::Error;

/// Run an experiment file over MPI (every rank calls this).
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    // Threads per rank: rayon's global pool, sized by `--threads` before this.
    let engine = engine_from_flag(true, None)?;
    let exp = Experiment::load(&args.experiment);
    if !engine.is_root() {
        let exp = exp.map_err(|e| e.to_string());
        let open = || -> crate::Result<DomainSetup> {
            let exp = exp.as_ref().map_err(|e| Error::Other(e.clone()))?;
            match &exp.body {
                Body::Hindcast(h) => {
                    DomainSetup::from_sections(&exp.path, &h.domain, &h.model, &h.spinup, &h.period)
                }
                Body::Calibration(c) => {
                    DomainSetup::from_sections(&exp.path, &c.domain, &c.model, &c.spinup, &c.period)
                }
                _ => Err(Error::Unsupported(
                    "only hindcast and map calibration experiments run over MPI".into(),
                )),
            }
        };
        serve_domain(&engine, &open)?;
        return Ok(());
    }
    as_root(&engine, || {
        let exp = exp?;
        match &exp.body {
            Body::Hindcast(h) => super::merge::run_hindcast_experiment_on(&engine, &exp, h, args)?,
            Body::Calibration(c) => {
                let s = crate::workflow::calibration::run_calibration_on(
                    &engine,
                    &exp,
                    c,
                    args.out.clone(),
                    args.quiet,
                )?;
                println!("{}", serde_json::to_string_pretty(&s)?);
            }
            Body::PointCalibration(_) => anyhow::bail!(
                "{}: a point calibration runs on one machine (its batches in threads); run it without --mpi",
                exp.path.display()
            ),
            _ => anyhow::bail!(
                "{}: --mpi distributes hindcast and calibration experiments; run this kind without --mpi",
                exp.path.display()
            ),
        }
        if !args.quiet {
            let (sent, received) = engine.traffic();
            eprintln!(
                "mpi: {} ranks; rank 0 sent {sent} bytes and received {received} bytes",
                engine.size()
            );
        }
        Ok(())
    })
}

/// Run rank 0's work, then release the other ranks whatever the outcome.
fn as_root(engine: &AnyEngine, work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    let outcome = catch_unwind(AssertUnwindSafe(work));
    let stopped = stop_workers(engine);
    match outcome {
        Ok(result) => {
            result?;
            stopped?;
            Ok(())
        }
        Err(panic) => resume_unwind(panic),
    }
}
