"""Shared test setup: a compilation cache, parsed absl flags (Grain needs them), fast CPU flags."""

import atexit
import os
import shutil
import tempfile

# One persistent compilation cache for the whole run, set before JAX is imported:
# dozens of tests (and the command lines they start) compile the same tiny
# train steps; read back, each takes milliseconds instead of seconds (two
# test files: 152 s without, 90 s with an empty cache). pytest-xdist workers
# and subprocesses inherit the variable, so they share it. Same programs, same
# XLA flags (part of the key), same numbers.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="affect_jax_test_compilations_")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)  # By the process that made it.
# Every program, not only those that compile in over a second (jax's default): the
# command lines the tests start compile the same sub-second initializers, eval and
# predict steps again (two test files: 173 s of CPU without, 138 s with).
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

from absl import flags  # noqa: E402

from affect_jax import runtime  # noqa: E402

# Before any test touches JAX: XLA reads XLA_FLAGS when the backend starts.
runtime.apply_fast_cpu_flags()
flags.FLAGS.mark_as_parsed()


import pytest  # noqa: E402

from affect_jax.data import building  # noqa: E402


def pytest_collection_modifyitems(items):
    """Tests marked `long(seconds)` first, longest first (the sort is stable).

    The suite runs in two processes (launch/test.sh): a long test started last
    would finish alone on one core. Every process sorts its collection the same
    way, as pytest-xdist requires.
    """

    def seconds(item) -> float:
        marker = item.get_closest_marker("long")
        return marker.args[0] if marker else 0.0

    items.sort(key=lambda item: -seconds(item))


@pytest.fixture(scope="session")
def tiny_affwild2(tmp_path_factory):
    """The `tiny` synthetic Aff-Wild2 raw layout, built with the real builder.

    Returns the TFDS data_dir to put in config.dataset.data_dir.
    """
    from affect_jax.synthetic import affwild2_layout

    raw = tmp_path_factory.mktemp("raw_affwild2")
    affwild2_layout.write_affwild2_layout(raw, seed=0, **affwild2_layout.PRESETS["tiny"])
    data_dir = tmp_path_factory.mktemp("tfds")
    building.build_dataset("affwild2/va", raw, data_dir)
    return str(data_dir)


@pytest.fixture(scope="session")
def tiny_cnn_run(tiny_affwild2, tmp_path_factory):
    """A tiny CNN trained for 150 steps on `tiny_affwild2`: (workdir, result)."""
    from affect_jax.stages import train
    from tests.helpers import train_helpers

    workdir = tmp_path_factory.mktemp("tiny_cnn")
    # Checkpoints at the two evaluations: the tiny preset's every 5 steps are 30 saves.
    config = train_helpers.tiny_config(
        tiny_affwild2, num_train_steps=150, eval_every_steps=75, checkpoint_every_steps=75
    )
    return str(workdir), train.train_and_evaluate(config, str(workdir))


@pytest.fixture(scope="session")
def tiny_cnn_20_steps(tiny_affwild2, tmp_path_factory):
    """An uninterrupted 20-step tiny CNN run, what resumed ones must equal: (workdir, result)."""
    from affect_jax.stages import train
    from tests.helpers import train_helpers

    workdir = tmp_path_factory.mktemp("tiny_cnn_20_steps")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    return workdir, train.train_and_evaluate(config, str(workdir))


@pytest.fixture(scope="session")
def tiny_features(tiny_cnn_run, tmp_path_factory):
    """The extract stage run on `tiny_cnn_run`: the features/ folder."""
    from affect_jax.stages import extract
    from tests.helpers import train_helpers

    workdir = tmp_path_factory.mktemp("tiny_extract")
    config = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={tiny_cnn_run[0]}")
    extract.extract(config, str(workdir))
    return workdir / "features"


@pytest.fixture(scope="session")
def tiny_rnn_run(tiny_features, tmp_path_factory):
    """A tiny GRU (window 3, target next) over `tiny_features`: its workdir."""
    from affect_jax.stages import train
    from tests.helpers import train_helpers

    workdir = tmp_path_factory.mktemp("tiny_rnn")
    config = train_helpers.load_config("affwild2_rnn", f"tiny,features_dir={tiny_features}")
    config.num_train_steps = 10
    train.train_and_evaluate(config, str(workdir))
    return workdir


@pytest.fixture(scope="session")
def tiny_multitask_affwild2(tmp_path_factory):
    """A tiny synthetic release with VA, EXPR and AU files, built as `affwild2/multitask`.

    Other people than `tiny_affwild2`'s (seed 5), 6 of them held out for
    validation. Returns the TFDS data_dir.
    """
    from affect_jax.synthetic import affwild2_layout

    raw = tmp_path_factory.mktemp("raw_affwild2_multitask")
    size = {**affwild2_layout.PRESETS["tiny"], "num_validation_videos": 6}
    affwild2_layout.write_affwild2_layout(raw, seed=5, tasks=("va", "expr", "au"), **size)
    data_dir = tmp_path_factory.mktemp("tfds_multitask")
    building.build_dataset("affwild2/multitask", raw, data_dir)
    return str(data_dir)


@pytest.fixture(scope="session")
def tiny_multitask_features(tiny_cnn_run, tiny_multitask_affwild2, tmp_path_factory):
    """`tiny_cnn_run` (a VA CNN) extracted over the multitask records: the features/ folder.

    The store keeps every label (valence, arousal, expression, 13 AU slots)
    with the release's sentinels where a frame lacks one.
    """
    from affect_jax.stages import extract
    from tests.helpers import train_helpers

    workdir = tmp_path_factory.mktemp("tiny_multitask_extract")
    config = train_helpers.load_config(
        "affwild2_extract", f"tiny,cnn_workdir={tiny_cnn_run[0]},dataset=affwild2/multitask"
    )
    config.dataset.data_dir = tiny_multitask_affwild2
    extract.extract(config, str(workdir))
    return workdir / "features"
