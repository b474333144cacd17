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

from affect_jax import config as config_lib
from affect_jax.config import parse_arg
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(arg, quickstart=False, tiny=False, data_dir="")
    config = config_lib.affwild2_frame_task("affwild2/au", args.data_dir)
    config_lib.set_task(config, "au")  # Binary cross entropy, masked where an AU is not annotated.
    config.targets = ("aus",)  # The record field, one slot per entry of class_names.
    config.num_classes = len(AFFWILD2_ACTION_UNITS)
    config.label_key = ""
    config.class_names = AFFWILD2_ACTION_UNITS
    config_lib.apply_frame_presets(config, quickstart=args.quickstart, tiny=args.tiny)
    return config
