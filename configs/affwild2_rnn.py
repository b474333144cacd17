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

Arguments: `cell=gru|simple_rnn`, `layers=1|3` (100, or 100/100/50 units),
`target=next|every`, `features_dir=DIR`, `quickstart`, `tiny`, `paper` (with
tiny: the tiny paper reproduction's longer schedule).
"""

import ml_collections

from affect_jax import config as config_lib
from affect_jax.config import parse_arg

LAYER_SIZES = {1: (100,), 3: (100, 100, 50)}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    args = parse_arg(
        arg,
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
    config.targets = ("valence", "arousal")
    config.num_classes = 0
    config.loss = "ccc"

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
            config_lib.set_schedule(config, 150, log_every=5, eval_every=150, checkpoint_every=5)
            config.optimizer.learning_rate = 0.05
    return config
