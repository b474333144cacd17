"""Resume from the newest checkpoint that reads back whole.

A step folder with Orbax's commit marker was whole when written, but its files
can be damaged afterwards: a copy off GCS cut short, a disk error, a sync tool
that stopped midway. Such a step fails to restore (TensorStore reads past the
end of a truncated array file). Resuming then falls back to the newest step
that restores, and the damaged folder is moved aside, untouched, to
`<workdir>/corrupt_checkpoints/<step>`: kept for inspection, no longer a step
(so "latest" and "best" skip it), and out of the way of the fresh checkpoint
that the resumed run writes when it reaches that step again.

Only a step older than the damaged one that restores proves the damage: when
no step restores (say the code's train state changed shape), the first error
is raised and nothing is moved.
"""

from pathlib import Path
from typing import Any

import grain
import jax
import ml_collections
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from affect_jax.runtime import ProjectError
from affect_jax.training import checkpoints, run


class UnreadableCheckpointsError(ProjectError, OSError):
    """No checkpoint of the run restores; none was moved."""


def restore_newest_intact(
    manager: ocp.CheckpointManager,
    abstract_state: Any,
    data_iterator: grain.DatasetIterator | None,
    config: ml_collections.ConfigDict,
) -> tuple[int, Any]:
    """(step, state) of the newest step that restores; (0, None) when there is none.

    The data iterator is restored in place, to the returned step's position.
    Newer steps that failed to restore are moved aside (see the module docstring).

    Raises:
      CheckpointMismatchError: a step was written by another model's config.
      UnreadableCheckpointsError: steps exist and none of them restores.
    """
    failed: list[tuple[int, Exception]] = []
    for step in sorted(manager.all_steps(), reverse=True):
        try:
            state = checkpoints.restore(manager, step, abstract_state, data_iterator, config)
        except checkpoints.CheckpointMismatchError:
            raise
        except Exception as error:  # noqa: BLE001 (TensorStore, JSON and Orbax errors alike).
            logging.warning(
                "Checkpoint %s does not restore (%s); trying the one before it.",
                _step_dir(manager, step),
                _root_cause(error),
            )
            failed.append((step, error))
            continue
        if failed:
            _set_aside(manager, failed, step)
        return step, state
    if failed:
        step, error = failed[0]
        raise UnreadableCheckpointsError(
            f"No checkpoint in {manager.directory} restores (the newest, {step}: "
            f"{_root_cause(error)}). Nothing was moved: if the files are damaged, move "
            "them out of the way or train in a fresh --workdir."
        ) from error
    return 0, None


def _set_aside(
    manager: ocp.CheckpointManager, failed: list[tuple[int, Exception]], resumed: int
) -> None:
    """Moves the damaged steps to corrupt_checkpoints/ and makes `manager` forget them."""
    aside = run.RunFolder(Path(str(manager.directory)).parent).corrupt_checkpoints
    for step, error in failed:
        source = _step_dir(manager, step)
        target = _free_name(epath.Path(aside) / str(step))
        if jax.process_index() == 0:  # One writer; every process reads the same files.
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                source.rename(target)
            except OSError as move_error:
                raise UnreadableCheckpointsError(
                    f"Checkpoint {source} is damaged ({_root_cause(error)}) and could not be "
                    f"moved to {target}: {move_error}. Move or delete it, then rerun: it "
                    f"resumes from {_step_dir(manager, resumed)}, which is intact."
                ) from move_error
        logging.error(
            "Checkpoint %s is damaged and was not loaded (%s). Moved it to %s; "
            "resuming from %s, the newest intact checkpoint.",
            source,
            _root_cause(error),
            target,
            _step_dir(manager, resumed),
        )
    if jax.process_count() > 1:
        ocp.multihost.sync_global_processes("affect_jax_damaged_checkpoints_moved")
    manager.reload()


def _step_dir(manager: ocp.CheckpointManager, step: int) -> epath.Path:
    return epath.Path(manager.directory) / str(step)


def _free_name(path: epath.Path) -> epath.Path:
    """`path`, or `path`-2, -3...: a step damaged twice keeps both copies."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.parent / f"{path.name}-{n}"
    return candidate


def _root_cause(error: BaseException) -> str:
    """The first line of the innermost cause: TensorStore's own words, not its spec dump."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
