"""Shared test setup: parsed absl flags (Grain needs them) and fast CPU flags."""

from absl import flags

from affect_jax import runtime

# Before any test touches JAX: XLA reads XLA_FLAGS when the backend starts.
runtime.apply_fast_cpu_flags()
flags.FLAGS.mark_as_parsed()


import pytest  # noqa: E402

from affect_jax.data import building  # noqa: E402


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
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=150, eval_every_steps=75)
    return str(workdir), train.train_and_evaluate(config, str(workdir))


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
