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

python - "$run_dir" <<'PY'
import json, sys
run = sys.argv[1]
cnn = json.load(open(f"{run}/cnn/results.json"))
gru = json.load(open(f"{run}/gru/results.json"))
print("\nWhole-set validation CCC (valence / arousal), synthetic held-out people:")
print(f"  CNN alone, every frame : {cnn['ccc_valence']:.3f} / {cnn['ccc_arousal']:.3f}")
print(f"  CNN + GRU, every frame : {gru['frame_ccc_valence']:.3f} / {gru['frame_ccc_arousal']:.3f}")
PY
echo
echo "Results: $run_dir/{cnn,gru}/results.json and metrics.jsonl; plots: $run_dir/{cnn,gru}/plots;"
echo "checkpoints: $run_dir/{cnn,gru}/checkpoints; features: $run_dir/features/features;"
echo "per-video predictions (challenge format): $run_dir/gru/predictions;"
echo "TensorBoard: tensorboard --logdir $run_dir"
