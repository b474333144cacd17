#!/usr/bin/env bash
# Train on a multi-host TPU VM slice: run the SAME command on every host, e.g.
#   gcloud compute tpus tpu-vm ssh NAME --worker=all --command \
#     "cd affect-jax && bash launch/train_tpu_vm.sh configs/affwild2_cnn.py gs://BUCKET/runs/cnn \
#      --config.dataset.data_dir=gs://BUCKET/tfds"
# jax.distributed.initialize() finds the other hosts from the TPU metadata;
# each process reads its own shard of the records and places its rows of every
# global batch on its own chips. Only process 0 writes metrics; Orbax writes
# checkpoints from all hosts. The workdir and data_dir must be visible to every
# host (a GCS bucket or a shared file system).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
config="$1"; workdir="$2"; shift 2
source launch/setup_env.sh ""  # No extras; see setup_env.sh.
python -m pip install --quiet "jax[tpu]>=0.10,<0.11"
python -m affect_jax.main --config="$config" --workdir="$workdir" \
  --config.distributed=True --config.fast_cpu_convolutions=False "$@"
