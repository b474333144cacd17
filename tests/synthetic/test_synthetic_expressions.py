"""Synthetic CK+ and JAFFE: layouts, determinism, Haar detection, learnability."""

import collections
import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_jax.faces import detect, framing
from affect_jax.synthetic import ck_plus_layout, expressions, jaffe_layout, portrait_renderer

_FRAME = re.compile(r"^(S\d{3})_(\d{3})_(\d{8})\.png$")
_EMOTION = re.compile(r"^(S\d{3})_(\d{3})_(\d{8})_emotion\.txt$")


@pytest.fixture(scope="module")
def tiny_ck(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synthetic") / "ck_plus"
    return root, ck_plus_layout.write_ck_plus_layout(root, seed=3, **ck_plus_layout.PRESETS["tiny"])


def test_expressions_ramp_from_neutral_to_a_distinct_peak():
    peaks = [expressions.expression(code) for code in range(8)]
    assert peaks[0] == expressions.NEUTRAL and len(set(peaks)) == 8
    assert expressions.expression("happy", 0.0) == expressions.NEUTRAL
    assert expressions.expression(5, 0.5).mouth_curve == pytest.approx(0.5)
    with pytest.raises(ValueError, match="Unknown expression"):
        expressions.expression("boredom")
    rng = np.random.default_rng(0)
    for n in (2, 4, 5, 11, 40):
        ramp = expressions.onset_ramp(n, rng)
        assert ramp[0] == 0.0 and ramp[-1] == 1.0 and np.all(np.diff(ramp) >= 0)
        assert np.all(ramp[-3:][-(n - 1) :] >= 0.9)  # The labelled frames are near the peak.


def test_ck_plus_layout_is_the_raw_layout(tiny_ck):
    root, summary = tiny_ck
    sequences = {(s["subject"], s["sequence"]): s for s in summary["sequences"]}
    seen = collections.Counter()
    for folder in sorted((root / "cohn-kanade-images").glob("*/*")):
        subject, sequence = folder.parent.name, folder.name
        plan = sequences.pop((subject, sequence))
        names = sorted(p.name for p in folder.iterdir())
        matches = [_FRAME.match(n) for n in names]
        assert all(m and m.group(1, 2) == (subject, sequence) for m in matches), names
        assert [int(m.group(3)) for m in matches] == list(range(1, plan["frames"] + 1))
        image = cv2.imread(str(folder / names[0]), cv2.IMREAD_UNCHANGED)
        assert image.dtype == np.uint8
        assert image.shape == ((240, 320, 3) if plan["colour"] else (245, 320))
        seen["colour" if plan["colour"] else "gray"] += 1
        emotion_dir = root / "Emotion" / subject / sequence
        files = sorted(emotion_dir.glob("*")) if emotion_dir.exists() else []
        if plan["label"] is None:
            assert files == []
            seen["empty folder" if emotion_dir.exists() else "no folder"] += 1
            continue
        [emotion] = files
        match = _EMOTION.match(emotion.name)
        assert match and int(match.group(3)) == plan["frames"]  # Named after the last frame.
        assert emotion.read_text() == f"   {plan['label']}.0000000e+00\n"
        assert (root / "FACS" / subject / sequence / f"{match.group(0)[:-12]}_facs.txt").exists()
        seen["labelled"] += 1
    assert not sequences  # Every planned sequence has a folder.
    assert seen["gray"] > seen["colour"] >= 1
    assert seen["empty folder"] >= 1 and seen["no folder"] >= 1
    assert seen["labelled"] == summary["labelled_sequences"]
    assert len({s["subject"] for s in summary["sequences"] if s["label"]}) == 10


def test_ck_plus_class_balance_follows_ck_plus(tmp_path):
    sizes = dict(num_subjects=80, sequences_per_subject=(3, 7), frames_per_sequence=4)
    summary = ck_plus_layout.write_ck_plus_layout(
        tmp_path / "ck", image_size=(49, 64), seed=1, **sizes
    )
    counts = {int(k): v for k, v in summary["labelled_per_label"].items()}
    assert 0.45 < summary["labelled_sequences"] / len(summary["sequences"]) < 0.7
    assert counts[2] + counts[4] < counts[5] + counts[7]  # Few contempt and fear.
    assert all(counts[code] > 0 for code in range(1, 8)) and 0 not in counts
    unlabelled = {s["subject"] for s in summary["sequences"]} - {
        s["subject"] for s in summary["sequences"] if s["label"] is not None
    }
    assert unlabelled  # Some people have no labelled sequence, as in CK+.


def _digest(root: Path, marker: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != marker:
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_files_and_foreign_folders_refused(tmp_path):
    kwargs = dict(num_subjects=2, sequences_per_subject=1, frames_per_sequence=4)
    kwargs["image_size"] = (98, 128)
    digests = []
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        ck_plus_layout.write_ck_plus_layout(tmp_path / name, seed=seed, **kwargs)
        digests.append(_digest(tmp_path / name, ck_plus_layout.MARKER_FILENAME))
    assert digests[0] == digests[1] != digests[2]
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="refusing"):
        ck_plus_layout.write_ck_plus_layout(tmp_path / "foreign", **kwargs)
    with pytest.raises(FileExistsError, match="refusing"):
        jaffe_layout.write_jaffe_layout(tmp_path / "foreign")
    assert (tmp_path / "foreign" / "thesis.tex").read_text() == "precious"


def test_jaffe_layout_has_jaffe_counts_names_and_ratings(tmp_path):
    root = tmp_path / "jaffe"
    summary = jaffe_layout.write_jaffe_layout(root, seed=0)
    tiffs = sorted(root.glob("*.tiff"))
    assert len(tiffs) == 213
    codes = collections.Counter()
    channels = collections.Counter()
    for path in tiffs:
        subject, code_pose, number, suffix = path.name.split(".")
        assert subject in jaffe_layout.SUBJECTS and number.isdigit() and suffix == "tiff"
        assert code_pose[:2] in jaffe_layout.CODES and code_pose[2:].isdigit()
        codes[code_pose[:2]] += 1
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert image.shape[:2] == (256, 256)
        channels[1 if image.ndim == 2 else image.shape[2]] += 1
    assert codes == jaffe_layout.JAFFE_COUNTS
    assert 1 <= channels[3] <= 6 and channels[1] == 213 - channels[3]
    lines = (root / jaffe_layout.RATINGS_FILENAME).read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    assert lines[header].split()[1:] == ["HAP", "SAD", "SUR", "ANG", "DIS", "FEA", "PIC"]
    rated = 0
    for line in lines[header + 1 :]:
        fields = line.split()
        values = np.array([float(v) for v in fields[1:7]])
        assert np.all((values >= 1) & (values <= 5))
        code = fields[7].split("-")[1][:2]
        if code != "NE":  # The posed emotion gets the highest rating.
            column = list(jaffe_layout.RATING_COLUMNS.values()).index(code)
            assert values.argmax() == column, line
        rated += 1
    assert rated == sum(i["rated"] for i in summary["images"]) < 213


def _crops(identities: range, per_class: int, rng: np.random.Generator):
    """Haar crops of peak expressions, downsampled, as a builder would see them."""
    cropper = framing.StillFaceCropper("haar_box")
    pixels, labels, found = [], [], 0
    for person in identities:
        identity = portrait_renderer.random_identity(np.random.default_rng(person))
        for label in range(8):
            for _ in range(per_class):
                image = portrait_renderer.render_portrait(
                    identity,
                    expressions.expression(label, rng.uniform(0.85, 1.0)),
                    canvas_size=(122, 160),
                    centre=(80 + rng.normal(0, 4), 56 + rng.normal(0, 3)),
                    radius=rng.uniform(22, 27),
                    rng=rng,
                )
                crop = cropper.crop(image, no_face_policy=detect.CENTER_CROP)
                found += crop.found
                small = cv2.resize(crop.image, (24, 24), interpolation=cv2.INTER_AREA)
                pixels.append(small.ravel() / 255.0)
                labels.append(label)
    return np.array(pixels), np.array(labels), found / len(labels)


def test_haar_finds_the_faces_and_the_class_is_learnable_across_people():
    rng = np.random.default_rng(0)
    x_train, y_train, train_rate = _crops(range(0, 30), 1, rng)
    x_test, y_test, test_rate = _crops(range(1000, 1012), 1, rng)
    # Small faces (about 50 px) are the cascade's hard case; at the layouts'
    # sizes it finds nearly all (the builder tests check those).
    assert min(train_rate, test_rate) >= 0.9, (train_rate, test_rate)
    # One-vs-rest ridge regression on 24x24 crops, tested on other people. A
    # renderer that ignored the class would score about chance (1/8).
    mean, scale = x_train.mean(0), x_train.std(0) + 1e-3
    x_train, x_test = (x_train - mean) / scale, (x_test - mean) / scale
    targets = np.eye(8)[y_train]
    gram = x_train.T @ x_train + 30.0 * np.eye(x_train.shape[1])
    weights = np.linalg.solve(gram, x_train.T @ (targets - targets.mean(0)))
    accuracy = np.mean((x_test @ weights).argmax(1) == y_test)
    assert accuracy > 0.6, accuracy
