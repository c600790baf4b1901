#!/usr/bin/env bash
# The whole test suite: installs missing system libraries (netCDF; OpenMPI and
# libclang for the MPI tests), runs every test of the default build, then the
# MPI tests (a build with `--features mpi`, runs under mpirun with 2 and 3 ranks).
# Tests that need the real data in ../shared/data find it there or through
# CALIMAP_SHARED_DATA; with CI=true they fail when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --mpi
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --all-targets --no-fail-fast 2>&1
bash scripts/test-mpi.sh
