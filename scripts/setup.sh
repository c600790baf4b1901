#!/usr/bin/env bash
# Installs what calimap needs on a Debian 12 machine where it is missing:
# the netCDF C library (libnetcdf-dev) and pkg-config. Rust itself (cargo,
# rustc >= 1.80) must be on the PATH; the script says so clearly when it is not.
# Usage: scripts/setup.sh [--mpi]   (--mpi also installs OpenMPI and libclang)
set -euo pipefail

want_mpi=0
[ "${1:-}" = "--mpi" ] && want_mpi=1

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: cargo was not found. Install Rust (https://rustup.rs) and run this again." >&2
    exit 1
  fi
fi

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; else
    echo "setup: not root and no sudo; install these Debian packages by hand: $*" >&2
  fi
fi

missing=()
dpkg -s libnetcdf-dev >/dev/null 2>&1 || missing+=(libnetcdf-dev)
dpkg -s pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ "$want_mpi" = 1 ]; then
  dpkg -s libopenmpi-dev >/dev/null 2>&1 || missing+=(libopenmpi-dev openmpi-bin)
  dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev clang)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
