#!/usr/bin/env bash
# Builds a profile-guided (PGO) release binary of calimap in target/pgo/
# (target/pgo-native/ with --native, target/pgo[-native]-mpi/ with --mpi).
#
# Step 1 builds an instrumented binary (target/pgo-gen/), step 2 runs it on a
# training workload (the column benchmark at daily and 3-hourly steps and the
# Tanggula point run when the shared data are there), step 3 merges the
# profiles with the toolchain's llvm-profdata and step 4 rebuilds with them.
# PGO changes only code layout, inlining and branch decisions, never the
# floating-point operations, so the binary's results are bit for bit those of
# `cargo build --release` (scripts/build-pgo.sh --check compares them on the
# Tanggula run, its summary.json to the last digit). With --native the code
# is also compiled for this machine's processor (-C target-cpu=native; the
# binary then may not start on older processors). With --mpi both builds
# have the `mpi` feature (the cluster's MPI, see scripts/setup.sh --mpi).
# Needs the rustup component llvm-tools (installed here when missing and
# rustup can reach its server).
# Usage: scripts/build-pgo.sh [--native] [--mpi] [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
check=0
cpu=""
out=pgo
features=()
setup=()
mpi=""
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --native) cpu="-Ctarget-cpu=native"; out=pgo-native ;;
    --mpi) features=(--features mpi); setup=(--mpi); mpi=-mpi ;;
    *) echo "build-pgo: unknown option $arg (use --native, --mpi, --check)" >&2; exit 2 ;;
  esac
done
out="$out$mpi"

bash scripts/setup.sh "${setup[@]}"
sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | sed -n 's/^host: //p')"
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
  echo "build-pgo: llvm-profdata missing; installing the rustup component llvm-tools" >&2
  rustup component add llvm-tools || {
    echo "build-pgo: could not install llvm-tools (rustup component add llvm-tools); a PGO build needs it" >&2
    exit 1
  }
fi

root="$PWD"
prof="$root/target/$out-profiles"
rm -rf "$prof"
mkdir -p "$prof"

echo "build-pgo: 1/4 instrumented build (target/$out-gen)" >&2
RUSTFLAGS="$cpu -Cprofile-generate=$prof" cargo build --release "${features[@]}" --target-dir "target/$out-gen"
# Build scripts of the dependencies ran instrumented too; only the training
# run's profiles are kept.
rm -f "$prof"/*.profraw

echo "build-pgo: 2/4 training run" >&2
gen="$root/target/$out-gen/release/calimap"
"$gen" bench column --years 2 --repeats 1 >/dev/null
shared="${CALIMAP_SHARED_DATA:-$root/../shared/data}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# The Tanggula point run with binary $1, written to folder $2.
tanggula() {
  CALIMAP_SHARED_DATA="$shared" "$1" run experiments/tanggula-point.toml --out "$2" --quiet >/dev/null
}
if [ -f "$shared/tanggula/forcing.txt" ]; then
  tanggula "$gen" "$scratch/tanggula"
fi

echo "build-pgo: 3/4 merging profiles" >&2
"$profdata" merge -o "$prof/merged.profdata" "$prof"/*.profraw

echo "build-pgo: 4/4 optimised build (target/$out)" >&2
RUSTFLAGS="$cpu -Cprofile-use=$prof/merged.profdata" cargo build --release "${features[@]}" --target-dir "target/$out"
echo "build-pgo: built target/$out/release/calimap" >&2

if [ "$check" = 1 ]; then
  if [ ! -f "$shared/tanggula/forcing.txt" ]; then
    echo "build-pgo: --check needs the shared data ($shared/tanggula/forcing.txt)" >&2
    exit 1
  fi
  cargo build --release "${features[@]}"
  tanggula target/release/calimap "$scratch/check-release"
  tanggula "target/$out/release/calimap" "$scratch/check-pgo"
  # summary.json holds the annual diagnostics and the closures to the last
  # digit; its first line names the output folder, which differs.
  for f in daily.csv annual.csv spinup.csv summary.json; do
    if ! cmp -s <(grep -v '"output"' "$scratch/check-release/$f") \
                <(grep -v '"output"' "$scratch/check-pgo/$f"); then
      echo "build-pgo: $f differs between the release and the PGO build" >&2
      exit 1
    fi
  done
  echo "build-pgo: the Tanggula run's daily, annual, spin-up and summary files are identical in both builds" >&2
fi
