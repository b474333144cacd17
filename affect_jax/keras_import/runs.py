"""Keras checkpoints (the paper authors' trained models) as run folders of this project.

`import_keras_run(FILE, DIR)` writes DIR as a trained run would leave it: an
Orbax checkpoint with its config (`checkpoints/0`) and `results.json` saying
where the weights came from. Predict, extract and `config.init_from` then take
DIR like any run. A CNN file becomes a train_cnn run (configs/affwild2_cnn.py
for a valence/arousal head, configs/ck_plus_cnn.py for 8 classes); a GRU or
SimpleRNN file a train_rnn run (configs/affwild2_rnn.py) that names its CNN run
in `config.rnn.cnn_workdir`, since it has no feature store to find it through.

The step is 0 (init_from.IMPORTED_STEP): no step of ours trained it, and a
train stage refuses such a folder as its --workdir instead of burying it.
"""

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax import config as config_lib
from affect_jax.data import provenance
from affect_jax.keras_import import hdf5
from affect_jax.keras_import.hdf5 import KerasImportError, KerasModel
from affect_jax.models.registry import create_model, input_spec
from affect_jax.runtime import ProjectError
from affect_jax.training import checkpoints, init_from, run, sharding, steps

# Head widths of a valence/arousal regressor -> the config file's `target=` choices.
_VA_TARGETS = {"valence": ("valence",), "arousal": ("arousal",)}
_CLASSES = 8  # CK+'s expressions, the only class head with a config here.
_MODEL_MOMENTUM = 0.99  # FrameCNN's input BatchNorm momentum (cnn.py): fixed, not a setting.


class RunExistsError(ProjectError, FileExistsError):
    """The import's --workdir already holds a run's checkpoints."""


def _targets(model: KerasModel, units: int, target: str | None) -> tuple[str, ...]:
    """The regressed targets of a `units`-wide valence/arousal head."""
    if units == 2:
        if target:
            raise KerasImportError(
                f"{model.path}: its head has 2 units (valence, arousal); --target={target} "
                "is only for a 1-unit head. Leave --target out."
            )
        return ("valence", "arousal")
    if target not in _VA_TARGETS:
        raise KerasImportError(
            f"{model.path}: its head has 1 unit; say which dimension it predicts with "
            f"--target={'|'.join(_VA_TARGETS)} (got {target!r})."
        )
    return _VA_TARGETS[target]


def _cnn_config(model: KerasModel, settings: dict, target: str | None, notes: list[str]):
    units = settings["num_outputs"]
    if settings["head"] == "classes":
        if units != _CLASSES or target:
            raise KerasImportError(
                f"{model.path}: a {units}-class head"
                + (f" with --target={target}" if target else "")
                + f"; supported: {_CLASSES} classes (CK+, configs/ck_plus_cnn.py), no --target."
            )
        config = config_lib.load_config("ck_plus_cnn")
        if settings["head_activation"] == "softmax":
            notes.append("Keras head softmax: our head gives its logits (same argmax).")
    else:
        targets = _targets(model, units, target)
        arg = "both" if len(targets) == 2 else targets[0]
        config = config_lib.load_config("affwild2_cnn", f"target={arg}")
    for key in ("variant", "conv_features", "feature_dim", "dropout_rate"):
        config.model[key] = settings[key]
    momentum = settings["input_norm"]["momentum"]
    if abs(momentum - _MODEL_MOMENTUM) > 1e-12:  # Only fine-tuning's running averages differ.
        notes.append(
            f"Keras input BatchNorm momentum {momentum}; fine-tuning here uses {_MODEL_MOMENTUM}."
        )
    return config, 0


def _rnn_config(model: KerasModel, settings: dict, target, notes: list[str], cnn_workdir):
    if not cnn_workdir:
        raise KerasImportError(
            f"{model.path}: an RNN reads CNN features; name its CNN run with "
            "--cnn_workdir=CNN_RUN (a CNN imported first with this command, or a trained one)."
        )
    cnn_dir, cnn_step, cnn_config = run.find_checkpoint(cnn_workdir, "best")
    if cnn_config.model.name != "cnn":
        raise KerasImportError(
            f"--cnn_workdir={cnn_workdir} holds a {cnn_config.model.name!r} run, not a CNN."
        )
    if cnn_config.model.feature_dim != settings["feature_dim"]:
        raise KerasImportError(
            f"{model.path}: the RNN reads {settings['feature_dim']}-wide features, but the CNN "
            f"{run.RunFolder(cnn_dir).step_dir(cnn_step)} gives {cnn_config.model.feature_dim}: "
            "pass the CNN these features came from with --cnn_workdir."
        )
    config = config_lib.load_config("affwild2_rnn", f"cell={settings['cell']}")
    config.model.layer_sizes = settings["layer_sizes"]
    if settings["window"] is not None:  # A free time axis keeps the config's 100 (the authors').
        config.rnn.window = settings["window"]
    config.rnn.target = settings["target"]  # "next": return_sequences=False, frame t from t-W..t-1.
    config.targets = _targets(model, settings["num_outputs"], target)
    config.rnn.cnn_workdir = str(cnn_dir)
    for dropout in settings["ignored_dropout"]:  # Identity at inference; ours has none.
        notes.append(f"Keras dropout {dropout} not kept (fine-tuning here trains without it).")
    return config, settings["feature_dim"]


def _imported_state(model: KerasModel, config: ml_collections.ConfigDict, feature_dim: int):
    """A train state of `config`'s model holding the file's weights."""
    mesh = sharding.make_data_mesh()
    sample = input_spec(config, feature_dim)
    state = steps.create_train_state(create_model(config), config, mesh, sample)
    variables = hdf5.to_flax_variables(model)
    variables.setdefault("batch_stats", {})
    ours = {"params": state.params, "batch_stats": state.batch_stats}
    mismatch = init_from.first_mismatch(variables, ours, ("the file", "our model"))
    if mismatch:  # A bug of ours: the settings should rebuild exactly this tree.
        raise KerasImportError(
            f"{model.path}: its weights do not fit the {config.model.name} built from its "
            f"settings ({mismatch}); please report it with the file's model_config."
        )
    placed = jax.device_put(
        jax.tree.map(lambda new, old: np.asarray(new, old.dtype), variables, ours),
        sharding.replicated(mesh),
    )
    return state.replace(params=placed["params"], batch_stats=placed["batch_stats"])


def _refuse_existing_run(workdir: Path) -> None:
    if run.RunFolder(workdir).checkpoints.exists():
        raise RunExistsError(
            f"{workdir} already holds {run.CHECKPOINTS}/ (a run); nothing was written. Import "
            "into a new --workdir, or delete that folder first."
        )


def _write_run(workdir: Path, state: Any, config: ml_collections.ConfigDict, results: dict):
    """Writes beside `workdir` and renames into place: a failure leaves no half run."""
    # Beside it, so that the rename stays on one file system; mkdir (not mkdtemp,
    # whose folders are private) gives the run folder the user's usual permissions.
    staging = run.RunFolder(workdir.parent / f".{workdir.name}.importing-{os.getpid()}")
    target = run.RunFolder(workdir)
    shutil.rmtree(staging.root, ignore_errors=True)  # A crashed import's leftovers.
    staging.root.mkdir(parents=True)
    try:
        manager = checkpoints.make_manager(staging.checkpoints, keep=1)
        checkpoints.save(manager, init_from.IMPORTED_STEP, state, None, config, metrics=None)
        checkpoints.wait_until_written(manager)
        manager.close()
        staging.results.write_text(json.dumps(results, indent=2) + "\n")
        if not workdir.exists():
            staging.root.rename(workdir)
            return
        # An existing folder without a run (say, where the .hdf5 files were saved):
        # checkpoints/ moves last, so until then the folder is still no run.
        staging.results.replace(target.results)
        try:
            staging.checkpoints.rename(target.checkpoints)
        except OSError:
            target.results.unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(staging.root, ignore_errors=True)


def import_keras_run(
    keras_file: str | Path,
    workdir: str | Path,
    *,
    cnn_workdir: str | Path | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """Writes the Keras checkpoint `keras_file` as the run folder `workdir`.

    Args:
      keras_file: a Keras 2 HDF5 file of the authors' CNN, GRU or SimpleRNN.
      workdir: the run folder to write (new, or one without checkpoints/).
      cnn_workdir: an RNN file's CNN run (imported or trained); its feature_dim
        must be the RNN's input width.
      target: "valence" or "arousal", for a 1-unit regression head only.

    Returns:
      What results.json holds: imported_from, sha256, keras_version, backend,
      kind, step, stage, model settings, cnn_workdir (RNN) and notes.

    Raises:
      KerasImportError: the file (or its pairing with cnn_workdir) cannot
        become our run; nothing is written.
      RunExistsError: `workdir` holds checkpoints already.
    """
    model = hdf5.read_keras_file(keras_file)
    workdir = Path(workdir).resolve()
    _refuse_existing_run(workdir)
    settings, notes = hdf5.model_settings(model), []
    if model.kind == "cnn":
        if cnn_workdir:
            raise KerasImportError(
                f"{model.path}: a CNN file; --cnn_workdir is only for an RNN file. Leave it out."
            )
        config, feature_dim = _cnn_config(model, settings, target, notes)
    else:
        config, feature_dim = _rnn_config(model, settings, target, notes, cnn_workdir)
    state = _imported_state(model, config, feature_dim)
    results = {
        "imported_from": str(model.path.resolve()),
        "sha256": model.sha256,
        "keras_version": model.keras_version,
        "backend": model.backend,
        "kind": model.kind,
        "step": init_from.IMPORTED_STEP,
        "stage": config.stage,
        "model": settings,
        **({"cnn_workdir": config.rnn.cnn_workdir} if model.kind == "rnn" else {}),
        "notes": notes,
        # The authors trained on Aff-Wild2's real faces.
        provenance.TRAINING_DATA_KEY: {"dataset": "affwild2 (the authors')", "synthetic": False},
    }
    _write_run(workdir, state, config, results)
    logging.info("Imported %s as the %s run %s", model.path, config.stage, workdir)
    return results
