"""Values over time: predictions (and labels, where known) of a few videos.

The one timeline plotter: for the validation figures of the RNN stage (one
row per video, one column per value, label against prediction), for a
predicted video and the notebook (values overlaid in one panel, true values
dashed where known, frames without a face shaded).
"""

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Headless: servers and CI.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple")


@dataclasses.dataclass(frozen=True)
class Strip:
    """A heat strip under a timeline: `values` [n, k] in [0, 1], one row per name."""

    title: str
    values: np.ndarray
    row_names: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Timeline:
    """One video's values.

    Attributes:
      x: [n] frame numbers or seconds.
      predicted: [n, D], one column per name.
      label: [n, D] true values, or None.
      gaps: bool [n], frames to shade (no face), or None.
      step: the width of one frame in x units (for the shading).
      strips: heat strips drawn under it (overlay plots: expression and AU
        probabilities of a prediction).
    """

    title: str
    x: np.ndarray
    predicted: np.ndarray
    label: np.ndarray | None = None
    gaps: np.ndarray | None = None
    step: float = 1.0
    strips: tuple[Strip, ...] = ()


def _shade_gaps(ax, timeline: Timeline) -> None:
    """One bar per run of shaded frames, each frame spanning `step`."""
    edges = np.diff(np.concatenate([[0], timeline.gaps.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    x0 = timeline.x[0] if len(timeline.x) else 0.0
    spans = [
        (x0 + (a - 0.5) * timeline.step, (b - a) * timeline.step)
        for a, b in zip(starts, stops, strict=True)
    ]
    ax.broken_barh(spans, (-1.05, 2.1), color="0.85", label="no face")


def plot_timelines(
    timelines: Sequence[Timeline],
    names: Sequence[str],
    path: Path,
    *,
    xlabel: str = "frame",
    overlay: bool = False,
) -> Path:
    """Draws `timelines` into the PNG at `path`.

    Args:
      names: the value of each column (e.g. valence, arousal).
      overlay: all values in one panel per video (a prediction); otherwise
        one panel per value, label in black beside the prediction.
    """
    if overlay and any(t.strips for t in timelines):
        return _plot_with_strips(timelines, names, path, xlabel)
    columns = 1 if overlay else len(names)
    width = 11 if overlay else 6 * len(names)
    fig, axes = plt.subplots(
        len(timelines),
        columns,
        figsize=(width, 3.6 if overlay else 2.4 * len(timelines)),
        squeeze=False,
    )
    for row, timeline in enumerate(timelines):
        for column in range(columns):
            ax = axes[row, column]
            if timeline.gaps is not None:
                _shade_gaps(ax, timeline)
            shown = range(len(names)) if overlay else [column]
            for d in shown:
                color = _COLORS[d % len(_COLORS)] if overlay else None
                if timeline.label is not None:
                    true_style = dict(color=color, linestyle="--", label=f"true {names[d]}")
                    if not overlay:
                        true_style = dict(color="k", linestyle="-", label="label")
                    ax.plot(timeline.x, timeline.label[:, d], linewidth=1, **true_style)
                ax.plot(
                    timeline.x,
                    timeline.predicted[:, d],
                    color=color,
                    linewidth=1.2 if overlay else 1,
                    label=names[d] if overlay else "prediction",
                )
            ax.set_ylim(-1.05, 1.05)
            if overlay:
                ax.axhline(0.0, color="k", linewidth=0.5)
                ax.set_xlim(0, max(timeline.x[-1], 1e-3) if len(timeline.x) else 1)
                ax.set_ylabel("predicted value")
                ax.set_title(timeline.title)
                ax.legend(loc="upper right", ncol=3, fontsize=8)
            else:
                ax.set_title(f"{timeline.title}: {names[column]}", fontsize=9)
            if row == len(timelines) - 1:
                ax.set_xlabel(xlabel)
    if not overlay:
        axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _plot_with_strips(
    timelines: Sequence[Timeline], names: Sequence[str], path: Path, xlabel: str
) -> Path:
    """Overlay panels, each with its heat strips below it on the same time axis."""
    heights = []
    for timeline in timelines:
        heights += [3.0] + [0.25 * len(strip.row_names) + 0.6 for strip in timeline.strips]
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(11, 0.9 * sum(heights) + 0.6),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    row = 0
    for timeline in timelines:
        ax = axes[row, 0]
        row += 1
        if timeline.gaps is not None:
            _shade_gaps(ax, timeline)
        for d, name in enumerate(names):
            color = _COLORS[d % len(_COLORS)]
            ax.plot(timeline.x, timeline.predicted[:, d], color=color, linewidth=1.2, label=name)
        end = max(timeline.x[-1], 1e-3) if len(timeline.x) else 1
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlim(0, end)
        ax.axhline(0.0, color="k", linewidth=0.5)
        ax.set_title(timeline.title)
        ax.legend(loc="upper right", ncol=3, fontsize=8)
        for strip in timeline.strips:
            strip_ax = axes[row, 0]
            row += 1
            strip_ax.imshow(
                np.nan_to_num(strip.values.T),
                aspect="auto",
                cmap="magma",
                vmin=0.0,
                vmax=1.0,
                extent=(0, end, len(strip.row_names) - 0.5, -0.5),
                interpolation="nearest",
            )
            strip_ax.set_yticks(range(len(strip.row_names)), strip.row_names, fontsize=6)
            strip_ax.set_ylabel(strip.title, fontsize=8)
    axes[-1, 0].set_xlabel(xlabel)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
