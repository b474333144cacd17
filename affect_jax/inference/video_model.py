"""A trained run restored for prediction: face crops in, valence/arousal per frame out.

`load_video_model(path)` takes a train_rnn or train_cnn run (its workdir, its
checkpoints/ folder, or one checkpoints/<step> folder) and rebuilds the model
from the config saved in the checkpoint. An RNN run finds its CNN through an
explicit `cnn_path`, else its own record (cnn_link.json), else its feature
store, else its `config.rnn.cnn_workdir` (training/run.cnn_of_rnn).

What it predicts for each frame: inference/frame_model.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np
from absl import logging

from affect_jax.data import pipeline
from affect_jax.data.provenance import TRAINING_DATA_KEY
from affect_jax.faces import photometric
from affect_jax.inference import heads
from affect_jax.inference.frame_model import FrameModel
from affect_jax.tasks.thresholds import THRESHOLDS_KEY
from affect_jax.training import sharding, steps
from affect_jax.training.run import RunFolder, cnn_of_rnn, find_checkpoint, restore_run_state


@dataclasses.dataclass(kw_only=True)
class VideoModel(FrameModel):
    """A training run's CNN (and RNN) restored as JAX train states (see FrameModel).

    Attributes:
      cnn_config / rnn_config: the runs' saved configs (rnn_config None for a CNN run).
    """

    cnn_state: Any
    mesh: Any
    rnn_state: Any = None
    cnn_config: Any = None
    rnn_config: Any = None

    def __post_init__(self):
        self._cnn = steps.make_predict_step(self.mesh, return_features=True)
        self._rnn = steps.make_predict_step(self.mesh)

    def submit(self, crops: np.ndarray) -> tuple[Any, int]:
        """Starts the CNN on uint8 crops [n, 96, 96]; `collect` gets the results.

        JAX dispatches asynchronously, so the caller can find the next faces
        while the CNN runs.
        """
        padded = pipeline.pad_batch({"inputs": crops[..., None]}, self.batch_size)["inputs"]
        batch = sharding.to_global_batch({"inputs": padded}, self.mesh)
        return self._cnn(self.cnn_state, batch), len(crops)

    def collect(self, pending: tuple[Any, int]) -> tuple[np.ndarray, np.ndarray]:
        result, count = jax.device_get(pending[0]), pending[1]
        outputs, features = result["outputs"], result["features"]
        return np.asarray(outputs[:count], np.float32), np.asarray(features[:count], np.float32)

    def run_rnn(self, windows_batch: np.ndarray) -> np.ndarray:
        batch = sharding.to_global_batch({"inputs": windows_batch}, self.mesh)
        return jax.device_get(self._rnn(self.rnn_state, batch)["outputs"])


def load_video_model(
    path: str | Path,
    *,
    cnn_path: str | Path | None = None,
    which: str = "best",
    batch_size: int = 64,
) -> VideoModel:
    """Restores the run at `path` (RNN or CNN) for `VideoModel` prediction.

    Raises:
      NotACheckpointError: `path` (or the RNN's CNN) is not a usable checkpoint.
    """
    mesh = sharding.make_data_mesh()
    batch_size = sharding.per_process_batch_size(batch_size, "batch_size (--batch_size)")
    workdir, step, config = find_checkpoint(path, which)
    where = str(RunFolder(workdir).step_dir(step))
    names, columns = heads.predicted_columns(config, where)
    results = RunFolder(workdir).read_results()
    # The AU thresholds a run chose on validation; {}: 0.5 each.
    outputs = dict(value_names=names, au_thresholds=dict(results.get(THRESHOLDS_KEY) or {}))
    if config.model.name == "cnn":
        outputs["training_data"] = (results.get(TRAINING_DATA_KEY),)
        outputs["photometric"] = photometric.configured_method(config)
        if cnn_path:
            logging.warning("%s is a CNN run; --cnn_checkpoint is ignored.", where)
        state = restore_run_state(workdir, step, config, mesh)
        return VideoModel(
            cnn_state=state,
            cnn_path=where,
            cnn_columns=columns,
            mesh=mesh,
            batch_size=batch_size,
            cnn_config=config,
            **outputs,
        )
    cnn_workdir, cnn_step, cnn_config, info = cnn_of_rnn(config, where, cnn_path)
    cnn_where = str(RunFolder(cnn_workdir).step_dir(cnn_step))
    if info and Path(info["checkpoint"]).resolve() != Path(cnn_where):
        logging.warning(
            "The RNN %s learned from the features of %s; predicting with those of %s.",
            where,
            info["checkpoint"],
            cnn_where,
        )
    logging.info("RNN %s over the features of CNN %s", where, cnn_where)
    return VideoModel(
        cnn_state=restore_run_state(cnn_workdir, cnn_step, cnn_config, mesh),
        cnn_path=cnn_where,
        cnn_columns=tuple(heads.columns_for(names, cnn_config)),
        mesh=mesh,
        batch_size=batch_size,
        cnn_config=cnn_config,
        rnn_config=config,
        rnn_state=restore_run_state(workdir, step, config, mesh, cnn_config.model.feature_dim),
        rnn_path=where,
        rnn_columns=columns,
        photometric=photometric.configured_method(cnn_config),
        window=int(config.rnn.window),
        target=config.rnn.target,
        feature_dtype=info.get("feature_dtype", "float32"),
        training_data=(
            RunFolder(cnn_workdir).read_results().get(TRAINING_DATA_KEY),
            results.get(TRAINING_DATA_KEY),
        ),
        **outputs,
    )
