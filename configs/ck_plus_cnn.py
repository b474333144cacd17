r"""The CNN classifying 8 expressions on CK+, tested on unseen subjects and JAFFE.

Build both datasets once (raw CK+ and JAFFE releases), then train one fold:

  python -m affect_jax.build --dataset=ck_plus/fold0_box --manual_dir=CK_RAW --data_dir=DATA
  python -m affect_jax.build --dataset=jaffe/all_box --manual_dir=JAFFE_RAW --data_dir=DATA
  python -m affect_jax.main --config=configs/ck_plus_cnn.py:fold=0 \
      --workdir=runs/ck_plus_fold0 --config.dataset.data_dir=DATA

The faces are the paper's crop, the Haar cascade's box (`_box` configs).
`framing=aligned` trains on `ck_plus/foldK` and tests on `jaffe/all` instead:
faces aligned by the eyes, the framing every photo builder and prediction
share (affect_jax/faces/framing.py).

Expected (paper, Table I): 95% accuracy on CK+ test subjects, 50% on all of
JAFFE (cross-dataset). results.json holds the CK+ test metrics, `jaffe_*`
ones and the `cross_dataset` table (also cross_dataset.md; the same mechanism
as configs/expression_folders_cnn.py); plots/ the confusion matrices (counts
and row-normalized, the paper's Figs. 6 and 7).

Arguments: `fold=N` (0-9, subject-independent), `framing=haar_box|aligned`,
`balance=none|loss_weights|
sampling` (CK+'s class imbalance skews JAFFE predictions), `quickstart`,
`tiny`, `paper` (with quickstart: the schedule of the paper reproduction on
the embedded default), `data_dir=D`.
"""

import ml_collections

from affect_jax import config as config_lib
from affect_jax.config import parse_arg
from affect_jax.runtime import ConfigError
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(
        arg,
        fold=0,
        framing="haar_box",
        balance="none",
        quickstart=False,
        tiny=False,
        paper=False,
        data_dir="",
    )
    suffix = {"haar_box": "_box", "aligned": ""}.get(args.framing)
    if suffix is None:
        raise ConfigError(f"framing={args.framing!r}: use haar_box (the paper's) or aligned.")
    config = config_lib.run_header("train_cnn")

    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = f"ck_plus/fold{args.fold}{suffix}"  # Folds split subjects.
    config.dataset.data_dir = args.data_dir
    config.dataset.train_split = "train"
    config.dataset.eval_split = "test"

    # Tested at the end on all of JAFFE (in the same data_dir as CK+): the
    # `jaffe_*` results and one table with the CK+ test split. More targets:
    # --config.cross_dataset.targets="('jaffe/all_box:test', 'face_folders/cropped:test@DIR')";
    # "()" for none.
    config.cross_dataset = config_lib.cross_dataset_options((f"jaffe=jaffe/all{suffix}:test",))

    config_lib.expression_task(config, CK_PLUS_EMOTIONS, args.balance)

    # 3,000 steps: ~160 epochs of the ~1,180 training images of a fold.
    config_lib.expression_run(config, 3_000, quickstart=args.quickstart, tiny=args.tiny)
    if args.quickstart and args.paper and not args.tiny:
        # Both CK+ runs of the reproduction on the embedded default.
        config_lib.set_schedule(config, 400, log_every=50, eval_every=200, checkpoint_every=200)
    return config
