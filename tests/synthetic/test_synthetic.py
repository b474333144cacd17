"""The synthetic Aff-Wild2 generator: exact layout, determinism, learnability."""

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_jax.synthetic import affwild2_layout, face_renderer

_FOLDERS = {"train": "Training_Set", "validation": "Validation_Set"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synthetic") / "affwild2"
    summary = affwild2_layout.write_affwild2_layout(root, seed=3, **affwild2_layout.PRESETS["tiny"])
    return root, summary


def _annotation_files(root: Path, split: str) -> list[Path]:
    return sorted((root / "annotations" / "VA_Set" / _FOLDERS[split]).glob("*.txt"))


def test_layout_is_the_raw_affwild2_layout(tiny):
    root, summary = tiny
    saw_unannotated = saw_missing = saw_one_longer = 0
    for split in _FOLDERS:
        files = _annotation_files(root, split)
        assert len(files) == summary["splits"][split]["videos"] > 0
        for path in files:
            lines = path.read_text().splitlines()
            assert lines[0] == "valence,arousal"
            frame_dir = root / "cropped_aligned" / path.stem
            images = sorted(p.name for p in frame_dir.iterdir())
            # 5-digit, 1-based frame numbers and nothing else in the folder.
            assert all(len(n) == 9 and n.endswith(".jpg") for n in images)
            numbers = [int(n[:5]) for n in images]
            assert min(numbers) >= 1
            frames = summary["videos"][path.stem]["frames"]
            assert max(numbers) <= frames
            saw_missing += len(numbers) < frames
            saw_one_longer += len(lines) - 1 == frames + 1
            assert len(lines) - 1 in (frames, frames + 1)
            for line in lines[1:]:
                v, a = line.split(",")
                if (v, a) == ("-5", "-5"):
                    saw_unannotated += 1
                    continue
                assert -1.0 <= float(v) <= 1.0 and -1.0 <= float(a) <= 1.0
                assert len(v.split(".")[1]) == 3, line  # Formatted like 0.345.
            image = cv2.imread(str(frame_dir / images[0]), cv2.IMREAD_UNCHANGED)
            assert image.shape == (112, 112, 3) and image.dtype == np.uint8
    assert saw_unannotated and saw_missing and saw_one_longer


def test_names_follow_the_real_patterns(tiny):
    _, summary = tiny
    names = list(summary["videos"])
    assert any(n.endswith("_left") for n in names) and any(n.endswith("_right") for n in names)
    assert any(n.startswith("video") and n[5:].isdigit() for n in names)
    assert any(len(n.split("-")) == 3 and "x" in n.split("-")[2] for n in names)


def test_validation_people_never_appear_in_training(tiny):
    _, summary = tiny
    by_split = {
        split: [v for v in summary["videos"].values() if v["split"] == split] for split in _FOLDERS
    }
    train_ids = {v["identity_id"] for v in by_split["train"]}
    assert train_ids.isdisjoint(v["identity_id"] for v in by_split["validation"])
    looks = {
        split: {tuple(sorted(v["identity"].items())) for v in videos}
        for split, videos in by_split.items()
    }
    assert looks["train"].isdisjoint(looks["validation"])


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != affwild2_layout.MARKER_FILENAME:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    kwargs = dict(num_train_videos=2, num_validation_videos=1, frames_per_video=(8, 12))
    digests = []
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        affwild2_layout.write_affwild2_layout(tmp_path / name, seed=seed, **kwargs)
        digests.append(_digest(tmp_path / name))
    assert digests[0] == digests[1] != digests[2]


def test_refuses_foreign_folder_but_replaces_own_output(tmp_path):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="refusing"):
        affwild2_layout.write_affwild2_layout(
            tmp_path / "foreign", num_train_videos=1, num_validation_videos=1, frames_per_video=3
        )
    own = tmp_path / "own"
    affwild2_layout.write_affwild2_layout(
        own, num_train_videos=3, num_validation_videos=1, frames_per_video=3
    )
    affwild2_layout.write_affwild2_layout(
        own, num_train_videos=1, num_validation_videos=1, frames_per_video=3
    )
    assert len(list((own / "cropped_aligned").iterdir())) == 2  # Stale videos removed.
    assert affwild2_layout.summary_is_complete(own)


def _faces(first_person: int, people: int, per_person: int) -> tuple[np.ndarray, np.ndarray]:
    """Small grayscale renders of random expressions, as the builder would see them."""
    rng = np.random.default_rng(first_person)
    pixels, labels = [], []
    for person in range(first_person, first_person + people):
        identity = face_renderer.random_identity(np.random.default_rng(person))
        for _ in range(per_person):
            va = rng.uniform(-1.0, 1.0, size=2)
            image = face_renderer.render_face(identity, va[0], va[1], *rng.uniform(-3, 3, 2), rng)
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            small = cv2.resize(
                cv2.resize(gray, (96, 96), interpolation=cv2.INTER_AREA),
                (20, 20),
                interpolation=cv2.INTER_AREA,
            )
            pixels.append(small.ravel() / 255.0)
            labels.append(va)
    return np.array(pixels), np.array(labels)


def test_expression_is_learnable_across_people():
    # Ridge regression on 20x20 pixels, trained on some people and tested on
    # others. A renderer whose features ignore valence or arousal scores ~0.
    x_train, y_train = _faces(first_person=0, people=30, per_person=30)
    x_test, y_test = _faces(first_person=1000, people=10, per_person=30)
    mean = x_train.mean(axis=0)
    x_train, x_test = x_train - mean, x_test - mean
    weights = np.linalg.solve(
        x_train.T @ x_train + 1.0 * np.eye(x_train.shape[1]),
        x_train.T @ (y_train - y_train.mean(axis=0)),
    )
    predictions = x_test @ weights + y_train.mean(axis=0)
    for k, name in enumerate(["valence", "arousal"]):
        correlation = np.corrcoef(predictions[:, k], y_test[:, k])[0, 1]
        assert correlation > 0.6, f"{name}: correlation {correlation:.2f}"
