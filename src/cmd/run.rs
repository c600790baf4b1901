//! `calimap run EXPERIMENT.toml`: dispatch on the experiment's `kind`.

use super::RunArgs;

/// Run an experiment file.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.mpi && !cfg!(feature = "mpi") {
        anyhow::bail!(
            "--mpi was given but this calimap was built without MPI support; rebuild with `cargo build --release --features mpi`"
        );
    }
    anyhow::bail!(
        "experiment kinds are not available yet: {}",
        args.experiment.display()
    )
}
