#!/usr/bin/env bash
# The MPI tests: installs OpenMPI and libclang where missing, builds calimap
# with the `mpi` feature and runs the tests that start it under mpirun with 2
# and 3 ranks (OpenMPI needs its allow-run-as-root variables under root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --mpi
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
cargo test --features mpi --lib distributed 2>&1
cargo test --features mpi --test mpi 2>&1
