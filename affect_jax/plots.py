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
        if key.startswith(("ccc_", "accuracy")) and key != "ccc_mean":
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
