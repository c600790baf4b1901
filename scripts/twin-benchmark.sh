#!/usr/bin/env bash
# Optimiser comparison on the 22-dimensional twin experiment
# (experiments/twin-calibration.toml): Bayesian optimisation, random search,
# Latin hypercube and particle swarm, each with the same evaluation budget,
# over several seeds. For every run it reports the best Kappa and the
# evaluations needed to reach Kappa >= 0.95 and >= 0.99 (within 1 % of the
# known optimum 1); then the median per optimiser (runs that never reach a
# level count as "budget+1" for the median and are reported as such).
#
# usage: scripts/twin-benchmark.sh [SEEDS] [BUDGET] [OUT]
#   SEEDS  number of seeds (default 5), BUDGET evaluations (default 100),
#   OUT    output folder (default ../out/twin-benchmark)
# CALIMAP_BIN chooses the binary (default target/release/calimap);
# OPTIMIZERS the optimisers run (default "bo random lhs pso"); EXPERIMENT
# the experiment file (default experiments/twin-calibration.toml); a runs.csv
# already in OUT keeps its rows of optimisers not run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-5}
BUDGET=${2:-100}
OUT=${3:-../out/twin-benchmark}
mkdir -p "$OUT"
BIN=${CALIMAP_BIN:-target/release/calimap}
[ -x "$BIN" ] || cargo build --release
OPTIMIZERS=${OPTIMIZERS:-bo random lhs pso}
TABLE="$OUT/runs.csv"
echo "optimizer,seed,evaluations,best_kappa,evals_to_0.95,evals_to_0.99,seconds" > "$TABLE.tmp"
if [ -f "$TABLE" ]; then
  awk -F, -v keep=" $OPTIMIZERS " 'NR > 1 && index(keep, " " $1 " ") == 0' "$TABLE" >> "$TABLE.tmp"
fi
for opt in $OPTIMIZERS; do
  for seed in $(seq 1 "$SEEDS"); do
    run="$OUT/$opt-seed$seed"
    exp="$OUT/$opt-seed$seed.toml"
    sed -e "s|^seed = .*|seed = $seed|" \
        -e "s|^optimizer = .*|optimizer = \"$opt\"|" \
        -e "s|^budget = .*|budget = $BUDGET|" \
        -e "s|^output = .*|output = \"$(realpath -m "$run")\"|" \
        -e "s|\"\.\./|\"$(pwd)/|g" \
        "${EXPERIMENT:-experiments/twin-calibration.toml}" > "$exp"
    start=$(date +%s)
    "$BIN" run "$exp" --quiet > /dev/null
    secs=$(( $(date +%s) - start ))
    awk -F, -v opt="$opt" -v seed="$seed" -v secs="$secs" -v budget="$BUDGET" '
      NR == 1 { for (i = 1; i <= NF; i++) if ($i == "value") v = i; best = -1; next }
      { n++; if ($NF == "ok" && $v + 0 > best) best = $v + 0;
        if (!t95 && best >= 0.95) t95 = n; if (!t99 && best >= 0.99) t99 = n }
      END { printf "%s,%d,%d,%.4f,%s,%s,%d\n", opt, seed, n, best,
            (t95 ? t95 : "none"), (t99 ? t99 : "none"), secs }' \
      "$run/evaluations.csv" >> "$TABLE.tmp"
    tail -n 1 "$TABLE.tmp"
  done
done
mv "$TABLE.tmp" "$TABLE"
echo
echo "median over $SEEDS seeds (budget $BUDGET; 'none' counts as budget+1):"
awk -F, -v budget="$BUDGET" '
  NR == 1 { next }
  { o = $1; k[o]++; b[o, k[o]] = $4; r95[o] += ($5 != "none"); r99[o] += ($6 != "none");
    e95[o, k[o]] = ($5 == "none" ? budget + 1 : $5);
    e99[o, k[o]] = ($6 == "none" ? budget + 1 : $6) }
  function median(arr, o, n,   i, j, t, x) {
    for (i = 1; i <= n; i++) x[i] = arr[o, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
    return (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
  END { printf "%-8s %12s %14s %14s %10s %10s\n", "method", "best Kappa", "evals to 0.95", "evals to 0.99", "seeds 0.95", "seeds 0.99"
        for (o in k) printf "%-8s %12.4f %14s %14s %8d/%d %8d/%d\n", o, median(b, o, k[o]), median(e95, o, k[o]), median(e99, o, k[o]), r95[o], k[o], r99[o], k[o] }' "$TABLE" | tee "$OUT/summary.txt"
