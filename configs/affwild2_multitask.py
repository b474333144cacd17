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
au_f1_mean, and `au_thresholds` (per AU, the probability with the best
validation F1; tasks/thresholds.py); plots/ holds a VA scatter, the expression
confusion matrices and the per-AU F1. A multitask checkpoint also serves
`affect_jax.predict`, which writes every head per frame: valence and arousal,
the 8 expression probabilities and label, the 13 AU probabilities and their
0/1 decisions at `au_thresholds`.

Arguments: `quickstart`, `tiny`, `data_dir=D`.
"""

import ml_collections

from affect_jax import config as config_lib
from affect_jax.config import parse_arg
from affect_jax.tasks import multitask
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS, AFFWILD2_EXPRESSIONS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, quickstart=False, tiny=False, data_dir="")
    config = config_lib.affwild2_frame_task("affwild2/multitask", args.data_dir)
    config_lib.set_task(config, "multitask")
    config.targets = multitask.TARGETS  # Record fields, flattened in this order.
    config.num_classes = multitask.NUM_EXPRESSIONS
    config.label_key = ""
    config.class_names = AFFWILD2_EXPRESSIONS
    config.action_units = AFFWILD2_ACTION_UNITS
    # Each task's loss is multiplied by its weight (tasks/multitask.joint_loss).
    config.task_weights = ml_collections.ConfigDict(dict(va=1.0, expression=1.0, au=1.0))
    config_lib.apply_frame_presets(config, quickstart=args.quickstart, tiny=args.tiny)
    return config
