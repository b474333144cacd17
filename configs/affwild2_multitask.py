r"""One CNN for valence-arousal, the 8 expressions and 13 action units of Aff-Wild2 at once.

The paper's future work. Build the joined records once (the raw release in
DATA_RAW with its VA, EXPR and AU folders), then train:

  python -m affect_jax.build --dataset=affwild2/multitask --manual_dir=DATA_RAW \
      --data_dir=DATA
  python -m affect_jax.main --config=configs/affwild2_multitask.py \
      --workdir=runs/affwild2_multitask --config.dataset.data_dir=DATA

The embedded default has every task with
`python -m affect_jax.synthetic --out=RAW --tasks=va,expr,au`.

A frame keeps whichever labels it has; each task's loss and metrics count only
the frames it labels (affect_jax/multitask.py). Validation reports ccc_valence,
ccc_arousal, ccc_mean, expression_accuracy, expression_f1_macro, au_f1_<AU>,
au_f1_mean; plots/ holds a VA scatter, the expression confusion matrices and
the per-AU F1. A multitask checkpoint also serves `affect_jax.predict`, which
uses its valence and arousal outputs.

Arguments: `quickstart`, `tiny`, `data_dir=D`.
"""

import ml_collections

from affect_jax import config_sections as sections
from affect_jax import multitask
from affect_jax.config_args import parse_arg
from affect_jax.data import augment, balancing

# The builder's class and AU names (data_builders/affwild2/tasks.py), in order.
EXPRESSION_CLASSES = (
    "Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other",
)  # fmt: skip
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
    config.dataset.name = "affwild2/multitask"
    config.dataset.data_dir = args.data_dir
    config.dataset.train_split = "train"
    config.dataset.eval_split = "validation"

    config.loss = "multitask"
    config.targets = multitask.TARGETS  # Record fields, flattened in this order.
    config.num_classes = multitask.NUM_EXPRESSIONS
    config.label_key = ""
    config.class_names = EXPRESSION_CLASSES
    config.action_units = ACTION_UNITS
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
