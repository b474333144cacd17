#!/usr/bin/env bash
# Reruns every experiment of the paper's Tables I and III and writes REPORT.md.
#   bash launch/reproduce_paper.sh --workdir_root=runs/paper [--preset=synthetic|full|tiny] \
#       [--affwild2_raw=DIR] [--ck_plus_raw=DIR] [--jaffe_raw=DIR] [--data_dir=DIR]
# Datasets without a raw folder use the embedded default (synthetic layouts).
# Rerunning skips finished experiments and resumes unfinished ones.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
if [ -z "${AFFECT_JAX_NO_SETUP:-}" ]; then
  source launch/setup_env.sh ""  # No extras; see setup_env.sh.
fi
python -m affect_jax.reproduce "$@"
