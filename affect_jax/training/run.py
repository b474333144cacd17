"""A run's home: its folder's layout, its checkpoints, its config, and an RNN's CNN.

    <workdir>/
      checkpoints/<step>/    Orbax steps (state, config, data_iterator)
      corrupt_checkpoints/   damaged steps set aside on resume (resume.py)
      results.json           the finished run's metrics (and AU thresholds)
      metrics.jsonl, tensorboard/   every evaluation, as written (metric_writer.py)
      plots/                 PNG figures
      predictions/           challenge-format files of the validation videos
      balancing.json, balancing.png  a VA-balanced subset's bins
      features/<split>/      an extract run's feature store (data/feature_store.py)
      cnn_link.json          an RNN run's CNN checkpoint (relative and absolute)

These names are spelled here only. A run is found from its workdir, its
checkpoints/ folder or one checkpoints/<step> folder (`find_checkpoint`), its
saved config comes with it, `restore_run_state` restores its train state on
this process's mesh, and `cnn_of_rnn` finds the CNN run whose features an RNN
learned from. Extraction, prediction, fine-tuning starts, Keras import and
resuming all go through here.
"""

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import jax
import ml_collections

from affect_jax.data.feature_store import COMPLETE_FILE
from affect_jax.models.registry import create_model, input_spec
from affect_jax.training import checkpoints, steps
from affect_jax.training.checkpoints import (
    CheckpointMismatchError,
    DamagedCheckpointError,
    NotACheckpointError,
)
from affect_jax.training.sharding import replicated

CHECKPOINTS = "checkpoints"
CORRUPT_CHECKPOINTS = "corrupt_checkpoints"
RESULTS = "results.json"
METRICS = "metrics.jsonl"
TENSORBOARD = "tensorboard"
PLOTS = "plots"
PREDICTIONS = "predictions"
BALANCING_JSON, BALANCING_PNG = "balancing.json", "balancing.png"
FEATURES = "features"
CNN_LINK = "cnn_link.json"


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """The paths of the run at `root` (its --workdir)."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    def step_dir(self, step: int) -> Path:
        return self.checkpoints / str(step)

    @property
    def corrupt_checkpoints(self) -> Path:
        return self.root / CORRUPT_CHECKPOINTS

    @property
    def results(self) -> Path:
        return self.root / RESULTS

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def tensorboard(self) -> Path:
        return self.root / TENSORBOARD

    @property
    def plots(self) -> Path:
        return self.root / PLOTS

    @property
    def predictions(self) -> Path:
        return self.root / PREDICTIONS

    @property
    def features(self) -> Path:
        """An extract run's feature stores, one folder per split."""
        return self.root / FEATURES

    @property
    def cnn_link(self) -> Path:
        """An RNN run's record of the CNN whose features it learned from."""
        return self.root / CNN_LINK

    def read_results(self) -> dict:
        """results.json, or {} where the run has not finished (or was imported bare)."""
        return json.loads(self.results.read_text()) if self.results.exists() else {}


def locate_run(path: str | Path) -> tuple[Path, int | None]:
    """(run workdir, step or None) of a workdir, checkpoints/ or checkpoints/<step> path."""
    path = Path(path).resolve()
    if path.name.isdigit() and path.parent.name == CHECKPOINTS:
        return path.parent.parent, int(path.name)
    if path.name == CHECKPOINTS and path.is_dir():
        return path.parent, None
    if RunFolder(path).checkpoints.is_dir():
        return path, None
    raise NotACheckpointError(
        f"{path} is not a checkpoint: give the --workdir of a train_cnn or train_rnn run "
        f"(it holds {CHECKPOINTS}/, and {RunFolder(path).checkpoints} does not exist), that "
        f"{CHECKPOINTS}/ folder, or one {CHECKPOINTS}/<step> folder."
    )


def find_checkpoint(path: str | Path, which: str) -> tuple[Path, int, ml_collections.ConfigDict]:
    """(workdir, step, saved config) of the checkpoint at `path`.

    Args:
      which: "best" (lowest validation loss; the latest if none has one),
        "latest", or a step; ignored when `path` names a step.
    """
    workdir, step = locate_run(path)
    folder = RunFolder(workdir)
    if not any(p.name.isdigit() for p in folder.checkpoints.iterdir()):
        raise NotACheckpointError(f"{folder.checkpoints} holds no finished checkpoint.")
    manager = checkpoints.make_manager(folder.checkpoints)
    try:
        if step is None:
            latest = manager.latest_step()
            step = {"best": manager.best_step() or latest, "latest": latest}.get(which)
            step = int(which) if step is None and which.isdigit() else step
        if step is None or step not in manager.all_steps():
            raise NotACheckpointError(f"No checkpoint {which!r} in {folder.checkpoints}.")
        return workdir, step, checkpoints.saved_config(manager, step)
    finally:
        manager.close()


def restore_run_state(
    workdir: Path, step: int, config: ml_collections.ConfigDict, mesh, feature_dim: int = 0
) -> Any:
    """The train state saved at `step`; `feature_dim` is an RNN's input width."""
    sample = input_spec(config, feature_dim)
    # Shapes only: compiling the initializer would take seconds and its values are overwritten.
    shapes = steps.train_state_shapes(create_model(config), config, sample)
    # Replicated on this process's mesh, as training holds it: without a sharding
    # Orbax would lay the arrays out as saved, and a checkpoint of another device
    # or host count (a TPU slice's, read on one machine) would not restore.
    target = jax.tree.map(
        lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=replicated(mesh)),
        shapes,
    )
    folder = RunFolder(workdir)
    where = folder.step_dir(step)
    manager = checkpoints.make_manager(folder.checkpoints)
    try:
        return checkpoints.restore(manager, step, target, None, config)
    except CheckpointMismatchError:
        raise
    except Exception as error:  # noqa: BLE001 (TensorStore's damage comes as a bare Exception.)
        if damage := checkpoints.damage_message(error):
            others = ", ".join(str(s) for s in sorted(manager.all_steps()) if s != step)
            raise DamagedCheckpointError(
                f"{where} is damaged: its arrays do not read back whole "
                f"({damage}). Pass --step= with another of the run's steps ({others or 'none'})"
                ", or copy the run again from where it was trained."
            ) from error
        if not isinstance(error, ValueError):
            raise
        raise CheckpointMismatchError(
            f"{where} does not fit its own config's model (an RNN over "
            f"{feature_dim}-wide features?): {error}"
        ) from error
    finally:
        manager.close()


def restore_cnn(path: str | Path, which: str, mesh) -> tuple[Any, ml_collections.ConfigDict, str]:
    """(train state, config, "<workdir>/checkpoints/<step>") of the CNN run at `path`."""
    workdir, step, config = find_checkpoint(path, which)
    where = str(RunFolder(workdir).step_dir(step))
    if config.model.name != "cnn":
        raise CheckpointMismatchError(f"{where} holds a {config.model.name!r} model, not a CNN.")
    return restore_run_state(workdir, step, config, mesh), config, where


def feature_store_info(
    rnn_config: ml_collections.ConfigDict, rnn_path: str, required: bool
) -> dict:
    """The RNN's training feature store's complete.json ({} if gone and not required)."""
    features_dir = rnn_config.rnn.features_dir
    complete = Path(features_dir) / rnn_config.dataset.train_split / COMPLETE_FILE
    if not features_dir or not complete.exists():  # "": no store (an imported RNN).
        if not required:
            return {}
        raise NotACheckpointError(
            f"The RNN {rnn_path} was trained on the feature store {features_dir!r}, but "
            f"{complete} is missing, so its CNN is unknown: pass the CNN run with "
            "--cnn_checkpoint (or set the run's config.rnn.cnn_workdir)."
        )
    return json.loads(complete.read_text())


def record_cnn_of_rnn(workdir: str | Path, store_info: dict) -> None:
    """Writes the RNN run's cnn_link.json from its training feature store's complete.json.

    The CNN checkpoint is kept relative to the run (so a tree of runs moved
    together still finds it) and absolute (so an RNN run moved alone still
    does while the CNN stays), with the dtype the features were stored in.
    """
    root = Path(workdir).resolve()
    checkpoint = Path(store_info["checkpoint"]).resolve()
    link = {
        "checkpoint_from_run": os.path.relpath(checkpoint, root),
        "checkpoint": str(checkpoint),
        "feature_dtype": store_info.get("feature_dtype", "float32"),
    }
    partial = RunFolder(root).cnn_link.with_suffix(".partial")
    partial.write_text(json.dumps(link, indent=2) + "\n")
    partial.replace(RunFolder(root).cnn_link)


def _linked_cnn(rnn_where: str) -> dict:
    """{"checkpoint", "feature_dtype"} from the run's cnn_link.json, or {} (none, or gone)."""
    try:
        rnn_workdir = locate_run(rnn_where)[0]
    except NotACheckpointError:
        return {}
    path = RunFolder(rnn_workdir).cnn_link
    if not path.is_file():
        return {}
    link = json.loads(path.read_text())
    for candidate in (rnn_workdir / link["checkpoint_from_run"], Path(link["checkpoint"])):
        if candidate.exists():
            return {"checkpoint": str(candidate.resolve()), "feature_dtype": link["feature_dtype"]}
    return {}


def cnn_of_rnn(
    rnn_config: ml_collections.ConfigDict, rnn_where: str, cnn_path: str | Path | None = None
) -> tuple[Path, int, ml_collections.ConfigDict, dict]:
    """(workdir, step, config, feature store info) of the CNN whose features an RNN reads.

    The CNN is `cnn_path` if given, else the one the RNN run recorded
    (cnn_link.json: relative to the run, then absolute), else the one that
    wrote the RNN's training feature store (its complete.json), else the run's
    config.rnn.cnn_workdir (imported RNNs); its "best" checkpoint. The info
    ("checkpoint", "feature_dtype", ...) is {} where neither record is found.

    Raises:
      NotACheckpointError: that CNN is unknown, gone, or not a CNN run.
    """
    named = rnn_config.rnn.get("cnn_workdir", "")  # Older runs lack the key.
    info = _linked_cnn(rnn_where) or feature_store_info(
        rnn_config, rnn_where, required=not (cnn_path or named)
    )
    cnn_path = cnn_path or info.get("checkpoint") or named
    if not Path(cnn_path).exists():
        raise NotACheckpointError(
            f"The CNN of the RNN {rnn_where}, {cnn_path}, is gone: pass it with --cnn_checkpoint."
        )
    workdir, step, config = find_checkpoint(cnn_path, "best")
    if config.model.name != "cnn":
        where = RunFolder(workdir).step_dir(step)
        raise NotACheckpointError(f"{where} holds a {config.model.name!r}, not a CNN.")
    return workdir, step, config, info
