"""The committed legacy CNN run, loaded as if its config asked for a photometric normalisation."""

from pathlib import Path

from affect_jax.inference import video_model
from affect_jax.training import run

# Saved before config.input.photometric existed: as it is, it loads as "none".
LEGACY_CNN = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run_2026_12_01" / "cnn"


def load_legacy_cnn_with(monkeypatch, method: str) -> None:
    """Makes every load of a run's checkpoint in video_model see `method` in its config."""
    saved_config = run.find_checkpoint

    def with_method(path, which):
        workdir, step, config = saved_config(path, which)
        config.input.photometric = method
        return workdir, step, config

    monkeypatch.setattr(video_model, "find_checkpoint", with_method)
