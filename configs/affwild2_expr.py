r"""The reference CNN classifying Aff-Wild2's basic expressions (the EXPR set).

Not in the paper, which trains valence-arousal on Aff-Wild2 and expressions on
CK+; the same network and recipe on the other Aff-Wild2 annotation set. Build
the expression records once (the raw release in DATA_RAW, with its EXPR_Set or
EXPR_Classification_Challenge folder), then train:

  python -m affect_jax.build --dataset=affwild2/expr --manual_dir=DATA_RAW \
      --data_dir=DATA
  python -m affect_jax.main --config=configs/affwild2_expr.py \
      --workdir=runs/affwild2_expr --config.dataset.data_dir=DATA

The embedded default has expression files too:
`python -m affect_jax.synthetic --out=RAW --tasks=va,expr`.

Classes: the 8 of the later releases (Neutral, Anger, Disgust, Fear,
Happiness, Sadness, Surprise, Other); the 2020 release uses the first 7.
Validation reports accuracy, macro F1 (the challenges' F1) and per-class
recall; plots/ holds the confusion matrices. The set is dominated by Neutral
and Happiness, so `balance=loss_weights` or `balance=sampling` is worth a run.

Arguments: `balance=none|loss_weights|sampling`, `quickstart`, `tiny`, `data_dir=D`.
"""

import ml_collections

from affect_jax import config_sections as sections
from affect_jax.config_args import parse_arg
from affect_jax.data import augment, balancing

# The builder's class names (data_builders/affwild2/tasks.py), in label order.
EXPRESSION_CLASSES = (
    "Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other",
)  # fmt: skip


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, balance="none", quickstart=False, tiny=False, data_dir="")
    config = ml_collections.ConfigDict()
    config.stage = "train_cnn"
    config.seed = 0
    config.fast_cpu_convolutions = True
    config.distributed = False

    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = "affwild2/expr"
    config.dataset.data_dir = args.data_dir
    config.dataset.train_split = "train"
    config.dataset.eval_split = "validation"

    config.loss = "cross_entropy"
    config.targets = ()
    config.num_classes = len(EXPRESSION_CLASSES)
    config.label_key = "expression"
    config.class_names = EXPRESSION_CLASSES
    # "none" | "loss_weights" (inverse frequency) | "sampling" (balanced epochs).
    config.class_balance = args.balance
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
