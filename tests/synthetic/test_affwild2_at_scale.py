"""The synthetic Aff-Wild2 at the paper's scale: its counts, its quirks, its label skew."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from affect_jax.data import building, label_reader, sources, va_balancing
from affect_jax.synthetic import affwild2_at_scale, affwild2_layout
from affect_jax.synthetic.affwild2_at_scale import ScalePlan


def test_the_plan_has_the_papers_videos_and_scales_down_with_frames():
    full = ScalePlan.for_frames(affwild2_at_scale.PAPER_TRAIN_FRAMES)
    assert (full.num_train_videos, full.num_validation_videos) == (350, 70)
    one_percent = ScalePlan.for_frames(16_300)
    assert (one_percent.num_train_videos, one_percent.num_validation_videos) == (4, 1)
    with pytest.raises(ValueError, match="at least 1,000"):
        ScalePlan.for_frames(500)


def test_labels_keep_the_papers_shares_in_the_va_bin_subsets():
    """Paper: subset 1 keeps 78% of the training frames, subset 2 6%, subset 3 64%."""
    rng = np.random.default_rng(0)
    plan = ScalePlan.for_frames(400_000)
    lengths, _ = affwild2_at_scale._video_lengths(plan, rng)
    labels = np.round(np.concatenate([affwild2_at_scale.skewed_labels(n, rng) for n in lengths]), 3)
    shares = {
        mode: va_balancing.select_indices(
            labels[:, 0], labels[:, 1], rule="reference", k_max_mode=mode, seed=0
        ).num_kept
        / len(labels)
        for mode in ("max", "mean", "max_mean")
    }
    assert 0.70 <= shares["max"] <= 0.85, shares
    assert 0.03 <= shares["mean"] <= 0.12, shares
    assert 0.58 <= shares["max_mean"] <= 0.70, shares


def test_a_small_release_from_the_command_line_builds_with_every_quirk(tmp_path):
    raw = tmp_path / "raw"
    result = subprocess.run(
        [sys.executable, "-m", "affect_jax.synthetic", f"--out={raw}", "--frames=3000"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((raw / affwild2_layout.MARKER_FILENAME).read_text())
    assert summary["complete"] and summary["arguments"]["train_frames"] == 3000
    train = summary["splits"]["train"]
    assert abs(train["usable_frames"] - 3000) <= 0.05 * 3000
    for key in ("unannotated_rows", "missing_images", "neutral_rows"):
        assert train[key] > 0, key
    videos = summary["videos"]
    assert any(v["annotation_lines"] == v["frames"] + 1 for v in videos.values())
    identities = {split: {v["identity_id"] for v in videos.values() if v["split"] == split}
                  for split in ("train", "validation")}  # fmt: skip
    assert not identities["train"] & identities["validation"]

    _kill_a_build_part_way(raw, tmp_path / "tfds")
    builder = building.build_dataset("affwild2/va", raw, tmp_path / "tfds")
    assert builder.info.splits["train"].num_examples == train["usable_frames"]
    built = label_reader.read_labels(
        sources.open_split("affwild2/va", str(tmp_path / "tfds"), "train")
    )
    assert built["valence"].min() >= -1 and built["valence"].max() <= 1
    assert f"{train['usable_frames']} usable frames" in result.stdout


def test_it_refuses_a_foreign_folder_and_other_datasets(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="refusing to write"):
        affwild2_at_scale.write_release(tmp_path, 1_000)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    result = subprocess.run(
        [sys.executable, "-m", "affect_jax.synthetic", f"--out={tmp_path / 'x'}",
         "--preset=paper_scale", "--tasks=va,expr"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "VA set only" in result.stderr


def _kill_a_build_part_way(raw, data_dir):
    """SIGTERM once records are being written: the build says so and how to rerun,
    and what it wrote never loads."""
    build = subprocess.Popen(
        [sys.executable, "-m", "affect_jax.build", "--dataset=affwild2/va",
         f"--manual_dir={raw}", f"--data_dir={data_dir}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(data_dir.glob("affwild2/va/incomplete.*/*.streaming-*")):
        assert build.poll() is None and time.monotonic() < deadline, "no records written"
        time.sleep(0.02)
    build.send_signal(signal.SIGTERM)
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 130, stderr[-2000:]
    assert "Interrupted: affwild2/va is not built" in stderr
    assert "run the same command again" in stderr
    with pytest.raises(sources.DatasetNotBuiltError):
        sources.open_split("affwild2/va", str(data_dir), "train")
