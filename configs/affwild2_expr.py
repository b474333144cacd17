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

from affect_jax import config as config_lib
from affect_jax.config import parse_arg
from affect_jax.tasks.labels import AFFWILD2_EXPRESSIONS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, balance="none", quickstart=False, tiny=False, data_dir="")
    config = config_lib.affwild2_frame_task("affwild2/expr", args.data_dir)
    config_lib.set_task(config, "expr")
    config.targets = ()
    config.num_classes = len(AFFWILD2_EXPRESSIONS)
    config.label_key = "expression"
    config.class_names = AFFWILD2_EXPRESSIONS
    # "none" | "loss_weights" (inverse frequency) | "sampling" (balanced epochs).
    config.class_balance = args.balance
    config_lib.apply_frame_presets(config, quickstart=args.quickstart, tiny=args.tiny)
    return config
