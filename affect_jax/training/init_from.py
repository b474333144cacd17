"""Fine-tuning: a new run starts from another run's parameters (`config.init_from`).

The other run may be trained here or imported from Keras (keras_import/runs.py).
Only its params and BatchNorm statistics are taken: the new run gets a fresh
optimizer state and starts at step 0, so its schedule and learning-rate decay
are its own. The train loop calls this only while the workdir has no checkpoint;
once it has one, a rerun resumes from it and `init_from` is not read again.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ml_collections
import orbax.checkpoint as ocp
from absl import logging

from affect_jax.faces import photometric
from affect_jax.runtime import ProjectError
from affect_jax.training import checkpoints, run

# The Orbax step of a run written by affect_jax.import_keras; training saves from step 1 on.
IMPORTED_STEP = 0


class ImportedWorkdirError(ProjectError, ValueError):
    """A train stage was pointed at an imported run's folder as its --workdir."""


def leaf_shapes(tree: Any, prefix: str = "") -> dict[str, tuple[int, ...]]:
    """{"params/conv1/kernel": shape, ...} of a nested mapping of arrays or metadata."""
    if isinstance(tree, Mapping):
        shapes: dict[str, tuple[int, ...]] = {}
        for key in sorted(tree):
            shapes.update(leaf_shapes(tree[key], f"{prefix}/{key}" if prefix else str(key)))
        return shapes
    return {prefix: tuple(tree.shape)}


def first_mismatch(got: Any, want: Any, names: tuple[str, str]) -> str | None:
    """The first leaf path whose shape differs between two trees, with both shapes.

    Args:
      names: what `got` and `want` are, for the message.

    Returns:
      None when both trees have the same leaf paths and shapes, else e.g.
      "params/conv1/kernel: (5, 5, 1, 4) in init_from, (5, 5, 1, 8) in this run"
      (a path that only one tree has reads "absent" for the other).
    """
    got_shapes, want_shapes = leaf_shapes(got), leaf_shapes(want)
    for path in sorted(got_shapes.keys() | want_shapes.keys()):
        there, here = got_shapes.get(path, "absent"), want_shapes.get(path, "absent")
        if there != here:
            return f"{path}: {there} in {names[0]}, {here} in {names[1]}"
    return None


def refuse_imported_workdir(latest_step: int | None, workdir: str) -> None:
    """Raises if `workdir` holds an imported run: training there would bury its step 0."""
    if latest_step == IMPORTED_STEP:
        raise ImportedWorkdirError(
            f"{workdir} holds an imported run (its only checkpoint is step {IMPORTED_STEP}). "
            f"Train in a fresh --workdir with --config.init_from={workdir} to fine-tune it."
        )


def _saved_variables_shapes(step_dir: Path) -> dict[str, Any]:
    """Params and BatchNorm statistics shapes of a saved state, read from its metadata."""
    with ocp.StandardCheckpointer() as checkpointer:
        tree = dict(checkpointer.metadata(step_dir / "state").item_metadata)
    return {"params": tree["params"], "batch_stats": tree.get("batch_stats") or {}}


def initialize_from(
    state: Any,
    run_dir: str,
    config: ml_collections.ConfigDict,
    mesh: Any,
    feature_dim: int = 0,
) -> Any:
    """`state` with the params and batch_stats of the run at `run_dir` ("best" checkpoint).

    Args:
      state: the new run's freshly initialized train state.
      run_dir: a run folder (or checkpoints/, or checkpoints/<step>).
      config: the new run's config (only named in messages; the other run is
        rebuilt from its own saved config).
      feature_dim: an RNN's input width (its features'); 0 for a CNN.

    Raises:
      NotACheckpointError: `run_dir` holds no usable checkpoint.
      CheckpointMismatchError: the trees differ; names the first leaf path and
        both shapes.
    """
    workdir, step, saved_config = run.find_checkpoint(run_dir, "best")
    where = run.RunFolder(workdir).step_dir(step)
    want = {"params": state.params, "batch_stats": state.batch_stats}
    # Compared before restoring: a restore into the wrong shapes fails less clearly.
    mismatch = first_mismatch(_saved_variables_shapes(where), want, ("init_from", "this run"))
    if mismatch:
        raise checkpoints.CheckpointMismatchError(
            f"config.init_from={run_dir}: {where} does not fit this run's "
            f"{config.model.name} model ({mismatch}). Start from a run of the same "
            "architecture (config.model and the head), or leave init_from empty."
        )
    _warn_if_other_pixels(saved_config, config, run_dir)
    source = run.restore_run_state(workdir, step, saved_config, mesh, feature_dim)
    logging.info("Initialized from %s (params and batch_stats; new optimizer)", where)
    return state.replace(params=source.params, batch_stats=source.batch_stats)


def _warn_if_other_pixels(
    saved_config: ml_collections.ConfigDict, config: ml_collections.ConfigDict, run_dir: str
) -> None:
    """Fine-tuning may change the normalisation on purpose, so it is said, not refused."""
    old, new = photometric.configured_method(saved_config), photometric.configured_method(config)
    if old != new:
        logging.warning(
            "config.init_from=%s was trained on faces with %s=%r; this run normalises them "
            "with %r, so its first steps see faces unlike the ones those weights learned on.",
            run_dir,
            photometric.CONFIG_FIELD,
            old,
            new,
        )
