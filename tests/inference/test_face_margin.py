"""`--face_margin` widens the view around every face by the same rule in videos and photos,
aligned or boxed: with margin m the crop is the m=0 crop seen from 1 + 2m times as far."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_jax.faces import video_io
from affect_jax.inference.predict_photos import PhotoFaceFinder
from affect_jax.inference.video_faces import FaceOptions, crops_by_frame, find_faces
from affect_jax.synthetic import portrait_video
from affect_jax.synthetic.scene_video import Person, scene_frames

MARGIN = 0.25  # The crop's centre 64 px then hold what the crop without margin holds in 96.


def _centre_enlarged(crop: np.ndarray) -> np.ndarray:
    """The centre of a crop taken with MARGIN, enlarged to the whole crop."""
    side = round(96 / (1 + 2 * MARGIN))
    start = (96 - side) // 2
    centre = crop[start : start + side, start : start + side].astype(np.float32)
    return cv2.resize(centre, (96, 96), interpolation=cv2.INTER_LINEAR)


def _assert_widened(wide: np.ndarray, plain: np.ndarray) -> None:
    plain = plain.astype(np.float32)
    same_view = np.abs(_centre_enlarged(wide) - plain).mean()
    as_cut = np.abs(wide.astype(np.float32) - plain).mean()
    # Resampling twice leaves a few grey levels; another view leaves many more.
    assert same_view < 6.0 and as_cut > 3 * same_view, (same_view, as_cut)


def _video_crops(path: Path, **options) -> list[np.ndarray]:
    source = video_io.FrameSource("scene", path)
    face_options = FaceOptions(**options)
    _, _, tracks = find_faces(source, face_options)
    assert len(tracks) == 1
    return [crop for _, crop in crops_by_frame(source, tracks, face_options)]


@pytest.mark.parametrize("crop", ["aligned", "box"])
def test_a_video_face_is_widened_by_the_margin(tmp_path, crop):
    frames, _ = scene_frames(6, [Person(6, range(0, 6), (320, 180), (330, 180), radius=70)], seed=4)
    path = portrait_video.write_video(frames, tmp_path / "scene.avi", 25.0, "MJPG")
    plain = _video_crops(path, crop=crop)
    wide = _video_crops(path, crop=crop, face_margin=MARGIN)
    assert len(plain) == len(wide) == 6
    for wide_crop, plain_crop in zip(wide, plain, strict=True):
        _assert_widened(wide_crop, plain_crop)


@pytest.mark.parametrize("crop", ["aligned", "box"])
@pytest.mark.parametrize("size", ["photo", "face_crop"])
def test_a_photo_face_is_widened_by_the_margin(crop, size):
    frames, _ = scene_frames(1, [Person(6, range(0, 1), (320, 180), (320, 180), radius=70)], seed=4)
    photo = frames[0]
    if size == "face_crop":  # 100x100 around the face: the builders' cropper's path.
        photo = np.ascontiguousarray(photo[110:250, 250:390])
        photo = cv2.resize(photo, (100, 100), interpolation=cv2.INTER_AREA)
    (plain,) = PhotoFaceFinder(FaceOptions(crop=crop)).faces(photo)[1]
    (wide,) = PhotoFaceFinder(FaceOptions(crop=crop, face_margin=MARGIN)).faces(photo)[1]
    _assert_widened(wide, plain)
