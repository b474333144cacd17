r"""The CNN classifying 8 expressions on CK+, tested on unseen subjects and JAFFE.

Build both datasets once (raw CK+ and JAFFE releases), then train one fold:

  python -m affect_jax.build --dataset=ck_plus/fold0 --manual_dir=CK_RAW --data_dir=DATA
  python -m affect_jax.build --dataset=jaffe/all --manual_dir=JAFFE_RAW --data_dir=DATA
  python -m affect_jax.main --config=configs/ck_plus_cnn.py:fold=0 \
      --workdir=runs/ck_plus_fold0 --config.dataset.data_dir=DATA

Expected (paper, Table I): 95% accuracy on CK+ test subjects, 50% on all of
JAFFE (cross-dataset). results.json holds the CK+ test metrics, `jaffe_*`
ones and the `cross_dataset` table (also cross_dataset.md; the same mechanism
as configs/expression_folders_cnn.py); plots/ the confusion matrices (counts
and row-normalized, the paper's Figs. 6 and 7).

Arguments: `fold=N` (0-9, subject-independent), `balance=none|loss_weights|
sampling` (CK+'s class imbalance skews JAFFE predictions), `quickstart`,
`tiny`, `paper` (with quickstart: the schedule of the paper reproduction on
the embedded default), `data_dir=D`.
"""

import ml_collections

from affect_jax import config as config_lib
from affect_jax.config import parse_arg
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(
        arg, fold=0, balance="none", quickstart=False, tiny=False, paper=False, data_dir=""
    )
    config = config_lib.run_header("train_cnn")

    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = f"ck_plus/fold{args.fold}"  # Folds split subjects.
    config.dataset.data_dir = args.data_dir
    config.dataset.train_split = "train"
    config.dataset.eval_split = "test"

    # Tested at the end on all of JAFFE (in the same data_dir as CK+): the
    # `jaffe_*` results and one table with the CK+ test split. More targets:
    # --config.cross_dataset.targets="('jaffe/all:test', 'face_folders/cropped:test@DIR')";
    # "()" for none.
    config.cross_dataset = config_lib.cross_dataset_options(("jaffe/all:test",))

    config_lib.expression_task(config, CK_PLUS_EMOTIONS, args.balance)

    config.batch_size = 64  # Reference code on CK+.
    config.eval_batch_size = 128
    # 3,000 steps: ~160 epochs of the ~1,180 training images of a fold.
    config_lib.set_schedule(config, 3_000, log_every=50, eval_every=500, checkpoint_every=500)
    config.checkpoint = config_lib.checkpoint_options()
    config.input = config_lib.input_options()

    if args.quickstart:
        config.model.conv_features = (16, 32, 64)
        config_lib.set_schedule(config, 600, log_every=50, eval_every=200, checkpoint_every=200)
        if args.paper:  # Both CK+ runs of the reproduction on the embedded default.
            config_lib.set_schedule(config, 400, log_every=50, eval_every=200, checkpoint_every=200)
    if args.tiny:
        config.augment.enabled = False
        config.model.conv_features = (8, 16, 16)
        config.model.feature_dim = 32
        config.batch_size = 16
        config.eval_batch_size = 32
        config_lib.set_schedule(config, 10, log_every=5, eval_every=10, checkpoint_every=5)
    return config
