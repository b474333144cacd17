r"""The temporal stage: an RNN over windows of per-frame CNN features.

After train_cnn and extract:

  python -m affect_jax.main --config=configs/affwild2_rnn.py:cell=gru,layers=3 \
      --workdir=runs/gru3 --config.rnn.features_dir=runs/features/features

Expected (paper, Table III, whole-set validation CCC V / A):
  cell=simple_rnn,layers=1  0.21 / 0.22
  cell=gru,layers=1         0.20 / 0.35
  cell=gru,layers=3         0.23 / 0.39
Results also give every validation frame's prediction (frames with no full
window interpolated), the CNN alone on the same frames, and challenge-format
files in <workdir>/predictions/.

Other tasks (`task=`), over a feature store of the `affwild2/multitask`
records (configs/affwild2_extract.py says how); each loss counts only the
frames (for AUs: the entries) its task labels:
  task=va         valence-arousal, 1 - CCC (the default; any feature store)
  task=expr       8 expressions, cross entropy; `balance=loss_weights`
                  weighs classes by inverse frequency
  task=au         13 AU slots, masked binary cross entropy
  task=multitask  all three in one head (2 + 8 + 13 outputs), the losses
                  summed with config.task_weights.{va,expression,au} (1 each)
Results carry the frame stage's metric names with `frame_` (the RNN, every
validation frame) and `cnn_` (the feature store's CNN on the same frames, when
it has the head): ccc_*, accuracy / f1_macro (expr), f1_<AU> / f1_mean (au),
and for multitask ccc_*, expression_*, au_*. AU runs also save
`au_thresholds` ({AU: probability}, best F1 per AU on validation;
tasks/thresholds.py). Prediction files: predictions/<video>.txt (VA),
predictions/EXPR/, predictions/AU/ (stages/challenge_files.py).

Arguments: `task=va|expr|au|multitask`, `balance=none|loss_weights`,
`cell=gru|simple_rnn`, `layers=1|3` (100, or 100/100/50 units),
`target=next|every`, `features_dir=DIR`, `quickstart`, `tiny`, `paper` (with
tiny: the tiny paper reproduction's longer schedule).
"""

import ml_collections

from affect_jax import config as config_lib
from affect_jax.config import parse_arg
from affect_jax.runtime import ConfigError
from affect_jax.tasks import multitask
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS, AFFWILD2_EXPRESSIONS, VALENCE_AROUSAL

LAYER_SIZES = {1: (100,), 3: (100, 100, 50)}
TASKS = ("va", "expr", "au", "multitask")


def _set_task(config: ml_collections.ConfigDict, task: str, balance: str) -> None:
    """Loss, targets (feature store labels) and class names of `task`: the task table's rows."""
    if task not in TASKS:
        raise ConfigError(f"task={task!r}: valid are {', '.join(TASKS)}.")
    if balance != "none" and task != "expr":
        raise ConfigError(f"balance={balance!r} weighs expression classes: it needs task=expr.")
    config_lib.set_task(config, task)  # The config argument's names are the task table's.
    config.num_classes = 0
    config.class_balance = balance  # "none" | "loss_weights" (task=expr).
    if task == "va":
        config.targets = VALENCE_AROUSAL
    elif task == "expr":
        config.targets = ("expression",)
        config.num_classes, config.class_names = len(AFFWILD2_EXPRESSIONS), AFFWILD2_EXPRESSIONS
        config.label_key = "expression"
    elif task == "au":
        config.targets = ("aus",)
        config.num_classes, config.class_names = len(AFFWILD2_ACTION_UNITS), AFFWILD2_ACTION_UNITS
    else:
        config.targets = multitask.TARGETS
        config.num_classes = multitask.NUM_EXPRESSIONS
        config.class_names, config.action_units = AFFWILD2_EXPRESSIONS, AFFWILD2_ACTION_UNITS
        # Each task's loss is multiplied by its weight (tasks/multitask.joint_loss).
        config.task_weights = ml_collections.ConfigDict(dict(va=1.0, expression=1.0, au=1.0))


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(
        arg,
        task="va",
        balance="none",
        cell="gru",
        layers=1,
        target="next",
        features_dir="",
        quickstart=False,
        tiny=False,
        paper=False,
    )
    if args.layers not in LAYER_SIZES:
        raise ValueError(f"layers={args.layers}: valid are {sorted(LAYER_SIZES)}.")
    config = config_lib.run_header("train_rnn")

    config.dataset = ml_collections.ConfigDict()
    config.dataset.train_split = "train"  # Feature store folders under features_dir.
    config.dataset.eval_split = "validation"
    _set_task(config, args.task, args.balance)

    config.rnn = ml_collections.ConfigDict()
    config.rnn.features_dir = args.features_dir  # <extract workdir>/features
    # The CNN run whose features this RNN reads, for prediction when the feature
    # store (its complete.json names the CNN) is gone, as in a run imported from
    # Keras; "": the feature store's. Training always reads features_dir.
    config.rnn.cnn_workdir = ""
    config.rnn.window = 100  # Frames per window (reference: 100).
    config.rnn.stride = 1  # Windows overlap by window - stride frames.
    # "next": frames t-W..t-1 predict frame t (the reference code);
    # "every": a prediction for each frame of the window.
    config.rnn.target = args.target

    config.model = ml_collections.ConfigDict()
    config.model.name = "rnn"
    config.model.cell = args.cell  # "gru" (Keras reset_after=True) | "simple_rnn".
    config.model.layer_sizes = LAYER_SIZES[args.layers]

    config.optimizer = config_lib.sgd_optimizer()

    config.batch_size = 256  # Reference code (paper: 128).
    config.eval_batch_size = 1024
    config_lib.set_schedule(config, 30_000, log_every=100, eval_every=5_000, checkpoint_every=1_000)
    config.checkpoint = config_lib.checkpoint_options()
    config.input = config_lib.input_options()

    if args.quickstart:
        config.rnn.window = 32
        config.batch_size = 64
        config.eval_batch_size = 256
        config_lib.set_schedule(config, 600, log_every=50, eval_every=200, checkpoint_every=200)
    if args.tiny:
        config.rnn.window = 3  # The tiny synthetic videos are 20-30 frames long.
        config.model.layer_sizes = tuple(min(s, 16) for s in config.model.layer_sizes)
        config.batch_size = 32
        config.eval_batch_size = 64
        config_lib.set_schedule(config, 20, log_every=5, eval_every=10, checkpoint_every=5)
        if args.paper:  # The reproduction's tiny preset: 20 steps learn nothing.
            config_lib.set_schedule(config, 150, log_every=5, eval_every=150, checkpoint_every=150)
            # At 0.05 the 3-layer stack diverges on valence (RMSE 3.2, CCC 0.003).
            config.optimizer.learning_rate = 0.05 if args.layers == 1 else 0.02
    return config
