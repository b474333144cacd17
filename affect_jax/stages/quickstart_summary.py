"""The last lines `launch/quickstart.sh` prints: what its numbers are, where to look next.

python -c "from affect_jax.stages.quickstart_summary import main; main()" RUN_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from affect_jax.training.run import RunFolder


def _first_validation_video(raw: Path) -> Path | None:
    annotations = sorted((raw / "annotations" / "VA_Set" / "Validation_Set").glob("*.txt"))
    return raw / "cropped_aligned" / annotations[0].stem if annotations else None


def quickstart_lines(run_dir: str | Path) -> list[str]:
    """The quickstart's closing lines for the runs under `run_dir` (cnn/, gru/, raw_affwild2/)."""
    run = Path(run_dir)
    cnn, gru, features = RunFolder(run / "cnn"), RunFolder(run / "gru"), RunFolder(run / "features")
    cnn_results, gru_results = cnn.read_results(), gru.read_results()
    video = _first_validation_video(run / "raw_affwild2")
    lines = [
        "",
        "Whole-set validation CCC (valence / arousal) on held-out SYNTHETIC people:",
        f"  CNN alone, every frame : {cnn_results['ccc_valence']:.3f} / "
        f"{cnn_results['ccc_arousal']:.3f}",
        f"  CNN + GRU, every frame : {gru_results['frame_ccc_valence']:.3f} / "
        f"{gru_results['frame_ccc_arousal']:.3f}",
        "These show that the system learns. The models have seen cartoon faces only, so "
        "their numbers mean nothing for real people.",
        "",
        "Where to look next:",
        f"  TensorBoard      : tensorboard --logdir {run}",
        f"  Plots            : {cnn.plots}, {gru.plots} (training curves, validation figures)",
    ]
    if video is not None:
        lines.append(
            f"  A synthetic validation video, predicted: python -m affect_jax.predict "
            f"--checkpoint={gru.root} --input={video} --cropped_faces "
            f"--output={run / 'demo_video'}"
        )
    lines += [
        "  Real faces       : import the paper's trained models (README, \"Use the paper's "
        'trained models"), or build your own data and train on it (README, "The stages")',
        "",
        f"Results: {cnn.results}, {gru.results} (every evaluation: {cnn.metrics}, "
        f"{gru.metrics}); checkpoints: {cnn.checkpoints}, {gru.checkpoints}; features: "
        f"{features.features}; per-video predictions (challenge format): {gru.predictions}",
    ]
    return lines


def main() -> None:
    print("\n".join(quickstart_lines(sys.argv[1])))
