"""What the experiment files in configs/ are made of: their argument and shared sections.

`parse_arg` reads the argument after `file.py:` in `--config=configs/file.py:arg`:

`configs/affwild2_cnn.py:tiny,steps=50` gives `{'tiny': True, 'steps': 50}`:
a bare word is a flag set to True, `key=value` is read as a Python literal when
it parses as one and kept as a string otherwise. The section functions each
return a fresh ConfigDict whose fields are commented where they are set.
"""

import ast
import importlib.util
from pathlib import Path
from typing import Any

import ml_collections

from affect_jax.runtime import ConfigError


def parse_arg(arg: str | None, **defaults: Any) -> ml_collections.ConfigDict:
    """Returns the config-file argument as a ConfigDict over `defaults`.

    Args:
      arg: the text after the colon, or None/"" when there is none.
      **defaults: every accepted key with its default; unknown keys are errors.

    Raises:
      ValueError: a key that is not in `defaults`, naming the valid ones.
    """
    parsed = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, sep, text = item.partition("=")
        key = key.strip()
        if key not in defaults:
            raise ConfigError(
                f"Unknown config argument {key!r} in {arg!r}; valid arguments: "
                f"{', '.join(sorted(defaults))}."
            )
        if not sep:
            value: Any = True
        else:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text
        parsed[key] = value
    return parsed


CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"


def load_config(name_or_path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """`get_config(arg)` of `configs/<name>.py` (or of a config file path).

    For notebooks, benchmarks and tests; the command line uses --config.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIGS_DIR / f"{name_or_path}.py"
    if not path.exists():
        raise FileNotFoundError(f"No config file {path}.")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg)


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
    # "plain" is flax layers + autodiff; "auto" = fused on CPU (with XLA's or
    # oneDNN's convolutions), plain elsewhere.
    # Same values and parameters either way (benchmarks/RESULTS.md).
    model.first_block = "auto"
    # Convolutions: "onednn" runs them (and their gradients) through oneDNN's CPU
    # primitives, an extension `pip install -e .` compiles (README, "Speed
    # knobs"); "xla" is XLA's own; "auto" = oneDNN on x86-64 CPUs where the
    # extension loads, XLA elsewhere. Same parameters either way, and a killed and
    # resumed run repeats the uninterrupted one bit for bit with either
    # (tests/stages/test_train.py runs it with this default).
    model.conv_backend = "auto"
    return model


def augment_options() -> ml_collections.ConfigDict:
    """The `config.augment` section, with the reference's ranges."""
    config = ml_collections.ConfigDict()
    config.enabled = True  # Training only; evaluation never augments.
    config.rotation_degrees = 15.0  # Uniform in [-15, 15].
    config.shift_fraction = 0.1  # Of width (x) and height (y), drawn independently.
    config.zoom_range = (0.9, 1.25)  # Keras zoom: > 1 zooms out; x and y independent.
    config.horizontal_flip = True  # With probability 0.5.
    config.brightness_range = (0.5, 1.5)  # Pixel factor, clipped to [0, 255].
    config.shear_degrees = 0.0  # Keras' shear angle, uniform in [-s, s]; the reference's ~0.
    return config


def va_balancing_options() -> ml_collections.ConfigDict:
    """The `config.balancing` section (off: the whole training split, as built)."""
    config = ml_collections.ConfigDict()
    # On: drop (0, 0) frames and sample the training split by VA bin.
    config.enabled = False
    # "reference" (p = 1 - k/k_max, the authors' code and subset sizes),
    # "flatten" (p = min(1, k_max/k), the paper's intent), "none".
    config.rule = "reference"
    # "max" (subset 1), "mean" (subset 2), "max_mean" (subset 3, the paper's pick).
    config.k_max_mode = "max_mean"
    config.seed = 0  # The subset's draw; the same on every host.
    config.bins = 40
    return config


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


def cross_dataset_options(
    targets: tuple[str, ...] = (), own_test_split: str = "test", shared_classes: bool = False
) -> ml_collections.ConfigDict:
    """The `config.cross_dataset` section: where a trained classifier is tested at the end.

    One table (results.json `cross_dataset`, `cross_dataset.md`, a confusion
    figure per target) over the own test split and the targets
    (affect_jax/stages/cross_dataset.py).
    """
    options = ml_collections.ConfigDict()
    # Each "[key=]name:split[@data_dir]", e.g. "jaffe/all:test" (in the training
    # data_dir) or "fer=face_folders/cropped:test@DATA/fer2013"; () for none.
    # Results keys <key>_accuracy, ...; the key defaults to the name before "/".
    options.targets = tuple(targets)
    # The training dataset's split tested first ("" to skip); no extra keys
    # when it is the evaluation split.
    options.own_test_split = own_test_split
    # Also score each target on the classes with examples in both the training
    # split and the target (others' logits masked): <key>_shared_accuracy,
    # <key>_shared_f1_macro. The plain scores (the paper's) stay beside them.
    options.shared_classes = shared_classes
    options.report = "cross_dataset.md"  # In the workdir.
    return options


def input_options() -> ml_collections.ConfigDict:
    options = ml_collections.ConfigDict()
    options.num_workers = 0  # Grain worker processes (mp_prefetch); ~1 core each.
    options.read_threads = 2  # Threads reading and decoding records per process.
    options.prefetch = 4  # Batches read ahead.
    # Per-crop lighting normalisation, the same in training (before augmentation),
    # evaluation, extraction and prediction (faces/photometric.py): "none" (the
    # paper's) | "equalize" | "clahe" | "standardize". Runs saved without it: "none".
    options.photometric = "none"
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


def set_task(config: ml_collections.ConfigDict, name: str) -> None:
    """`config.task`: a row of tasks/registry.TASKS ("va", "va_mse", "expr", "au", "multitask").

    `config.loss`, the key's older name, stays as a reference to it: setting
    either sets both, so `--config.loss=mse` still works (the registry reads the
    older names too: "ccc", "mse", "cross_entropy", "binary_cross_entropy").
    """
    if "task" in config:
        config.task = name
        return
    config.task = name
    config.loss = config.get_ref("task")


def run_header(stage: str) -> ml_collections.ConfigDict:
    """The fields every experiment starts with: its stage and how the process runs."""
    config = ml_collections.ConfigDict()
    config.stage = stage  # A key of affect_jax.stages.STAGES.
    config.seed = 0
    # On CPU, keep XLA from handing convolutions, products and fused reductions
    # to YNNPACK (~3.3x faster step, benchmarks/cpu_flags.py).
    config.fast_cpu_convolutions = True
    # Set by launch/ scripts on multi-host slices: jax.distributed.initialize().
    config.distributed = False
    # Train stages: a run folder (trained or imported with affect_jax.import_keras)
    # whose params and BatchNorm statistics replace the random init; not its
    # optimizer state or step. Read only while the workdir has no checkpoint, so a
    # rerun resumes from its own. "": random init.
    config.init_from = ""
    # Train stages: what is evaluated after the last step, by name
    # (stages/evaluators.py: au_thresholds, per_video, cross_dataset); (): the
    # stage's own list (stages.STAGES).
    config.evals = ()
    return config


def expression_task(
    config: ml_collections.ConfigDict, class_names: tuple[str, ...], balance: str
) -> None:
    """The fields of a CNN that classifies expressions (CK+, JAFFE, class folders)."""
    set_task(config, "expr")
    config.targets = ()
    config.num_classes = len(class_names)  # Every dataset keeps the 8-way CK+ space.
    config.label_key = "label"
    config.class_names = class_names
    # "none" | "loss_weights" (inverse frequency) | "sampling" (balanced epochs).
    config.class_balance = balance
    config.balancing = va_balancing_options()  # VA bins: unused here.
    config.augment = augment_options()
    config.model = reference_cnn()
    config.optimizer = sgd_optimizer()


def expression_run(
    config: ml_collections.ConfigDict, steps: int, *, quickstart: bool, tiny: bool
) -> None:
    """Batches, schedule, checkpoints and input of an expression CNN, at its three sizes."""
    config.batch_size = 64  # The reference code's batch on CK+.
    config.eval_batch_size = 128
    set_schedule(config, steps, log_every=50, eval_every=500, checkpoint_every=500)
    config.checkpoint = checkpoint_options()
    config.input = input_options()
    if quickstart:
        config.model.conv_features = (16, 32, 64)
        set_schedule(config, 600, log_every=50, eval_every=200, checkpoint_every=200)
    if tiny:
        config.augment.enabled = False
        config.model.conv_features = (8, 16, 16)
        config.model.feature_dim = 32
        config.batch_size = 16
        config.eval_batch_size = 32
        set_schedule(config, 10, log_every=5, eval_every=10, checkpoint_every=5)


def affwild2_frame_task(dataset_name: str, data_dir: str) -> ml_collections.ConfigDict:
    """What the single-frame CNN configs of Aff-Wild2's tasks share: all but the task.

    The caller sets the task (`set_task`), targets, num_classes, label_key and class_names.
    """
    config = run_header("train_cnn")
    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = dataset_name
    config.dataset.data_dir = data_dir  # Where affect_jax.build wrote it.
    config.dataset.train_split = "train"
    config.dataset.eval_split = "validation"
    config.balancing = va_balancing_options()  # VA bins; off by default.
    # Per-example augmentation with the reference ranges; never at evaluation.
    config.augment = augment_options()
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
