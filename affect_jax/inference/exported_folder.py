"""The folder `python -m affect_jax.export` writes, and the checks made when one is read.

  DIR/cnn.onnx    frames uint8 [N, 96, 96, 1] -> outputs [N, K], features [N, D]
  DIR/rnn.onnx    (RNN runs) windows float32 [B, W, D] -> outputs [B, K] or [B, W, K]
  DIR/model.json  everything else prediction needs (`ExportSpec`)

Neither this module nor its readers import JAX: a folder predicts where only
onnxruntime is installed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from affect_jax.runtime import ProjectError

MODEL_JSON = "model.json"
CNN_FILE = "cnn.onnx"
RNN_FILE = "rnn.onnx"
# Raised when model.json changes in a way an older reader would misread.
FORMAT_VERSION = 1
# What --precision may ask for: the type weights are stored (and the CNN computes) in.
PRECISIONS = ("float32", "float16")


class ExportedFolderError(ProjectError):
    """An exported folder that cannot be used; the message says what is wrong and what to do."""


@dataclasses.dataclass
class ExportSpec:
    """model.json: how to feed the graphs and read their outputs.

    Attributes:
      values: the per-frame values prediction writes, in order (column names
        of inference/outputs.py: valence, arousal, expression_<class>, au_<AU>).
      input: the CNN's input: shape, dtype, colour, pixel scaling, face crop.
      cnn / rnn: each graph's file, its output column names and which of them
        hold `values` (-1: that graph lacks the value); the RNN's window,
        target rule and the dtype its features were stored in. rnn is None
        for a CNN run.
      au_thresholds: per AU, the probability above which it is active.
      source: the run(s) and step(s) exported, and their training datasets.
      check: each graph's largest difference from JAX at export (relative).
      how_to_read: a line per input or output, for people reading the file.
    """

    values: list[str]
    input: dict[str, Any]
    cnn: dict[str, Any]
    rnn: dict[str, Any] | None
    au_thresholds: dict[str, float]
    source: dict[str, Any]
    precision: str
    opset: int
    format_version: int = FORMAT_VERSION
    written_by: str = ""
    check: dict[str, float] = dataclasses.field(default_factory=dict)
    how_to_read: dict[str, str] = dataclasses.field(default_factory=dict)

    def files(self) -> list[str]:
        return [self.cnn["file"]] + ([self.rnn["file"]] if self.rnn else [])

    def write(self, folder: Path) -> None:
        (folder / MODEL_JSON).write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")


def is_exported_folder(path: str | Path) -> bool:
    """Whether `path` is a folder with a model.json (an export, not a training run)."""
    return (Path(path) / MODEL_JSON).is_file()


def read_spec(folder: str | Path) -> ExportSpec:
    """model.json of `folder`, checked: a readable format, and every file it names present.

    Raises:
      ExportedFolderError: naming the file and the fix.
    """
    folder = Path(folder)
    path = folder / MODEL_JSON
    export_again = "export the run again (python -m affect_jax.export)"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ExportedFolderError(
            f"{folder} has no {MODEL_JSON}: it is not an exported model; {export_again}."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportedFolderError(f"{path} cannot be read ({error}); {export_again}.") from None
    if not isinstance(raw, dict):
        raise ExportedFolderError(f"{path} is not a JSON object; {export_again}.")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ExportedFolderError(
            f"{path} has format version {version!r}, newer than this affect-jax reads "
            f"(up to {FORMAT_VERSION}): upgrade affect-jax (pip install -U "
            f"'affect-jax[export]'), or {export_again} with this version."
        )
    known = {field.name for field in dataclasses.fields(ExportSpec)}
    try:
        spec = ExportSpec(**{key: value for key, value in raw.items() if key in known})
    except TypeError as error:
        raise ExportedFolderError(f"{path} lacks a field ({error}); {export_again}.") from None
    for name in spec.files():
        if not (folder / name).is_file():
            raise ExportedFolderError(
                f"{folder} lacks {name}, which its {MODEL_JSON} lists: copy the whole "
                f"folder, or {export_again}."
            )
    return spec
