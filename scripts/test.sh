#!/usr/bin/env bash
# The whole test suite: installs missing system libraries, then runs every test.
# Tests that need the real data in ../shared/data find it there or through
# CALIMAP_SHARED_DATA; with CI=true they fail when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --all-targets --no-fail-fast 2>&1
