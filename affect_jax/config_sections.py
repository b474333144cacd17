"""Config sections shared by the experiment files in configs/.

Each returns a fresh ConfigDict whose fields are commented where they are set.
"""

import ml_collections

from affect_jax.data import augment, balancing


def reference_cnn() -> ml_collections.ConfigDict:
    """The CNN of the authors' released code (REFERENCE.md)."""
    model = ml_collections.ConfigDict()
    model.name = "cnn"
    # "reference": the authors' code (SAME/VALID/VALID convs, linear features);
    # "khorrami": the paper's [6] (all SAME, ReLU features).
    model.variant = "reference"
    model.conv_features = (64, 128, 256)
    model.feature_dim = 300  # The per-frame feature the RNN stage reads.
    model.dropout_rate = 0.5
    # "bfloat16": activations and matmuls in bfloat16, parameters and loss in
    # float32. On GPU/TPU it saves memory and time; on the project's CPU it
    # did not speed the step up (benchmarks/RESULTS.md).
    model.compute_dtype = "float32"
    # First block (input norm, conv1, ReLU, pool): "fused" computes its gradient
    # by hand without the 1-channel input convolution XLA:CPU runs slowly;
    # "plain" is flax layers + autodiff; "auto" = fused on CPU, plain elsewhere.
    # Same values and parameters either way (benchmarks/RESULTS.md).
    model.first_block = "auto"
    return model


def sgd_optimizer() -> ml_collections.ConfigDict:
    """SGD, lr 0.01, momentum 0.9, and the reference code's Keras `decay=1e-5`.

    That Keras `decay` is inverse-time learning-rate decay; the paper calls it
    weight decay. decay_style: "inverse_time" | "weight_decay" | "none".
    """
    optimizer = ml_collections.ConfigDict()
    optimizer.learning_rate = 0.01
    optimizer.momentum = 0.9
    optimizer.decay_style = "inverse_time"
    optimizer.decay = 1e-5
    return optimizer


def input_options() -> ml_collections.ConfigDict:
    options = ml_collections.ConfigDict()
    options.num_workers = 0  # Grain worker processes (mp_prefetch); ~1 core each.
    options.read_threads = 2  # Threads reading and decoding records per process.
    options.prefetch = 4  # Batches read ahead.
    return options


def checkpoint_options(keep: int = 2) -> ml_collections.ConfigDict:
    options = ml_collections.ConfigDict()
    options.keep = keep  # Newest checkpoints kept; the best by val loss is also kept.
    return options


def set_schedule(
    config: ml_collections.ConfigDict,
    num_train_steps: int,
    log_every: int,
    eval_every: int,
    checkpoint_every: int,
) -> None:
    """Training length and how often to log, evaluate and checkpoint."""
    config.num_train_steps = num_train_steps
    config.log_every_steps = log_every
    config.eval_every_steps = eval_every  # Also saves a checkpoint with its val loss.
    config.checkpoint_every_steps = checkpoint_every


def affwild2_frame_task(dataset_name: str, data_dir: str) -> ml_collections.ConfigDict:
    """What the single-frame CNN configs of Aff-Wild2's tasks share: all but the task.

    The caller sets loss, targets, num_classes, label_key and class_names.
    """
    config = ml_collections.ConfigDict()
    config.stage = "train_cnn"
    config.seed = 0
    # On CPU, keep XLA from handing convolutions, products and fused reductions
    # to YNNPACK (~3.3x faster step, benchmarks/cpu_flags.py).
    config.fast_cpu_convolutions = True
    # Set by launch/ scripts on multi-host slices: jax.distributed.initialize().
    config.distributed = False
    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = dataset_name
    config.dataset.data_dir = data_dir  # Where affect_jax.build wrote it.
    config.dataset.train_split = "train"
    config.dataset.eval_split = "validation"
    config.balancing = balancing.default_balancing_config()  # VA bins; off by default.
    # Per-example augmentation with the reference ranges; never at evaluation.
    config.augment = augment.default_augment_config()
    config.model = reference_cnn()
    config.optimizer = sgd_optimizer()
    config.batch_size = 128  # Global, over all devices and hosts (paper: 64).
    config.eval_batch_size = 256
    # 100k steps: ~8 epochs of Aff-Wild2's 1.6M VA training frames.
    set_schedule(config, 100_000, log_every=100, eval_every=5_000, checkpoint_every=1_000)
    config.checkpoint = checkpoint_options()
    config.input = input_options()
    return config


def apply_frame_presets(config: ml_collections.ConfigDict, *, quickstart: bool, tiny: bool) -> None:
    """The `quickstart` (minutes on 2 CPU cores) and `tiny` (tests) sizes of a frame CNN."""
    if quickstart:
        config.model.conv_features = (16, 32, 64)
        config.batch_size = 64
        set_schedule(config, 800, log_every=50, eval_every=200, checkpoint_every=200)
    if tiny:
        config.augment.enabled = False  # Tests check augmentation on its own.
        config.model.conv_features = (8, 16, 16)
        config.model.feature_dim = 32
        config.batch_size = 32
        config.eval_batch_size = 64
        set_schedule(config, 20, log_every=5, eval_every=10, checkpoint_every=5)
