"""The cross-dataset table as markdown: metrics, classes of each side, recall, counts, figures."""

from __future__ import annotations

from pathlib import Path

from affect_jax.stages import shared_classes

SHARED_SCORES = ("shared_accuracy", "shared_f1_macro")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _count_cell(row: dict, name: str) -> str:
    return f"{row['counts'][name]} / {row['predicted'][name]}"


def _shared_cells(row: dict) -> str:
    scores = " | ".join(_number(row[name]) for name in SHARED_SCORES)
    return f" {row['shared_examples']} | {scores} |"


def markdown(
    rows: list[dict],
    *,
    trained_on: str,
    figures: dict[str, str],
    training: dict | None = None,
) -> str:
    """The report: metrics, recall per class, counts per class, and the confusion figures.

    Args:
      rows: `table_row`s, the own test split first; with `shared_*` fields
        (shared_classes.shared_fields), the metrics table shows them too.
      trained_on: what the model was trained on, for the heading.
      figures: {target key: figure path relative to the report}.
      training: shared_classes.training_side, for the classes of each side.
    """
    names = list(rows[0]["recall"]) if rows else []
    header = "| target | dataset : split |"
    rule = "|---|---|"
    shared = bool(rows) and all("shared_accuracy" in r for r in rows)

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
        f"{header} examples | accuracy | macro F1 |"
        + (" shared examples | shared accuracy | shared macro F1 |" if shared else ""),
        f"{rule}---|---|---|" + ("---|---|---|" if shared else ""),
    ]
    lines += [
        f"{row_start(r)} {r['examples']} | {_number(r['accuracy'])} | {_number(r['f1_macro'])} |"
        + (_shared_cells(r) if shared else "")
        for r in rows
    ]
    if training is not None:
        lines += ["", *shared_classes.classes_markdown(rows, training)]
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


def write_report(
    path: Path,
    rows: list[dict],
    *,
    trained_on: str,
    figures: dict[str, str],
    training: dict | None = None,
) -> Path:
    """Writes `markdown(...)` to `path`."""
    path.write_text(markdown(rows, trained_on=trained_on, figures=figures, training=training))
    return path
