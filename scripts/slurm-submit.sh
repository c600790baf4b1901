#!/usr/bin/env bash
# Submit a tiled calimap run as a Slurm job array plus its dependent merge job.
# Usage: scripts/slurm-submit.sh EXPERIMENT.toml OUT_DIR N_TILES [extra sbatch options...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
experiment=${1:?usage: slurm-submit.sh EXPERIMENT.toml OUT_DIR N_TILES [sbatch options]}
out=${2:?usage: slurm-submit.sh EXPERIMENT.toml OUT_DIR N_TILES [sbatch options]}
n=${3:?usage: slurm-submit.sh EXPERIMENT.toml OUT_DIR N_TILES [sbatch options]}
shift 3
mkdir -p "${out}"
jid=$(sbatch --parsable --array="1-${n}" --export="ALL,N_TILES=${n}" "$@" \
  "${here}/slurm-array.sbatch" "${experiment}" "${out}")
jid=${jid%%;*}
mid=$(sbatch --parsable --dependency="afterok:${jid}" "$@" \
  "${here}/slurm-merge.sbatch" "${out}" "${n}")
echo "tiles: job ${jid} (array 1-${n}); merge: job ${mid} after all tiles succeed"
