"""The cross-dataset table: which splits a trained classifier is tested on, its rows, its report.

`config.cross_dataset` (config.cross_dataset_options) names the targets, each
`[key=]name:split[@data_dir]`:

    "jaffe/all:test"                          JAFFE, in the training data_dir
    "face_folders/cropped:test@DATA/fer2013"  a class-folder set in its own data_dir
    "fer=face_folders/cropped:test@DATA/fer"  with the key spelled out

The key prefixes the target's results (`jaffe_accuracy`, `jaffe_recall_2`,
...) and names its figure (`plots/confusion_jaffe.png`); by default it is the
dataset's name before the `/`, or the whole name with `_` for `/` when two
targets share it. The training dataset's own test split
(`own_test_split`) comes first, as key `test` (no extra keys when it is the
evaluation split, whose metrics are the top-level ones). Each row holds the
whole split's accuracy, macro F1, per-class recall and the true and predicted
counts per class; `write_report` renders the rows as markdown, and
`evaluate_targets` runs the final model over every target.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax.data import sources
from affect_jax.plots.training import confusion_matrices
from affect_jax.runtime import ConfigError
from affect_jax.stages import evaluate
from affect_jax.stages.inputs import StageInputs
from affect_jax.tasks.registry import Task
from affect_jax.training import run

OWN_TEST_KEY = "test"
_TARGET = re.compile(
    r"^(?:(?P<key>[A-Za-z]\w*)=)?(?P<name>[^:@=]+):(?P<split>[^:@]+)(?:@(?P<dir>.+))?$"
)
_FORMAT = (
    "[key=]name:split[@data_dir], e.g. 'jaffe/all:test' or 'face_folders/cropped:test@DATA/fer'"
)


@dataclasses.dataclass(frozen=True)
class Target:
    """One split to test the final model on.

    Attributes:
      key: prefix of its results keys and name of its figure.
      dataset: the TFDS name, e.g. "jaffe/all".
      split: the split, e.g. "test".
      data_dir: where it was built.
      own: whether it is the training dataset's own test split.
    """

    key: str
    dataset: str
    split: str
    data_dir: str
    own: bool = False


def parse_target(text: str, default_data_dir: str) -> tuple[str | None, Target]:
    """(the key as written or None, the target) of one `[key=]name:split[@data_dir]`.

    Raises:
      ConfigError: for text in another form, naming the accepted one.
    """
    match = _TARGET.match(text.strip())
    if match is None:
        raise ConfigError(f"config.cross_dataset.targets entry {text!r} is not {_FORMAT}.")
    data_dir = match["dir"] or default_data_dir
    target = Target(match["key"] or "", match["name"].strip(), match["split"].strip(), data_dir)
    return match["key"], target


def _listed_targets(section: ml_collections.ConfigDict) -> list[str]:
    if "targets" in section:
        return list(section.targets)
    # Configs saved before `targets` (a run's checkpoint) name one target.
    if section.get("name"):
        spec = f"{section.name}:{section.get('split', 'test')}"
        return [f"{spec}@{section.data_dir}" if section.get("data_dir") else spec]
    return []


def targets_of(config: ml_collections.ConfigDict) -> list[Target]:
    """The own test split (when asked for) and every listed target, with unique keys.

    Raises:
      ConfigError: a malformed entry, or two targets with the same key.
    """
    section = config.get("cross_dataset")
    if not section:
        return []
    default_dir = config.dataset.get("data_dir", "")
    found: list[tuple[str | None, Target]] = []
    own_split = section.get("own_test_split", "")
    if own_split:
        own = Target(OWN_TEST_KEY, config.dataset.name, own_split, default_dir, own=True)
        found.append((OWN_TEST_KEY, own))
    found += [parse_target(text, default_dir) for text in _listed_targets(section)]
    bases = [t.dataset.split("/")[0] for _, t in found if not t.own]
    result, seen = [], set()
    for written, target in found:
        key = written
        if key is None:
            base = target.dataset.split("/")[0]
            key = base if bases.count(base) == 1 else re.sub(r"\W", "_", target.dataset)
        if key in seen:
            raise ConfigError(
                f"Two cross-dataset targets have the key {key!r} (config.cross_dataset); name "
                f"them apart as key=name:split, e.g. '{key}2={target.dataset}:{target.split}'."
            )
        seen.add(key)
        data_dir = str(Path(target.data_dir).expanduser().resolve()) if target.data_dir else ""
        result.append(dataclasses.replace(target, key=key, data_dir=data_dir))
    return result


def _none_if_nan(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def table_row(
    target: Target,
    metrics: dict[str, float],
    labels: np.ndarray,
    predicted: np.ndarray,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """One table row: the target, its whole-split metrics and its counts per class (JSON-able)."""
    num_classes = len(class_names)
    true_counts = np.bincount(np.asarray(labels).reshape(-1), minlength=num_classes)
    predicted_counts = np.bincount(np.asarray(predicted).reshape(-1), minlength=num_classes)
    return {
        "target": target.key,
        "dataset": target.dataset,
        "split": target.split,
        "data_dir": target.data_dir,
        "own": target.own,
        "examples": int(true_counts.sum()),
        "accuracy": _none_if_nan(metrics["accuracy"]),
        "f1_macro": _none_if_nan(metrics["f1_macro"]),
        "loss": _none_if_nan(metrics.get("loss", math.nan)),
        # None where the split has no example of the class (JAFFE: contempt).
        "recall": {n: _none_if_nan(metrics[f"recall_{i}"]) for i, n in enumerate(class_names)},
        "counts": {n: int(true_counts[i]) for i, n in enumerate(class_names)},
        "predicted": {n: int(predicted_counts[i]) for i, n in enumerate(class_names)},
    }


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _count_cell(row: dict, name: str) -> str:
    return f"{row['counts'][name]} / {row['predicted'][name]}"


def markdown(rows: list[dict], *, trained_on: str, figures: dict[str, str]) -> str:
    """The report: metrics, recall per class, counts per class, and the confusion figures.

    Args:
      rows: `table_row`s, the own test split first.
      trained_on: what the model was trained on, for the heading.
      figures: {target key: figure path relative to the report}.
    """
    names = list(rows[0]["recall"]) if rows else []
    header = "| target | dataset : split |"
    rule = "|---|---|"

    def row_start(row: dict) -> str:
        label = f"{row['target']} (own)" if row["own"] else row["target"]
        return f"| {label} | `{row['dataset']}` : {row['split']} |"

    lines = [
        "# Cross-dataset evaluation",
        "",
        f"The final model trained on {trained_on}, on each whole split. Recall of a class: the "
        "share of its examples predicted as it (— where the split has none). Macro F1 "
        "averages the classes that occur in the labels or the predictions.",
        "",
        f"{header} examples | accuracy | macro F1 |",
        f"{rule}---|---|---|",
    ]
    lines += [
        f"{row_start(r)} {r['examples']} | {_number(r['accuracy'])} | {_number(r['f1_macro'])} |"
        for r in rows
    ]
    lines += ["", "## Recall per class", "", f"{header} {' | '.join(names)} |"]
    lines += [f"{rule}{'---|' * len(names)}"]
    lines += [
        f"{row_start(r)} {' | '.join(_number(r['recall'][n]) for n in names)} |" for r in rows
    ]
    lines += ["", "## Examples per class (true / predicted)", "", f"{header} {' | '.join(names)} |"]
    lines += [f"{rule}{'---|' * len(names)}"]
    lines += [f"{row_start(r)} {' | '.join(_count_cell(r, n) for n in names)} |" for r in rows]
    lines += ["", "## Confusion matrices (counts and row-normalized)", ""]
    lines += [f"![{key}]({path})" for key, path in figures.items()]
    return "\n".join(lines) + "\n"


def write_report(path: Path, rows: list[dict], *, trained_on: str, figures: dict[str, str]) -> Path:
    """Writes `markdown(...)` to `path`."""
    path.write_text(markdown(rows, trained_on=trained_on, figures=figures))
    return path


def _check_label_space(target: Target, config: ml_collections.ConfigDict):
    """Raises ConfigError unless the target's labels are the model's classes, in order."""
    features = sources.open_builder(target.dataset, target.data_dir).info.features
    names = tuple(config.get("class_names", ()))
    found = tuple(features["label"].names) if "label" in features else None
    if found is None or (names and found != names):
        raise ConfigError(
            f"Cross-dataset target {target.key} ({target.dataset}): its labels are "
            f"{found or 'absent'}, the model's {names}. config.cross_dataset.targets takes "
            "datasets labelled with the same classes (CK+ codes: ck_plus, jaffe, face_folders)."
        )


def evaluate_targets(
    state: Any,
    predict_step,
    inputs: StageInputs,
    config: ml_collections.ConfigDict,
    task: Task,
    mesh,
    workdir: Path,
    validation: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The final model on its own test split and each `config.cross_dataset` target.

    Args:
      validation: predictions of the evaluation split, reused when the own
        test split is the evaluation split.

    Returns:
      `<key>_<metric>` for each target (e.g. `jaffe_accuracy`) and
      `cross_dataset`, the table's rows; process 0 also writes a confusion
      figure per target and `cross_dataset.md` (stages/cross_dataset.py).
    """
    targets = targets_of(config)
    result: dict[str, Any] = {}
    rows, figures = [], {}
    class_names = tuple(config.get("class_names", ())) or tuple(map(str, range(config.num_classes)))
    for target in targets:
        is_eval_split = target.own and target.split == config.dataset.eval_split
        if is_eval_split and validation is not None:
            predictions, figure = validation, "confusion_validation.png"
        else:
            if (
                target.own
                and target.split
                not in sources.open_builder(target.dataset, target.data_dir).info.splits
            ):
                logging.warning(
                    "%s has no %s split: no own test row.", target.dataset, target.split
                )
                continue
            _check_label_space(target, config)
            source = sources.open_split(target.dataset, target.data_dir, target.split)
            predictions = evaluate.predict_split(
                state, predict_step, source, inputs.transform, config, mesh
            )
            figure = f"confusion_{target.key}.png"
        metrics = evaluate.split_metrics(predictions, config, task)
        if not is_eval_split:  # The evaluation split's metrics are the top-level ones.
            result.update({f"{target.key}_{key}": value for key, value in metrics.items()})
        predicted = predictions["outputs"].argmax(-1)
        rows.append(table_row(target, metrics, predictions["label"], predicted, class_names))
        figures[target.key] = f"{run.PLOTS}/{figure}"  # A link relative to the report.
        if jax.process_index() == 0 and figure != "confusion_validation.png":
            confusion_matrices(
                predictions["label"],
                predicted,
                config.num_classes,
                run.RunFolder(workdir).plots / figure,
                title=f"{target.dataset} {target.split}",
                class_names=tuple(config.get("class_names", ())),
            )
    if rows and jax.process_index() == 0:
        write_report(
            workdir / config.cross_dataset.get("report", "cross_dataset.md"),
            rows,
            trained_on=f"`{config.dataset.name}` ({config.dataset.train_split})",
            figures=figures,
        )
    if rows:
        result["cross_dataset"] = rows
    return result
