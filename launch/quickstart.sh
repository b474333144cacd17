#!/usr/bin/env bash
# One command from a fresh clone to a trained, evaluated CNN on the embedded
# default (synthetic faces in the raw Aff-Wild2 layout):
#   bash launch/quickstart.sh [RUN_DIR]        (default RUN_DIR: runs/quickstart)
# Steps: virtual environment + install, generate the raw layout, build it with
# TFDS, train the CNN and evaluate it on the validation videos, extract its
# per-frame features, train the GRU on windows of them and evaluate every
# validation frame (next to the CNN alone). Rerunning skips what is done and
# resumes from the last checkpoints.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
run_dir="${1:-runs/quickstart}"
source launch/setup_env.sh ""  # No extras; see setup_env.sh.

raw="$run_dir/raw_affwild2"
data="$run_dir/tfds"
if [ ! -f "$raw/.complete" ]; then
  python -m affect_jax.synthetic --out="$raw" --preset=quickstart
  touch "$raw/.complete"
fi
python -m affect_jax.build --dataset=affwild2/va --manual_dir="$raw" --data_dir="$data"
python -m affect_jax.main --config=configs/affwild2_cnn.py:quickstart \
  --config.dataset.data_dir="$data" --workdir="$run_dir/cnn"
python -m affect_jax.main --config=configs/affwild2_extract.py \
  --config.extract.cnn_workdir="$run_dir/cnn" --workdir="$run_dir/features"
python -m affect_jax.main --config=configs/affwild2_rnn.py:quickstart \
  --config.rnn.features_dir="$run_dir/features/features" --workdir="$run_dir/gru"

# What the numbers are (synthetic held-out people) and where to look next.
python -c "from affect_jax.stages.quickstart_summary import main; main()" "$run_dir"
