#!/usr/bin/env bash
# One command from a fresh clone to a trained, evaluated CNN on the embedded
# default (synthetic faces in the raw Aff-Wild2 layout):
#   bash launch/quickstart.sh [RUN_DIR]        (default RUN_DIR: runs/quickstart)
# Steps: virtual environment + install, generate the raw layout, build it with
# TFDS, train the CNN, evaluate on the validation videos. Rerunning skips what
# is done and resumes training from the last checkpoint.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
run_dir="${1:-runs/quickstart}"
source launch/setup_env.sh

raw="$run_dir/raw_affwild2"
data="$run_dir/tfds"
if [ ! -f "$raw/.complete" ]; then
  python -m affect_jax.synthetic --out="$raw" --preset=quickstart
  touch "$raw/.complete"
fi
python -m affect_jax.build --dataset=affwild2/va --manual_dir="$raw" --data_dir="$data"
python -m affect_jax.main --config=configs/affwild2_cnn.py:quickstart \
  --config.dataset.data_dir="$data" --workdir="$run_dir/cnn"
echo
echo "Done. Metrics: $run_dir/cnn/results.json and metrics.jsonl;"
echo "checkpoints: $run_dir/cnn/checkpoints; plots: $run_dir/cnn/plots;"
echo "TensorBoard: tensorboard --logdir $run_dir/cnn/tensorboard"
