"""PNG of the valence-arousal histograms before and after balancing (the paper's Fig. 3)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Headless: CI machines and training servers.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from affect_jax.data.va_balancing import BalancingResult  # noqa: E402


def plot_histograms(result: BalancingResult, path: Path) -> Path:
    """Both 2-D histograms side by side, valence across and arousal up, log colours.

    The two panels share one colour scale, so a bin's shade means the same count
    in both; empty bins stay white.
    """
    before, after = result.hist_before, result.hist_after
    norm = LogNorm(vmin=1, vmax=max(int(before.max()), 1))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True, layout="constrained")
    panels = (
        (before, f"all frames without (0, 0): {before.sum():,}"),
        (after, f"{result.rule} / k_max {result.k_max_mode} ({result.k_max:.0f}): {after.sum():,}"),
    )
    for ax, (counts, title) in zip(axes, panels, strict=True):
        # Histograms are indexed [valence, arousal]; pcolormesh wants [y, x].
        image = ax.pcolormesh(
            result.valence_edges,
            result.arousal_edges,
            np.ma.masked_equal(counts, 0).T,
            norm=norm,
            cmap="viridis",
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("valence")
        ax.set_aspect("equal")
    axes[0].set_ylabel("arousal")
    fig.colorbar(image, ax=axes, label="frames per bin", shrink=0.85)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
