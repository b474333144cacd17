"""Challenge-format prediction files: what the ABAW annotation files look like, per task.

Under `<rnn workdir>/predictions/`:
  <video>.txt        VA: "valence,arousal", then "v,a" per frame (as always)
  EXPR/<video>.txt   "Neutral,Anger,...,Other", then one class index per frame
  AU/<video>.txt     an accepted AU header, then "0,1,..." per frame
The headers are those data_builders/affwild2/raw_layout.py accepts, so a
prediction folder parses like an annotation folder. Lines cover frames
1..last frame of each video in the store; frames absent from it (no face, no
label) are interpolated between their neighbours: values and probabilities
linearly, labels and decisions taken from the interpolated probabilities.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np

from affect_jax.data.feature_store import FeatureStore
from affect_jax.data.windows import fill_by_interpolation
from affect_jax.tasks import activations, thresholds
from affect_jax.tasks.labels import AFFWILD2_EXPRESSIONS

# raw_layout.AU.headers: the ABAW 2020 set (with AU20), then the later one.
AU_HEADERS = (
    ("AU1", "AU2", "AU4", "AU6", "AU12", "AU15", "AU20", "AU25"),
    ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"),
)
EXPRESSION_FOLDER, AU_FOLDER = "EXPR", "AU"


def au_header(annotated: list[str]) -> tuple[str, ...]:
    """The accepted AU header covering the AUs the labels annotate (else the later one)."""
    for header in AU_HEADERS:
        if set(annotated) <= set(header):
            return header
    return AU_HEADERS[-1]


def _write_per_video(
    store: FeatureStore,
    values: np.ndarray,
    out_dir: Path,
    header: str,
    line: Callable[[np.ndarray], str],
) -> int:
    """One file per video: `header`, then `line(values of frame)` for frames 1..last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    video_ids = np.asarray(store.video_ids)
    frames = np.asarray(store.frames)
    for video in np.unique(video_ids):
        members = np.flatnonzero(video_ids == video)
        every_frame = np.arange(1, frames[members].max() + 1)
        filled = fill_by_interpolation(frames[members], values[members], every_frame)
        lines = [header] + [line(row) for row in filled]
        (out_dir / f"{store.video_names[video]}.txt").write_text("\n".join(lines) + "\n")
    return len(np.unique(video_ids))


def write_va(store: FeatureStore, values: np.ndarray, names: tuple[str, ...], out_dir: Path) -> int:
    """`<video>.txt` per video: the VA header, then values clipped to [-1, 1]."""
    return _write_per_video(
        store,
        np.clip(values, -1.0, 1.0),
        out_dir,
        ",".join(names),
        lambda row: ",".join(f"{v:.4f}" for v in np.clip(row, -1.0, 1.0)),
    )


def write_expressions(store: FeatureStore, logits: np.ndarray, out_dir: Path) -> int:
    """`EXPR/<video>.txt`: the 8-class header, then the most likely class per frame."""
    return _write_per_video(
        store,
        activations.softmax(logits),
        out_dir,
        ",".join(AFFWILD2_EXPRESSIONS[: logits.shape[-1]]),
        lambda row: str(int(np.argmax(row))),
    )


def write_action_units(
    store: FeatureStore,
    logits: np.ndarray,
    names: tuple[str, ...],
    annotated: list[str],
    out_dir: Path,
    chosen: dict[str, float] | None,
) -> int:
    """`AU/<video>.txt`: the AU header, then 0/1 per AU at the run's thresholds.

    Args:
      logits: [rows, len(names)] AU logits; annotated: the AUs the validation
        labels annotate (they pick the header); chosen: {AU: threshold}.
    """
    header = au_header(annotated)
    columns = [names.index(name) for name in header]
    cuts = np.array([(chosen or {}).get(name, thresholds.DEFAULT_THRESHOLD) for name in header])
    return _write_per_video(
        store,
        activations.sigmoid(np.asarray(logits)[:, columns]),
        out_dir,
        ",".join(header),
        lambda row: ",".join(str(int(v)) for v in row > cuts),
    )
