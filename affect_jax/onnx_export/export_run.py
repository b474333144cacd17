"""A training run written as an exported folder (inference/exported_folder.py).

The run is restored as prediction restores it (inference/video_model.py), so
the folder holds what `predict` would use: the best (or chosen) step, an RNN's
CNN, the output columns, AU thresholds and feature rounding. Before anything
is written, both graphs are run by onnxruntime beside the JAX model on the
same inputs; a difference beyond the precision's tolerance stops the export.
The folder is written under a temporary name and renamed into place, so a
failure leaves nothing behind.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from pathlib import Path

import jax
import numpy as np
import onnx
import onnxruntime
from absl import logging

from affect_jax.faces import photometric
from affect_jax.inference.exported_folder import CNN_FILE, RNN_FILE, ExportSpec
from affect_jax.inference.video_model import VideoModel, load_video_model
from affect_jax.models.registry import FRAME_SHAPE
from affect_jax.onnx_export.cnn_graph import cnn_graph
from affect_jax.onnx_export.graph_builder import OPSET, ExportError
from affect_jax.onnx_export.rnn_graph import rnn_graph
from affect_jax.tasks import registry

# Largest |ONNX - JAX| on the check inputs, as a fraction of max(1, the largest |JAX| output).
TOLERANCE = {"float32": 1e-4, "float16": 2e-2}
_CHECK_CROPS = 16

HOW_TO_READ = {
    "frames": "uint8 [N, 96, 96, 1]: gray faces (OpenCV's BGR2GRAY), pixels 0-255 after "
    "input.photometric (none: as read); the graph scales them itself.",
    "valence, arousal": "values in [-1, 1] (clip the CNN's or RNN's output there)",
    "expression_<class>": "logits: softmax over all expression columns; the label is the argmax",
    "au_<AU>": "logits: sigmoid each; active when above au_thresholds[AU] (0.5 if absent)",
    "rnn": "windows of `window` consecutive frames' CNN features (rounded to feature_dtype); "
    "target next: the output is the frame after the window; every: one per frame of it",
}


def export_run(
    checkpoint: str | Path,
    output: str | Path,
    *,
    precision: str = "float32",
    step: str = "best",
    cnn_checkpoint: str | Path | None = None,
    overwrite: bool = False,
) -> ExportSpec:
    """Writes `checkpoint` (a train_cnn or train_rnn run) as ONNX graphs and model.json.

    Raises:
      ExportError: the run has a layer or setting ONNX cannot express, or the
        graphs disagree with JAX; `output` exists and `overwrite` is False.
      NotACheckpointError and the other checkpoint errors: as `predict`.
    """
    output = Path(output)
    if output.exists() and not overwrite:
        raise ExportError(
            f"{output} exists: choose another --output, or pass --overwrite to replace it "
            "(the old folder stays until the new one is complete)."
        )
    if precision not in TOLERANCE:
        raise ExportError(
            f"Unknown precision {precision!r} (--precision); valid: {', '.join(TOLERANCE)}."
        )
    model = load_video_model(checkpoint, cnn_path=cnn_checkpoint, which=step)
    graphs = {CNN_FILE: _cnn_graph(model, precision)}
    if model.has_rnn:
        every_step = model.rnn_config.rnn.target == "every"
        params = jax.device_get(model.rnn_state.params)
        graphs[RNN_FILE] = rnn_graph(
            params, model.rnn_config.model, every_step, precision, model.rnn_path
        )
    spec = _spec(model, precision)
    spec.check = _compare_with_jax(model, graphs, precision)
    _write_atomically(output, graphs, spec)
    logging.info("Exported %s to %s (%s)", model.rnn_path or model.cnn_path, output, precision)
    return spec


def _cnn_graph(model: VideoModel, precision: str) -> onnx.ModelProto:
    state = jax.device_get(model.cnn_state)
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    return cnn_graph(variables, model.cnn_config.model, precision, model.cnn_path)


def _spec(model: VideoModel, precision: str) -> ExportSpec:
    cnn_config, rnn_config = model.cnn_config, model.rnn_config
    rnn = None
    if model.has_rnn:
        rnn = {
            "file": RNN_FILE,
            "outputs": list(registry.output_names(rnn_config)),
            "value_columns": list(model.rnn_columns),
            "window": model.window,
            "target": model.target,
            "feature_dtype": model.feature_dtype,
        }
    source = {
        "cnn_checkpoint": model.cnn_path,
        "cnn_trained_on": cnn_config.dataset.get("name"),
        # Each network's record (data/provenance.py): prediction says so when all are synthetic.
        "training_data": list(model.training_data),
    }
    if model.has_rnn:  # An RNN learns from a feature store the CNN extracted.
        source |= {"rnn_checkpoint": model.rnn_path, "rnn_features": rnn_config.rnn.features_dir}
    return ExportSpec(
        values=list(model.value_names),
        input={
            "name": "frames",
            "shape": ["batch", *FRAME_SHAPE],
            "dtype": "uint8",
            "color": "gray",
            "pixels": "0-255; the graph divides by 255 and applies the learned normalisation",
            # What predict cuts by default: faces aligned by the eyes, as Aff-Wild2's
            # cropped_aligned frames (inference/video_faces.py).
            "face_crop": "aligned",
            "trained_compute_dtype": cnn_config.model.get("compute_dtype", "float32"),
            "photometric": model.photometric,
            # The graph holds none of them (ONNX has no CLAHE): model.json says what to apply.
            "photometric_note": photometric.outside_the_graph(model.photometric),
        },
        cnn={
            "file": CNN_FILE,
            "outputs": list(registry.output_names(cnn_config)),
            "value_columns": list(model.cnn_columns),
            "feature_dim": int(cnn_config.model.feature_dim),
        },
        rnn=rnn,
        au_thresholds=dict(model.au_thresholds),
        source=source,
        precision=precision,
        opset=OPSET,
        written_by=f"affect-jax {importlib.metadata.version('affect-jax')}",
        how_to_read=dict(HOW_TO_READ),
    )


def _session(graph: onnx.ModelProto) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _compare_with_jax(
    model: VideoModel, graphs: dict[str, onnx.ModelProto], precision: str
) -> dict[str, float]:
    """Relative max |ONNX - JAX| of each graph on seeded inputs; raises beyond TOLERANCE."""
    rng = np.random.default_rng(0)
    # Smooth gradients plus noise: nearer faces' statistics than uniform noise.
    ramp = np.linspace(0, 200, FRAME_SHAPE[0])[None, :, None] + np.zeros((_CHECK_CROPS, 1, 96))
    noise = rng.normal(0, 25, (_CHECK_CROPS, *FRAME_SHAPE[:2]))
    crops = np.clip(ramp + noise, 0, 255).astype(np.uint8)
    jax_outputs, jax_features = model.collect(model.submit(crops))
    onnx_outputs, onnx_features = _session(graphs[CNN_FILE]).run(None, {"frames": crops[..., None]})
    differences = {
        "cnn_outputs": _relative_difference(onnx_outputs, jax_outputs),
        "cnn_features": _relative_difference(onnx_features, jax_features),
    }
    if RNN_FILE in graphs:
        rows = rng.integers(0, _CHECK_CROPS, (4, model.window))
        windows = jax_features.astype(model.feature_dtype).astype(np.float32)[rows]
        jax_rnn = np.asarray(model.run_rnn(windows))
        onnx_rnn = _session(graphs[RNN_FILE]).run(None, {"windows": windows})[0]
        differences["rnn_outputs"] = _relative_difference(onnx_rnn, jax_rnn)
    worst = max(differences, key=differences.get)
    if differences[worst] > TOLERANCE[precision]:
        raise ExportError(
            f"The exported {worst.replace('_', ' ')} differ from JAX's by "
            f"{differences[worst]:.2e} (relative; {precision} allows {TOLERANCE[precision]:.0e}): "
            "nothing was written. Please report this with the run's config."
        )
    return differences


def _relative_difference(got: np.ndarray, expected: np.ndarray) -> float:
    scale = max(1.0, float(np.abs(expected).max()))
    return float(np.abs(np.asarray(got, np.float64) - expected).max() / scale)


def _write_atomically(output: Path, graphs: dict[str, onnx.ModelProto], spec: ExportSpec) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.exporting-{os.getpid()}"
    retired = output.parent / f".{output.name}.replaced-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        for name, graph in graphs.items():
            onnx.save(graph, str(staging / name))
        spec.write(staging)
        if output.exists():
            output.rename(retired)
        try:
            staging.rename(output)
        except OSError:
            if retired.exists():
                retired.rename(output)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
