r"""A Keras 2 HDF5 checkpoint (the paper authors' trained CNN or GRU) as a run folder.

  python -m affect_jax.import_keras --keras_file=cnn.hdf5 --workdir=runs/paper_cnn
  python -m affect_jax.import_keras --keras_file=gru.hdf5 --workdir=runs/paper_gru \
      --cnn_workdir=runs/paper_cnn

The file's model_config is checked layer by layer against our models; anything
they cannot reproduce exactly is refused with the layer named, and nothing is
written. DIR then holds checkpoints/0 (with its config) and results.json (the
file's path, sha256 and Keras version): `affect_jax.predict --checkpoint=DIR`,
the extract stage and `--config.init_from=DIR` take it like a trained run. An
RNN file needs the CNN run whose features it reads (--cnn_workdir).
"""

import json

from absl import app, flags

from affect_jax import runtime, startup

_KERAS_FILE = flags.DEFINE_string("keras_file", None, "Keras 2 .hdf5 / .h5 file (model.save).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run folder to write (must hold no checkpoints).")
_CNN_WORKDIR = flags.DEFINE_string(
    "cnn_workdir", None, "An RNN file's CNN run (imported or trained), whose features it reads."
)
_TARGET = flags.DEFINE_enum(
    "target", None, ["valence", "arousal"], "What a 1-unit regression head predicts."
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}.")
    startup.start_process()
    from affect_jax.keras_import.runs import import_keras_run  # Imports JAX: after start-up.
    from affect_jax.training.run import CHECKPOINTS, RESULTS

    with runtime.one_line_errors():
        results = import_keras_run(
            _KERAS_FILE.value,
            _WORKDIR.value,
            cnn_workdir=_CNN_WORKDIR.value,
            target=_TARGET.value,
        )
    print(json.dumps(results, indent=2))
    print(f"Run folder: {_WORKDIR.value} ({results['stage']} run, {CHECKPOINTS}/, {RESULTS})")


def run() -> None:
    """Console-script entry point (affect-jax-import-keras)."""
    flags.mark_flags_as_required(["keras_file", "workdir"])
    app.run(main)


if __name__ == "__main__":
    run()
