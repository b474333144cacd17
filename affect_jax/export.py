r"""A trained run as ONNX graphs, for prediction where JAX is not installed.

  python -m affect_jax.export --checkpoint=runs/gru3 --output=exported/gru3 \
      [--precision=float16] [--step=best] [--cnn_checkpoint=RUN] [--overwrite]

`--checkpoint` is a train_cnn run (VA, expression, AU or multitask; imported
Keras runs too) or a train_rnn run, which brings its CNN along (found as
`predict` finds it). Writes OUTPUT/cnn.onnx, OUTPUT/rnn.onnx (RNN runs) and
OUTPUT/model.json (inference/exported_folder.py describes them), after checking
the graphs against the JAX model. `python -m affect_jax.predict
--checkpoint=OUTPUT` predicts with them through onnxruntime alone; README,
"Deploy a trained model", shows them used from plain onnxruntime.
"""

from absl import app, flags

from affect_jax import runtime, startup
from affect_jax.data import provenance
from affect_jax.inference.exported_folder import PRECISIONS

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A train_cnn or train_rnn run (workdir).")
_OUTPUT = flags.DEFINE_string("output", None, "The folder to write (must not exist).")
_PRECISION = flags.DEFINE_enum(
    "precision", "float32", list(PRECISIONS), "Weights (and CNN arithmetic) in this type."
)
_STEP = flags.DEFINE_string("step", "best", "Checkpoint: best (validation loss), latest or N.")
_CNN_CHECKPOINT = flags.DEFINE_string(
    "cnn_checkpoint", None, "The CNN run of an RNN, if its feature store is gone."
)
_OVERWRITE = flags.DEFINE_bool(
    "overwrite", False, "Replace --output if it exists (once the new folder is complete)."
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}.")
    startup.start_process()
    from affect_jax.training import checkpoints  # Imports JAX: after the flags.

    with runtime.one_line_errors():
        try:
            from affect_jax.onnx_export.export_run import export_run
        except ImportError as error:
            raise runtime.ProjectError(
                f"Exporting needs onnx and onnxruntime ({error}): pip install 'affect-jax[export]'."
            ) from None
        try:
            spec = export_run(
                _CHECKPOINT.value,
                _OUTPUT.value,
                precision=_PRECISION.value,
                step=_STEP.value,
                cnn_checkpoint=_CNN_CHECKPOINT.value,
                overwrite=_OVERWRITE.value,
            )
        except (
            checkpoints.NotACheckpointError,
            checkpoints.CheckpointMismatchError,
            checkpoints.DamagedCheckpointError,
        ) as error:
            raise type(error)(f"Cannot use --checkpoint: {error}") from error
    if provenance.learned_only_from_synthetic(spec.source["training_data"]):
        print(provenance.SYNTHETIC_NOTE)
    graphs = ", ".join(spec.files())
    worst = max(spec.check.values())
    print(
        f"Wrote {_OUTPUT.value}: {graphs}, model.json ({spec.precision}; largest difference "
        f"from JAX on the check inputs {worst:.1e}, relative)."
    )


def run() -> None:
    """Console-script entry point (affect-jax-export)."""
    flags.mark_flags_as_required(["checkpoint", "output"])
    app.run(main)


if __name__ == "__main__":
    run()
