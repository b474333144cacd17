"""PNG figures of a run: training curves and predicted-vs-true scatter."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Headless: CI machines and training servers.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def training_curves(records: list[dict], path: Path) -> Path:
    """Train loss and validation loss/CCC against step."""
    fig, (loss_ax, score_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for split, style in (("train", "-"), ("validation", "o-")):
        rows = [r for r in records if r["split"] == split and "loss" in r]
        if rows:
            loss_ax.plot(
                [r["step"] for r in rows],
                [r["loss"] for r in rows],
                style,
                label=f"{split} loss",
                markersize=3,
            )
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss")
    loss_ax.legend()
    validation = [r for r in records if r["split"] == "validation"]
    for key in sorted({k for r in validation for k in r}):
        scored = key.startswith("ccc_") or key.endswith(("accuracy", "f1_macro", "f1_mean"))
        if scored and key != "ccc_mean":
            rows = [r for r in validation if key in r]
            score_ax.plot(
                [r["step"] for r in rows],
                [r[key] for r in rows],
                "o-",
                label=key,
                markersize=3,
            )
    score_ax.set_xlabel("step")
    score_ax.set_ylabel("validation score (whole set)")
    score_ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def prediction_scatter(
    predictions: np.ndarray, targets: np.ndarray, names: tuple[str, ...], path: Path
) -> Path:
    """Predicted against true value per dimension, with the identity line."""
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4.2), squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[0], names, strict=False)):
        ax.scatter(targets[:, i], predictions[:, i], s=2, alpha=0.3)
        ax.plot([-1, 1], [-1, 1], "k--", linewidth=1)
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def confusion_matrices(
    labels: np.ndarray,
    predicted: np.ndarray,
    num_classes: int,
    path: Path,
    title: str = "",
    class_names: tuple[str, ...] = (),
) -> Path:
    """Counts and row-normalized confusion matrices side by side (paper Figs. 6-7)."""
    from affect_jax.tasks.metrics import confusion_matrix

    counts = confusion_matrix(labels, predicted, num_classes)
    rows = counts.sum(1, keepdims=True)
    normalized = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    names = class_names or tuple(str(i) for i in range(num_classes))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    for ax, matrix, fmt, label in (
        (axes[0], counts, "d", "counts"),
        (axes[1], normalized, ".2f", "row-normalized"),
    ):
        ax.imshow(matrix, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(num_classes), names, rotation=45, ha="right")
        ax.set_yticks(range(num_classes), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{title} ({label})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def label_scores(scores: dict[str, float], path: Path, title: str = "") -> Path:
    """One bar per label (e.g. the F1 of each action unit), value written on top."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(scores) + 1.5), 3.6))
    bars = ax.bar(range(len(scores)), list(scores.values()))
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(scores)), list(scores), rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
