//! `calimap run EXPERIMENT.toml`: dispatch on the experiment's `kind`.

use anyhow::Context;

use super::RunArgs;
use crate::config::{Body, Experiment};
use crate::io::RunManifest;

/// Run an experiment file.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.mpi && !cfg!(feature = "mpi") {
        anyhow::bail!(
            "--mpi was given but this calimap was built without MPI support; rebuild with `cargo build --release --features mpi`"
        );
    }
    let exp = Experiment::load(&args.experiment)?;
    let out = args.out.clone().unwrap_or_else(|| exp.output.clone());
    match &exp.body {
        Body::Point(p) => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut manifest = RunManifest::from_config(&exp.raw, Some(exp.seed))?;
            manifest.add_input(&exp.path)?;
            manifest.add_input(&p.forcing_path)?;
            manifest.write_to_dir(&out)?;
            let s = crate::column::point::run_point(&exp.path, p, &out)?;
            if !args.quiet {
                println!(
                    "spin-up: {} cycles of {:.2} years ({:.1} simulated years), residual {:.4} K{}",
                    s.spinup.cycles,
                    s.spinup.cycle_years,
                    s.spinup.simulated_years,
                    s.spinup.residual,
                    if s.spinup.converged {
                        ""
                    } else {
                        " (not converged)"
                    }
                );
                println!(
                    "transient run: {} years; energy closure {:.2e} W m-2, water closure {:.2e} mm/yr",
                    s.years.len(),
                    s.energy_closure,
                    s.water_closure
                );
                for y in &s.years {
                    println!(
                        "  {}: class {}, ALT {}, MAGT(10 m) {:.2} C",
                        y.year,
                        y.class.code(),
                        y.alt
                            .map(|a| format!("{a:.2} m"))
                            .unwrap_or_else(|| "-".into()),
                        y.magt
                    );
                }
                for o in &s.outputs {
                    println!("wrote {}", o.display());
                }
            }
            Ok(())
        }
    }
}
