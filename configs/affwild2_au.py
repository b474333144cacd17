r"""The reference CNN detecting Aff-Wild2's action units (the AU set), multi-label.

Not in the paper; the same network with one sigmoid output per action unit.
Build the AU records once (the raw release in DATA_RAW, with its AU_Set or
AU_Detection_Challenge folder), then train:

  python -m affect_jax.build --dataset=affwild2/au --manual_dir=DATA_RAW \
      --data_dir=DATA
  python -m affect_jax.main --config=configs/affwild2_au.py \
      --workdir=runs/affwild2_au --config.dataset.data_dir=DATA

The embedded default has AU files too:
`python -m affect_jax.synthetic --out=RAW --tasks=va,au`.

Outputs: 13 logits, one per AU of the union of the 2020 (8) and later (12)
sets. A record's `aus` holds -1 for the AUs its file does not annotate; the
loss (`binary_cross_entropy`) and the metrics skip them. Validation reports
the F1 of every annotated AU, their mean (`f1_mean`, the challenges' F1) and
accuracy; plots/f1_validation.png draws the per-AU F1.

Arguments: `quickstart`, `tiny`, `data_dir=D`.
"""

import ml_collections

from affect_jax import config_sections as sections
from affect_jax.config_args import parse_arg
from affect_jax.data import augment, balancing

# The builder's AU slots (data_builders/affwild2/tasks.py AU_NAMES), in order.
ACTION_UNITS = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU20", "AU23", "AU24", "AU25",
    "AU26",
)  # fmt: skip


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, quickstart=False, tiny=False, data_dir="")
    config = ml_collections.ConfigDict()
    config.stage = "train_cnn"
    config.seed = 0
    config.fast_cpu_convolutions = True
    config.distributed = False

    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = "affwild2/au"
    config.dataset.data_dir = args.data_dir
    config.dataset.train_split = "train"
    config.dataset.eval_split = "validation"

    config.loss = "binary_cross_entropy"  # Masked where an AU is not annotated.
    config.targets = ("aus",)  # The record field, one slot per entry of class_names.
    config.num_classes = len(ACTION_UNITS)
    config.label_key = ""
    config.class_names = ACTION_UNITS
    config.balancing = balancing.default_balancing_config()  # VA bins: unused here.
    config.augment = augment.default_augment_config()

    config.model = sections.reference_cnn()
    config.optimizer = sections.sgd_optimizer()

    config.batch_size = 128
    config.eval_batch_size = 256
    sections.set_schedule(config, 100_000, log_every=100, eval_every=5_000, checkpoint_every=1_000)
    config.checkpoint = sections.checkpoint_options()
    config.input = sections.input_options()

    if args.quickstart:
        config.model.conv_features = (16, 32, 64)
        config.batch_size = 64
        sections.set_schedule(config, 800, log_every=50, eval_every=200, checkpoint_every=200)
    if args.tiny:
        config.augment.enabled = False
        config.model.conv_features = (8, 16, 16)
        config.model.feature_dim = 32
        config.batch_size = 32
        config.eval_batch_size = 64
        sections.set_schedule(config, 20, log_every=5, eval_every=10, checkpoint_every=5)
    return config
