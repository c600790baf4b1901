#!/usr/bin/env bash
# The main job: installs missing system libraries, builds calimap, generates the
# demo domain and runs the demo calibration end to end (outputs in out/demo-calibration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release
./target/release/calimap run experiments/demo-calibration.toml "$@"
