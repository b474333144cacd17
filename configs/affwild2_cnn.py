r"""The reference CNN on Aff-Wild2 valence-arousal (the paper's CNN rows).

Build the dataset once (the raw Aff-Wild2 release in DATA_RAW), then train:

  python -m affect_jax.build --dataset=affwild2/va --manual_dir=DATA_RAW \
      --data_dir=DATA
  python -m affect_jax.main --config=configs/affwild2_cnn.py \
      --workdir=runs/affwild2_cnn --config.dataset.data_dir=DATA

Expected (paper, Table III, whole-set validation CCC): valence 0.20, arousal
0.23. The paper's authors trained in Keras; see REFERENCE.md for where their
code and their text differ (both are config choices below).

Arguments after the colon (`configs/affwild2_cnn.py:quickstart`):
  quickstart  a narrow CNN that learns the synthetic embedded default to
              validation CCC >= 0.6 in a few minutes on 2 CPU cores.
  tiny        a few steps of a very small CNN, for tests.
  data_dir=D  shorthand for --config.dataset.data_dir=D.
  subset=N    train on the paper's VA-balanced subset N (1, 2 or 3).
  target=T    "both" (default), "valence" or "arousal": one dimension at a time.
  loss=L      "ccc" (default) or "mse".
"""

import ml_collections

from affect_jax import config_sections as sections
from affect_jax.config_args import parse_arg
from affect_jax.data import augment, balancing

TARGETS = {"both": ("valence", "arousal"), "valence": ("valence",), "arousal": ("arousal",)}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(
        arg, quickstart=False, tiny=False, data_dir="", subset=0, target="both", loss="ccc"
    )
    config = ml_collections.ConfigDict()
    config.stage = "train_cnn"
    config.seed = 0
    # On CPU, keep XLA from handing convolutions, products and fused reductions
    # to YNNPACK (~3.3x faster step, benchmarks/cpu_flags.py).
    config.fast_cpu_convolutions = True
    # Set by launch/ scripts on multi-host slices: jax.distributed.initialize().
    config.distributed = False

    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = "affwild2/va"
    config.dataset.data_dir = args.data_dir  # Where affect_jax.build wrote it.
    config.dataset.train_split = "train"
    config.dataset.eval_split = "validation"

    # Regressed record fields, in head-output order. ("valence",) or
    # ("arousal",) trains one dimension at a time, as in the paper's ablation.
    if args.target not in TARGETS:
        raise ValueError(f"Unknown target={args.target!r}; valid: {', '.join(TARGETS)}.")
    config.targets = TARGETS[args.target]
    config.num_classes = 0  # Used by cross_entropy configs (CK+).
    config.label_key = "label"
    config.loss = args.loss  # "ccc": 1 - mean(CCC_v, CCC_a); or "mse".

    # VA-bin balancing of the training split (the paper's subsets 1-3):
    # k_max_mode "max" | "mean" | "max_mean" = subset 1 | 2 | 3; rule
    # "reference" (p = 1 - k/k_max, the authors' code) | "flatten" | "none".
    config.balancing = balancing.default_balancing_config()
    # Per-example augmentation with the reference ranges; never at evaluation.
    config.augment = augment.default_augment_config()

    config.model = sections.reference_cnn()
    config.optimizer = sections.sgd_optimizer()

    config.batch_size = 128  # Global, over all devices and hosts (paper: 64).
    config.eval_batch_size = 256
    # 100k steps: ~8 epochs of the 1.6M training frames.
    sections.set_schedule(config, 100_000, log_every=100, eval_every=5_000, checkpoint_every=1_000)
    config.checkpoint = sections.checkpoint_options()
    config.input = sections.input_options()

    if args.subset:
        config.balancing.enabled = True
        config.balancing.k_max_mode = {1: "max", 2: "mean", 3: "max_mean"}[args.subset]
    if args.quickstart:
        config.model.conv_features = (16, 32, 64)
        config.batch_size = 64
        # Validation CCC ~0.9 by step 600 (4 minutes on 2 cores).
        sections.set_schedule(config, 800, log_every=50, eval_every=200, checkpoint_every=200)
    if args.tiny:
        config.augment.enabled = False  # Tests check augmentation on its own.
        config.model.conv_features = (8, 16, 16)
        config.model.feature_dim = 32
        config.batch_size = 32
        config.eval_batch_size = 64
        sections.set_schedule(config, 20, log_every=5, eval_every=10, checkpoint_every=5)
    return config
