"""REPORT.md for a reproduction run: the paper's Tables I and III beside ours.

Reads each experiment's results.json under the run root, so it can be
rewritten at any time from what has finished.
"""

import math
from pathlib import Path

from affect_jax.training.run import BALANCING_PNG, PLOTS, RunFolder

# Paper numbers (Table I: accuracy; Table III: whole-set validation CCC V / A).
PAPER_TABLE_1 = {"ck_plus": (0.95, 0.50)}
# Table I's rows: (experiment, label); the paper's crop but for the last.
CK_PLUS_ROWS = (
    ("ck_plus", "CNN"),
    ("ck_plus_balanced", "CNN, class-weighted loss"),
    ("ck_plus_aligned", "CNN, faces aligned by the eyes"),
)
PAPER_TABLE_3 = {
    "cnn_whole": ("CNN, whole training set", (0.20, 0.23), "ccc"),
    "cnn_subset1": ("CNN, subset 1 (k_max = max)", None, "ccc"),
    "cnn_subset2": ("CNN, subset 2 (k_max = mean)", None, "ccc"),
    "cnn_subset3": ("CNN, subset 3 (k_max = (max + mean) / 2)", (0.22, 0.22), "ccc"),
    "cnn_valence_only": ("CNN, valence only", None, "valence"),
    "cnn_arousal_only": ("CNN, arousal only", None, "arousal"),
    "cnn_mse": ("CNN, MSE loss", None, "ccc"),
    "simple_rnn_1": ("CNN + SimpleRNN, 1 layer", (0.21, 0.22), "frame"),
    "gru_1": ("CNN + GRU, 1 layer", (0.20, 0.35), "frame"),
    "gru_3": ("CNN + GRU, 3 layers", (0.23, 0.39), "frame"),
}
BASELINE = ("ABAW 2020 baseline", (0.14, 0.24))


def _results(root: Path, name: str) -> dict:
    return RunFolder(root / name).read_results()


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.3f}"


def _pair(values) -> str:
    return " / ".join(_number(v) for v in values) if values else "—"


def recall_spread(result: dict, prefix: str = "jaffe_") -> float | None:
    """Max minus min recall over the classes present in the set."""
    recalls = [v for k, v in result.items() if k.startswith(f"{prefix}recall_") and v is not None]
    return max(recalls) - min(recalls) if recalls else None


def _table_3_row(result: dict, kind: str) -> tuple:
    if kind == "frame":
        return result.get("frame_ccc_valence"), result.get("frame_ccc_arousal")
    if kind == "valence":
        return result.get("ccc_valence"), None
    if kind == "arousal":
        return None, result.get("ccc_arousal")
    return result.get("ccc_valence"), result.get("ccc_arousal")


def _figures(root: Path) -> list[str]:
    patterns = [
        f"ck_plus/{PLOTS}/confusion_*.png",
        f"ck_plus_balanced/{PLOTS}/confusion_*.png",
        f"ck_plus_aligned/{PLOTS}/confusion_*.png",
        f"cnn_subset*/{BALANCING_PNG}",
        f"*/{PLOTS}/training_curves.png",
        f"gru_3/{PLOTS}/timelines.png",
    ]
    found = []
    for pattern in patterns:
        found += sorted(str(p.relative_to(root)) for p in root.glob(pattern))
    return found


def write_report(root: Path, names: list[str]) -> Path:
    """Writes `root/REPORT.md` from the finished experiments among `names`."""
    lines = [
        "# Reproduction of the paper's tables",
        "",
        f"Run root: `{root}`. Ours: whole-set metrics of the final step; "
        "RNN rows score every validation frame (frames without a full window "
        "interpolated).",
        "",
        "## Table I: CK+ (test subjects) and JAFFE (cross-dataset)",
        "",
        "| experiment | CK+ accuracy (paper / ours) | JAFFE accuracy (paper / ours) | "
        "JAFFE recall spread |",
        "|---|---|---|---|",
    ]
    paper_ck, paper_jaffe = PAPER_TABLE_1["ck_plus"]
    for name, label in CK_PLUS_ROWS:
        result = _results(root, name)
        lines.append(
            f"| {label} | {paper_ck:.2f} / {_number(result.get('accuracy'))} | "
            f"{paper_jaffe:.2f} / {_number(result.get('jaffe_accuracy'))} | "
            f"{_number(recall_spread(result))} |"
        )
    lines += [
        "",
        "The recall spread (max - min per-class recall on JAFFE) shows the "
        "effect of CK+'s class imbalance on the cross-dataset predictions.",
        "",
        "## Table III: Aff-Wild2 validation CCC (valence / arousal)",
        "",
        "| experiment | paper | ours |",
        "|---|---|---|",
    ]
    for name in names:
        if name not in PAPER_TABLE_3:
            continue
        label, paper, kind = PAPER_TABLE_3[name]
        lines.append(
            f"| {label} | {_pair(paper)} | {_pair(_table_3_row(_results(root, name), kind))} |"
        )
    lines.append(f"| {BASELINE[0]} | {_pair(BASELINE[1])} | — |")
    lines += ["", "## Figures", ""]
    lines += [f"![{figure}]({figure})" for figure in _figures(root)]
    path = root / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    return path
