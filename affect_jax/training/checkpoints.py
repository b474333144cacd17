"""Orbax checkpoints of the whole run: state, data iterator and config.

Each checkpoint holds the train state (params, optimizer, BatchNorm statistics,
dropout key), the Grain iterator state (so a resumed run sees exactly the
batches the interrupted run would have seen) and the config that made it (so
a checkpoint describes itself). Orbax writes into a temporary folder and renames
it when complete (locally), or writes in place and adds `commit_success.txt`
last (GCS); either way a step folder without that commit marker is never a
checkpoint here, so a crash mid-write never leaves a partial "latest". A
committed step damaged later (arrays cut short) fails to restore: training then
resumes from the newest step that restores and moves the damaged one aside
(`resume.restore_newest_intact`).

Kept: the newest `keep` checkpoints, plus the best by validation loss.

Finding and restoring a run for use (extraction, prediction, fine-tuning)
lives in run.py, with the run folder's layout.
"""

import weakref
from pathlib import Path
from typing import Any

import grain
import jax
import ml_collections
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers

from affect_jax.faces import photometric
from affect_jax.runtime import ProjectError
from affect_jax.tasks import registry

# Parts of the config that fix the shapes of the saved state.
SHAPE_KEYS = ("model", "task", "targets", "num_classes")
# Same parameters and values either way: a run may resume with another setting
# (say first_block "plain" on a GPU), and checkpoints older than the key load.
COMPUTE_ONLY_MODEL_KEYS = ("first_block", "compute_dtype", "conv_backend")


class CheckpointMismatchError(ProjectError, ValueError):
    """A checkpoint was written by a config with a different model."""


class CheckpointWriteError(ProjectError, OSError):
    """Writing a checkpoint failed (disk full, permissions); earlier ones are intact."""


class NotACheckpointError(ProjectError, FileNotFoundError):
    """A path that holds no run checkpoint (or not a usable one)."""


class DamagedCheckpointError(ProjectError, OSError):
    """A committed checkpoint whose array files do not read back whole."""


# TensorStore's status codes for files cut short or unreadable: damage, where
# any other restore error means the arrays do not fit the model.
_DAMAGE_CODES = ("OUT_OF_RANGE", "DATA_LOSS")


def damage_message(error: BaseException) -> str | None:
    """The first line of TensorStore's damage message in `error`'s causes, if any."""
    while error is not None:
        text = str(error)
        if any(code in text for code in _DAMAGE_CODES):
            return text.strip().splitlines()[0]
        error = error.__cause__ or error.__context__
    return None


# Steps are the folders named <step> that hold Orbax's commit marker, on every
# filesystem. Orbax's local default trusts the name alone (its atomic rename
# makes a local folder complete), but on GCS, where launch/train_tpu_vm.sh
# writes, an interrupted save leaves `<step>/` with part of its arrays and no
# marker; so does a run folder copied off GCS. Only how steps are found changes:
# saving keeps Orbax's default (atomic rename locally).
_COMMITTED_STEPS = ocp.path.step.standard_name_format(
    temporary_path_cls=ocp.path.atomicity.CommitFileTemporaryPath
)

# The step each manager may still be writing in the background. Orbax reports
# an asynchronous write's failure only at the next save or wait; the error must
# name the step that failed, and the intact one a rerun resumes from.
_writing: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _write_failed(manager: ocp.CheckpointManager, step: int, error: Exception):
    complete = [s for s in manager.all_steps() if s != step]
    last = max(complete) if complete else None
    return CheckpointWriteError(
        f"Writing checkpoint {step} in {manager.directory} failed: {error}. Free disk space "
        f"or fix the folder's permissions, then rerun: it resumes from "
        f"{'checkpoint ' + str(last) if last is not None else 'the start'}, which is intact "
        "(a step folder counts only once Orbax has committed it whole)."
    )


def _validation_loss(metrics: dict[str, float]) -> float:
    return metrics["val_loss"]


def make_manager(directory: str | Path, keep: int = 2) -> ocp.CheckpointManager:
    """Orbax's manager of the steps in `directory` (a run's checkpoints/, run.RunFolder)."""
    policy = checkpoint_managers.AnyPreservationPolicy(
        [
            checkpoint_managers.LatestN(n=keep),
            # reverse=True sorts descending, so the n kept are the lowest losses.
            checkpoint_managers.BestN(
                get_metric_fn=_validation_loss,
                reverse=True,
                n=1,
                keep_checkpoints_without_metrics=False,
            ),
        ]
    )
    # best_fn makes Orbax store each save's metrics and answer best_step().
    return ocp.CheckpointManager(
        Path(directory).resolve(),
        options=ocp.CheckpointManagerOptions(
            create=True,
            preservation_policy=policy,
            best_fn=_validation_loss,
            best_mode="min",
            step_name_format=_COMMITTED_STEPS,
        ),
    )


def save(
    manager: ocp.CheckpointManager,
    step: int,
    state: Any,
    data_iterator: grain.DatasetIterator | None,
    config: ml_collections.ConfigDict,
    metrics: dict[str, float] | None = None,
) -> None:
    """Saves everything needed to resume at `step` (asynchronously).

    Raises:
      CheckpointWriteError: this save, or the previous one still being written
        in the background, failed (each named as such).
    """
    wait_until_written(manager)
    items = {
        "state": ocp.args.StandardSave(state),
        "config": ocp.args.JsonSave(config.to_dict()),
    }
    if data_iterator is not None:
        items["data_iterator"] = grain.checkpoint.CheckpointSave(data_iterator)
    try:
        manager.save(step, args=ocp.args.Composite(**items), metrics=metrics)
    except Exception as error:  # noqa: BLE001 (Orbax and TensorStore raise many types).
        raise _write_failed(manager, step, error) from error
    _writing[manager] = step


def wait_until_written(manager: ocp.CheckpointManager) -> None:
    """Waits for asynchronous saves; their failures become CheckpointWriteError."""
    step = _writing.pop(manager, None)
    try:
        manager.wait_until_finished()
    except Exception as error:  # noqa: BLE001
        failed = step if step is not None else manager.latest_step() or -1
        raise _write_failed(manager, failed, error) from error


def saved_config(manager: ocp.CheckpointManager, step: int) -> ml_collections.ConfigDict:
    restored = manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
    return ml_collections.ConfigDict(restored["config"])


def check_compatible(
    saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict, where: str
) -> None:
    """Raises if the checkpoint's model, or the pixels it was trained on, differ from this run's."""
    for key in SHAPE_KEYS:
        old, new = _shape_value(saved, key), _shape_value(config, key)
        if _normalize(old) != _normalize(new):
            raise CheckpointMismatchError(
                f"The checkpoint in {where} was written with config.{key}={old!r}, "
                f"but this run has config.{key}={new!r}. Use a fresh --workdir, or "
                "the config that wrote the checkpoint."
            )
    # Same shapes, other pixels: the resumed steps would train on faces normalised
    # otherwise than the first ones (configs older than the key: "none").
    old_method, new_method = (
        photometric.configured_method(saved),
        photometric.configured_method(config),
    )
    if old_method != new_method:
        raise CheckpointMismatchError(
            f"The checkpoint in {where} was trained on faces with "
            f"{photometric.CONFIG_FIELD}={old_method!r}, but this run has {new_method!r}. "
            f"Resume with --{photometric.CONFIG_FIELD}={old_method}, or use a fresh --workdir "
            f"(--config.init_from to start from its weights)."
        )


def _shape_value(config: ml_collections.ConfigDict, key: str) -> Any:
    if key == "task":  # Checkpoints older than the key name the task `loss`, by its old names.
        return registry.task_name(config)
    return _without_compute_keys(config.to_dict().get(key) if key in config else None)


def _without_compute_keys(model: Any) -> Any:
    """A model config less the keys that change how, not what, it computes."""
    if not isinstance(model, dict):
        return model
    return {k: v for k, v in model.items() if k not in COMPUTE_ONLY_MODEL_KEYS}


def _normalize(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def restore(
    manager: ocp.CheckpointManager,
    step: int,
    abstract_state: Any,
    data_iterator: grain.DatasetIterator | None,
    config: ml_collections.ConfigDict,
) -> Any:
    """Restores state (and the iterator, in place) at `step` after a config check."""
    where = str(Path(manager.directory) / str(step))
    check_compatible(saved_config(manager, step), config, where)
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
        items["data_iterator"] = grain.checkpoint.CheckpointRestore(data_iterator)
    restored = manager.restore(step, args=ocp.args.Composite(**items))
    return restored["state"]


def abstract(tree: Any) -> Any:
    """Shapes, dtypes and shardings of `tree`, the target that restore needs."""
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
