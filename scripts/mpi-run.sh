#!/usr/bin/env bash
# Run a calimap experiment over MPI: one rank per node, rayon threads inside.
# calimap must be built against the cluster's own MPI:
#   module load openmpi            # or the site's MPI; mpicc must be on PATH
#   cargo build --release --features mpi
# Usage:
#   scripts/mpi-run.sh RANKS EXPERIMENT.toml [calimap run options...]
#   (inside a Slurm allocation: salloc -N 4 --ntasks-per-node=1 -c 32, then
#    scripts/mpi-run.sh 4 experiments/my-hindcast.toml)
# Set LAUNCHER=srun to start ranks with srun (Slurm's PMI/PMIx) instead of mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."

ranks=${1:?usage: mpi-run.sh RANKS EXPERIMENT.toml [calimap run options]}
experiment=${2:?usage: mpi-run.sh RANKS EXPERIMENT.toml [calimap run options]}
shift 2
calimap=${CALIMAP:-./target/release/calimap}
threads=${THREADS:-${SLURM_CPUS_PER_TASK:-$(nproc)}}

if [ ! -x "${calimap}" ]; then
  echo "mpi-run: ${calimap} not found; build it with: cargo build --release --features mpi" >&2
  exit 1
fi

case "${LAUNCHER:-mpirun}" in
  srun)
    exec srun --ntasks="${ranks}" --ntasks-per-node=1 --cpus-per-task="${threads}" \
      "${SRUN_MPI:---mpi=pmix}" \
      "${calimap}" run "${experiment}" --mpi --threads "${threads}" "$@"
    ;;
  mpirun)
    extra=()
    # OpenMPI refuses to run as root unless told; containers often lack CMA.
    if [ "$(id -u)" -eq 0 ]; then
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
    # More ranks than cores (a laptop test) needs --oversubscribe.
    if [ "${ranks}" -gt "$(nproc)" ]; then extra+=(--oversubscribe); fi
    exec mpirun -np "${ranks}" --bind-to none "${extra[@]}" \
      "${calimap}" run "${experiment}" --mpi --threads "${threads}" "$@"
    ;;
  *)
    echo "mpi-run: LAUNCHER must be mpirun or srun" >&2
    exit 2
    ;;
esac
