r"""The extract stage: a trained CNN's per-frame features for the temporal stage.

  python -m affect_jax.main --config=configs/affwild2_extract.py \
      --workdir=runs/features --config.extract.cnn_workdir=runs/affwild2_cnn

Writes runs/features/features/{train,validation}/ (one 300-d float16 vector per
frame plus video, frame and labels; ~1 GB for Aff-Wild2's 1.6M training
frames). The dataset and its location come from the CNN checkpoint's own
config; set --config.dataset.data_dir if the records moved. Rerunning resumes
an interrupted extraction and skips finished splits.

The store keeps every label its records have. For the RNN of expressions,
AUs or all three tasks (configs/affwild2_rnn.py:task=...), extract over the
`affwild2/multitask` records: a multitask CNN's own, or a VA CNN's with
`dataset=affwild2/multitask` (built in the same data_dir).

Arguments: `cnn_workdir=DIR`, `dataset=NAME` (default: the CNN's), `tiny`
(small batches, for tests).
"""

import ml_collections

from affect_jax import config as config_lib
from affect_jax.config import parse_arg


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, cnn_workdir="", dataset="", tiny=False)
    config = config_lib.run_header("extract")

    config.extract = ml_collections.ConfigDict()
    config.extract.cnn_workdir = args.cnn_workdir  # --workdir of the train_cnn run.
    # The records to run it over; "": the CNN's own dataset.
    config.extract.dataset = args.dataset
    config.extract.checkpoint = "best"  # "best" (validation loss), "latest" or a step.
    config.extract.feature_dtype = "float16"  # Or "float32"; float16 halves the store.
    config.extract.splits = ("train", "validation")
    config.extract.batch_size = 256

    config.dataset = ml_collections.ConfigDict()
    config.dataset.data_dir = ""  # Empty: the one saved in the CNN checkpoint.

    config.input = config_lib.input_options()
    if args.tiny:
        config.extract.batch_size = 32
    return config
