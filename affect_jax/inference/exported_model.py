"""An exported folder (inference/exported_folder.py) run by ONNX Runtime, without JAX.

`load_exported_model(folder)` gives an `ExportedModel`, which predicts every
frame exactly as a training run's `video_model.VideoModel` does
(inference/frame_model.py): only who runs the two networks differs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from affect_jax.faces import photometric
from affect_jax.inference.exported_folder import (
    MODEL_JSON,
    ExportedFolderError,
    ExportSpec,
    read_spec,
)
from affect_jax.inference.frame_model import FrameModel

_INSTALL = "pip install 'affect-jax[export]' (onnx and onnxruntime)"


@dataclasses.dataclass(kw_only=True)
class ExportedModel(FrameModel):
    """ONNX Runtime sessions of an exported CNN (and RNN); see FrameModel."""

    cnn_session: Any
    rnn_session: Any = None

    def submit(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # onnxruntime runs synchronously: the work is done here, `collect` hands it over.
        outputs, features = self.cnn_session.run(None, {"frames": crops[..., None]})
        return outputs, features

    def collect(self, pending: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        outputs, features = pending
        return np.asarray(outputs, np.float32), np.asarray(features, np.float32)

    def run_rnn(self, windows_batch: np.ndarray) -> np.ndarray:
        return self.rnn_session.run(None, {"windows": windows_batch})[0]


def load_exported_model(folder: str | Path, *, batch_size: int = 64) -> ExportedModel:
    """Opens `folder`'s graphs with onnxruntime's CPU provider.

    Raises:
      ExportedFolderError: a file missing, unreadable, of another opset, or a
        model.json this version cannot read.
    """
    folder = Path(folder)
    spec = read_spec(folder)
    cnn = _session(folder / spec.cnn["file"], spec.opset)
    model = ExportedModel(
        cnn_session=cnn,
        cnn_path=str(folder / spec.cnn["file"]),
        cnn_columns=tuple(spec.cnn["value_columns"]),
        batch_size=batch_size,
        value_names=tuple(spec.values),
        au_thresholds=dict(spec.au_thresholds),
        training_data=tuple(spec.source.get("training_data", ())),
        photometric=_photometric(spec, folder),
    )
    if spec.rnn:
        model.rnn_session = _session(folder / spec.rnn["file"], spec.opset)
        model.rnn_path = str(folder / spec.rnn["file"])
        model.rnn_columns = tuple(spec.rnn["value_columns"])
        model.window = int(spec.rnn["window"])
        model.target = spec.rnn["target"]
        model.feature_dtype = spec.rnn["feature_dtype"]
    return model


def _photometric(spec: ExportSpec, folder: Path) -> str:
    """The normalisation the CNN graph expects its crops to have had ("none" in older folders)."""
    method = spec.input.get("photometric", photometric.NONE)
    if method not in photometric.METHODS:
        raise ExportedFolderError(
            f"{folder / MODEL_JSON} asks for photometric normalisation {method!r}, which this "
            f"affect-jax lacks (it has {', '.join(photometric.METHODS)}): upgrade affect-jax."
        )
    return method


def _session(path: Path, opset: int) -> Any:
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ExportedFolderError(
            f"Predicting with {path.parent} needs onnx and onnxruntime ({error}): {_INSTALL}."
        ) from None
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # noqa: BLE001 (protobuf's decode errors have no common type.)
        raise ExportedFolderError(
            f"{path} is not a readable ONNX file ({type(error).__name__}): copy it again, "
            "or export the run again (python -m affect_jax.export)."
        ) from None
    found = {entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")}
    if found != {opset}:
        raise ExportedFolderError(
            f"{path} uses ONNX opset {sorted(found)}, but its model.json says {opset}: the "
            "folder mixes files of two exports. Export the run again into an empty folder."
        )
    try:
        return onnxruntime.InferenceSession(
            proto.SerializeToString(), providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # noqa: BLE001 (onnxruntime raises its own, untyped, errors.)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ExportedFolderError(
            f"onnxruntime {onnxruntime.__version__} cannot run {path} (opset {opset}): "
            f"{first_line}. Upgrade onnxruntime, or export the run again with this "
            "affect-jax."
        ) from None
