"""The three Aff-Wild2 tasks: their files, their record features, their fill values.

A task turns a parsed annotation file into per-line feature arrays. The
builder indexes those arrays by the rows it keeps, so one code path serves
the single-task configs and the joined multitask one.

Action units: ABAW 2020 annotates 8 AUs, later releases 12, and the sets are
not nested (AU20 is only in 2020; AU7, AU10, AU23, AU24, AU26 only later). So
`aus` has one slot per AU of the union, `AU_NAMES` (13, in AU-number order),
and `au_mask` says which slots the record's file annotates. One feature shape
serves both releases and a mix of them; a model predicts 13 logits and masks
its loss with `au_mask`.

Values that are absent (slots no file annotates, tasks a multitask record has
no label for) hold the release's sentinels: -5.0 for valence and arousal, -1
for expression and AUs. They are finite, so a masked loss stays finite, and
out of range, so a loss that forgets the mask fails loudly instead of learning
from made-up labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow_datasets as tfds

from data_builders.affwild2 import raw_layout

# The later header: the 2020 one plus class 7, "Other" (0-6 mean the same).
EXPRESSION_NAMES = tuple(raw_layout.EXPR.headers[-1].split(","))
# The union of the 2020 (8) and later (12) AU sets, in AU-number order.
AU_NAMES = tuple(
    sorted(
        {name for header in raw_layout.AU.headers for name in header.split(",")},
        key=lambda name: int(name[2:]),
    )
)
_AU_SLOT = {name: slot for slot, name in enumerate(AU_NAMES)}

FeatureArrays = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Task:
    """One annotation set of Aff-Wild2.

    Attributes:
      name: the short name used in config names and reports.
      annotation_format: where the task's files are and how they look.
      features: the record features the task adds (name -> connector).
      encode: an `Annotation` -> {feature: array with one entry per line}.
      absent: {feature: the value a record holds without this task's label}.
    """

    name: str
    annotation_format: raw_layout.AnnotationFormat
    features: Callable[[], dict[str, tfds.features.FeatureConnector]]
    encode: Callable[[raw_layout.Annotation], FeatureArrays]
    absent: dict[str, np.ndarray]

    @property
    def presence_feature(self) -> str:
        """The bool feature that says a multitask record has this task's label."""
        return f"has_{self.name}"


def _va_features() -> dict:
    return {name: tfds.features.Scalar(np.float32) for name in ("valence", "arousal")}


def _va_encode(annotation: raw_layout.Annotation) -> FeatureArrays:
    return {"valence": annotation.values[:, 0], "arousal": annotation.values[:, 1]}


def _expression_features() -> dict:
    return {"expression": tfds.features.ClassLabel(names=EXPRESSION_NAMES)}


def _expression_encode(annotation: raw_layout.Annotation) -> FeatureArrays:
    # Both accepted headers are prefixes of EXPRESSION_NAMES: indices carry over.
    assert annotation.columns == EXPRESSION_NAMES[: len(annotation.columns)]
    return {"expression": annotation.values[:, 0].astype(np.int64)}


def _au_features() -> dict:
    shape = (len(AU_NAMES),)
    return {
        "aus": tfds.features.Tensor(
            shape=shape, dtype=np.int8, doc=f"1 = active, 0 = not, -1 = absent; {AU_NAMES}."
        ),
        "au_mask": tfds.features.Tensor(
            shape=shape, dtype=np.bool_, doc="Which slots of `aus` are annotated."
        ),
    }


def _au_encode(annotation: raw_layout.Annotation) -> FeatureArrays:
    slots = [_AU_SLOT[name] for name in annotation.columns]
    num_lines = len(annotation.values)
    aus = np.full((num_lines, len(AU_NAMES)), -1, np.int8)
    aus[:, slots] = annotation.values
    mask = np.zeros((num_lines, len(AU_NAMES)), np.bool_)
    mask[:, slots] = True
    return {"aus": aus, "au_mask": mask}


VA = Task(
    name="va",
    annotation_format=raw_layout.VA,
    features=_va_features,
    encode=_va_encode,
    absent={"valence": np.float32(-5.0), "arousal": np.float32(-5.0)},
)
EXPR = Task(
    name="expression",
    annotation_format=raw_layout.EXPR,
    features=_expression_features,
    encode=_expression_encode,
    absent={"expression": np.int64(-1)},
)
AU = Task(
    name="au",
    annotation_format=raw_layout.AU,
    features=_au_features,
    encode=_au_encode,
    absent={
        "aus": np.full(len(AU_NAMES), -1, np.int8),
        "au_mask": np.zeros(len(AU_NAMES), np.bool_),
    },
)
TASKS = {task.name: task for task in (VA, EXPR, AU)}


class LabelTally:
    """Counts the labels of the records written, for the build report.

    Per task: records with its label ("frames"), and per expression class or
    per annotated AU how many of them have it (AU: active, value 1).
    """

    def __init__(self) -> None:
        self._frames = dict.fromkeys(TASKS, 0)
        self._classes = np.zeros(len(EXPRESSION_NAMES), np.int64)
        self._active = np.zeros(len(AU_NAMES), np.int64)
        self._annotated = np.zeros(len(AU_NAMES), np.bool_)

    def add(self, example: dict, labelled: list[Task]) -> None:
        """Counts one record; `labelled`: the tasks whose label it carries."""
        for task in labelled:
            self._frames[task.name] += 1
            if task is EXPR:
                self._classes[example["expression"]] += 1
            elif task is AU:
                self._active += example["aus"] == 1
                self._annotated |= example["au_mask"]

    def as_json(self, tasks: list[Task]) -> dict[str, dict[str, int]]:
        """{task name: {"frames": n, label name: n, ...}} for `tasks`."""
        counts = {}
        for task in tasks:
            counts[task.name] = {"frames": self._frames[task.name]}
            if task is EXPR:
                names, values, shown = EXPRESSION_NAMES, self._classes, self._classes > 0
            elif task is AU:
                names, values, shown = AU_NAMES, self._active, self._annotated
            else:
                continue
            for name, value, show in zip(names, values.tolist(), shown.tolist(), strict=True):
                if show:
                    counts[task.name][name] = value
        return counts
