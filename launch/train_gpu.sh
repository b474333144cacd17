#!/usr/bin/env bash
# Train on the GPUs of one machine: every visible GPU joins the data mesh and
# config.batch_size is split over them (it must be a multiple of their count).
#   bash launch/train_gpu.sh CONFIG WORKDIR [--config.key=value ...]
# e.g.
#   bash launch/train_gpu.sh configs/affwild2_cnn.py runs/cnn \
#       --config.dataset.data_dir=DATA --config.input.num_workers=8
# Pick GPUs with CUDA_VISIBLE_DEVICES. Feeding a GPU takes Grain worker
# processes (about one CPU core each; benchmarks/RESULTS.md).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
config="$1"; workdir="$2"; shift 2
source launch/setup_env.sh cuda12
python -c "import jax; assert jax.default_backend() == 'gpu', 'no GPU visible to JAX'; \
print('GPUs:', jax.devices())"
python -m affect_jax.main --config="$config" --workdir="$workdir" \
  --config.fast_cpu_convolutions=False "$@"
