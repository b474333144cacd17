"""Photos as inputs (affect_jax.predict): every format and depth, groups with small faces.

The photos are rendered scenes (synthetic/scene_video.py) whose face centres
are known; a face counts as found when a box holds its centre, and every box
must hold one (no invented faces).
"""

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from absl.testing import flagsaver

from affect_jax import predict
from affect_jax.faces import video_io
from affect_jax.synthetic.scene_video import Person, scene_frames


def _scene(size: tuple[int, int], people: list[Person]) -> tuple[np.ndarray, np.ndarray]:
    """A gray photo of `people` and their face centres [people, 2]."""
    frames, truth = scene_frames(1, people, size=size, seed=len(people))
    return frames[0], truth.centres[:, 0]


def _predict(checkpoint: str, inputs: list[Path], out: Path, *flags: str, capsys=None):
    values = {"checkpoint": checkpoint, "input": [str(p) for p in inputs], "output": str(out)}
    values.update(dict(flag.split("=") for flag in flags))
    with flagsaver.flagsaver(**values), pytest.raises(SystemExit) as exit_info:
        predict.main(["predict"])
    return exit_info.value.code, capsys.readouterr() if capsys else None


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _boxes_hold(rows: list[dict], centres: np.ndarray) -> None:
    """Each centre in exactly one face row's box, and each box around one centre."""
    boxes = [[int(r[k]) for k in ("box_x", "box_y", "box_w", "box_h")] for r in rows]
    inside = np.array(
        [[x <= cx <= x + w and y <= cy <= y + h for cx, cy in centres] for x, y, w, h in boxes]
    ).reshape(len(boxes), len(centres))
    assert np.array_equal(inside.sum(axis=0), np.ones(len(centres))), (boxes, centres)
    assert np.array_equal(inside.sum(axis=1), np.ones(len(boxes))), (boxes, centres)


def test_every_listed_format_and_depth_is_a_photo_of_its_own(tiny_cnn_run, tmp_path, capsys):
    gray, centres = _scene((240, 320), [Person(3, range(1), (160, 120), (160, 120), 50.0)])
    color = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    color[..., 2] = np.clip(color[..., 2].astype(int) + 25, 0, 255)  # Some colour.
    rgba = np.dstack([color, np.full(gray.shape, 255, np.uint8)])
    rgba[:40, :40, 3] = 0  # A transparent corner.
    photos = tmp_path / "holiday"
    photos.mkdir()
    written = {
        "color.jpg": color,
        "gray.jpeg": gray,
        "rgba.png": rgba,
        "deep.png": color.astype(np.uint16) * 257,  # 16-bit.
        "picture.bmp": color,
        "deep_gray.tif": gray.astype(np.uint16) * 257,
        "scan.tiff": color,
        "phone.webp": color,
    }
    for name, image in written.items():
        assert cv2.imwrite(str(photos / name), image), name
    assert set(video_io.IMAGE_SUFFIXES) == {Path(n).suffix for n in written}
    (photos / "notes.jpg").write_text("not an image")
    whole = cv2.imencode(".jpg", color)[1].tobytes()
    (photos / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    alone = tmp_path / "portrait.png"
    cv2.imwrite(str(alone), color)

    code, printed = _predict(
        tiny_cnn_run[0], [photos, alone], tmp_path / "out", "annotate=True", capsys=capsys
    )
    assert code == 1  # Two files failed; the others were written.
    assert "2 written, 2 failed." in printed.err
    assert f"FAILED: {photos / 'notes.jpg'}: not an image" in printed.err
    assert f"FAILED: {photos / 'cut.jpg'}: the JPEG is truncated" in printed.err
    assert f"{photos}: 10 images, read as separate photos." in printed.err
    rows = _rows(tmp_path / "out" / "holiday.csv")
    assert sorted(r["photo"] for r in rows) == sorted(written)  # One face each.
    for row in rows:
        assert row["face_id"] == "0" and row["face_found"] == "1"
        _boxes_hold([row], centres)
        assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
    # The same pixels give the same values, whatever the file's depth or format
    # (lossy ones within their losses).
    by_photo = {r["photo"]: float(r["valence"]) for r in rows}
    assert by_photo["deep.png"] == pytest.approx(by_photo["picture.bmp"], abs=0.02)
    assert by_photo["rgba.png"] == pytest.approx(by_photo["picture.bmp"], abs=0.05)
    (single,) = _rows(tmp_path / "out" / "portrait.csv")
    assert single["photo"] == "portrait.png" and float(single["valence"]) == pytest.approx(
        by_photo["picture.bmp"], abs=1e-6
    )
    annotated = cv2.imread(str(tmp_path / "out" / "portrait_annotated.jpg"))
    assert annotated.shape == color.shape and np.abs(annotated.astype(int) - color).max() > 100
    assert sorted(p.name for p in (tmp_path / "out" / "holiday_annotated").iterdir()) == sorted(
        str(Path(n).with_suffix(".jpg")) for n in written
    )


def test_a_group_photo_gives_every_face_from_40_px_and_no_other(tiny_cnn_run, tmp_path):
    # Faces 40 to 150 px wide (twice the radius) in a 1000x667 photo.
    people = [
        Person(20 + k, range(1), (x, y), (x, y), radius)
        for k, (x, y, radius) in enumerate(
            [(90, 200, 20.0), (260, 420, 28.0), (450, 250, 40.0), (680, 400, 55.0), (870, 260, 75)]
        )
    ]
    group, centres = _scene((667, 1000), people)
    cv2.imwrite(str(tmp_path / "group.jpg"), group)
    lettering = np.full((400, 600), 200, np.uint8)  # An empty room with a sign.
    cv2.putText(lettering, "EXIT 8 OPEN", (30, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 20, 6)
    cv2.imwrite(str(tmp_path / "sign.png"), lettering)
    code, _ = _predict(
        tiny_cnn_run[0], [tmp_path / "group.jpg", tmp_path / "sign.png"], tmp_path / "out"
    )
    assert code == 0
    rows = _rows(tmp_path / "out" / "group.csv")
    assert [r["face_id"] for r in rows] == ["0", "1", "2", "3", "4"]  # Left to right.
    _boxes_hold(rows, centres)
    assert [int(r["box_x"]) for r in rows] == sorted(int(r["box_x"]) for r in rows)
    (sign,) = _rows(tmp_path / "out" / "sign.csv")
    assert sign["face_found"] == "0" and sign["valence"] == ""


def test_a_folder_is_a_video_only_when_named_as_numbered_frames(tmp_path):
    def numbered(*names: str) -> bool:
        return video_io.are_numbered_frames([Path(n) for n in names])

    assert numbered("00001.jpg", "00002.jpg", "00005.jpg")  # Aff-Wild2's cropped_aligned.
    assert numbered("frame_0001.png", "frame_0002.png")
    assert numbered("clip3_frame10.png", "clip3_frame9.png")  # The last number counts.
    assert not numbered("beach.jpg", "party.jpg")
    assert not numbered("frame_0001.png", "frame_0002.jpg")  # Two formats: photos.
    assert not numbered("a_01.jpg", "b_02.jpg")
    assert not numbered("001.jpg", "1.jpg")  # The same number twice.
    assert not numbered("0001.jpg")
    for i in (10, 9, 100, 1):  # Not zero-padded: frames in number order, not name order.
        (tmp_path / f"frame_{i}.png").touch()
    (source,) = video_io.sources_of(tmp_path)
    assert not source.photos
    assert [p.name for p in source.images] == [f"frame_{i}.png" for i in (1, 9, 10, 100)]


def test_a_numbered_folder_is_read_as_photos_when_asked(tiny_cnn_run, tmp_path):
    gray, centres = _scene((240, 320), [Person(3, range(1), (160, 120), (160, 120), 50.0)])
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:05d}.png"), gray)
    code, _ = _predict(tiny_cnn_run[0], [folder], tmp_path / "out", "image_folders=photos")
    assert code == 0
    rows = _rows(tmp_path / "out" / "shots.csv")
    assert [r["photo"] for r in rows] == ["00000.png", "00001.png", "00002.png"]
    code, _ = _predict(tiny_cnn_run[0], [folder], tmp_path / "video")
    assert code == 0
    assert [r["frame"] for r in _rows(tmp_path / "video" / "shots.csv")] == ["0", "1", "2"]
    assert (tmp_path / "video" / "shots_timeline.png").exists()
    assert not (tmp_path / "out" / "shots_timeline.png").exists()  # Photos have no timeline.
