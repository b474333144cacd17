"""Haar face detection (affect_jax.faces.detect) and the paper's Haar-box crops
(faces/framing.py, `haar_box`) on synthetic portraits."""

import cv2
import numpy as np
import pytest

from affect_jax.faces import detect, framing
from affect_jax.synthetic import expressions, portrait_renderer


@pytest.fixture(scope="module")
def detector() -> detect.FaceDetector:
    return detect.FaceDetector()


@pytest.fixture(scope="module")
def haar_box() -> framing.StillFaceCropper:
    return framing.StillFaceCropper("haar_box")


def _portrait(seed: int, centre=(160.0, 115.0), radius=45.0, size=(245, 320)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    identity = portrait_renderer.random_identity(rng)
    return portrait_renderer.render_portrait(
        identity,
        expressions.expression(seed % 8),
        canvas_size=size,
        centre=centre,
        radius=radius,
        rng=rng,
    )


def test_reference_settings_and_cascade_file(detector):
    assert (detector.scale_factor, detector.min_neighbors) == (1.1, 4)
    assert detector.cascade_path.endswith(detect.CASCADE_FILENAME)


def test_missing_cascade_names_the_opencv_version_problem(monkeypatch, tmp_path):
    monkeypatch.setattr(cv2.data, "haarcascades", str(tmp_path) + "/")
    with pytest.raises(FileNotFoundError, match=r"haarcascade_frontalface_default\.xml.*opencv"):
        detect.FaceDetector()
    monkeypatch.delattr(cv2, "data")
    with pytest.raises(FileNotFoundError, match="<5"):
        detect.FaceDetector()


def test_finds_the_face_where_it_was_drawn(detector):
    gray = _portrait(1, centre=(100.0, 120.0), radius=45.0)
    boxes = detector.detect(gray)
    assert boxes
    box = detect.largest_face(boxes)
    # The box holds the drawn face centre and is about the face's size.
    assert box.x < 100 < box.x + box.width and box.y < 120 < box.y + box.height
    assert 45 < box.width < 140


def test_largest_of_two_faces_is_cropped(haar_box):
    small = _portrait(2, centre=(80.0, 120.0), radius=30.0, size=(245, 420))
    big = _portrait(3, centre=(300.0, 120.0), radius=55.0, size=(245, 420))
    both = np.concatenate([small[:, :200], big[:, 200:]], axis=1)
    result = haar_box.crop(both)
    assert result.found and result.num_faces >= 2
    assert result.box.x > 200  # The big face, on the right.
    assert result.image.shape == (96, 96) and result.image.dtype == np.uint8
    assert detect.largest_face([detect.Box(0, 0, 5, 5), detect.Box(1, 1, 6, 6)]).width == 6
    assert detect.largest_face([]) is None


def test_colour_input_gives_the_same_crop_as_its_gray(haar_box):
    gray = _portrait(4)
    colour = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    np.testing.assert_array_equal(haar_box.crop(colour).image, haar_box.crop(gray).image)


def test_no_face_policies(haar_box):
    # Larger than a face crop (framing.FACE_CROP_SIDE), which would be taken whole.
    blank = np.full((200, 400), 90, np.uint8)
    blank[:, 100:300] = 180  # The centre square is brighter: see which part is kept.
    skipped = haar_box.crop(blank)
    assert (skipped.image, skipped.box, skipped.found, skipped.num_faces) == (None, None, False, 0)
    centred = haar_box.crop(blank, no_face_policy=detect.CENTER_CROP)
    assert not centred.found and centred.box == detect.Box(100, 0, 200, 200)
    assert centred.image.shape == (96, 96) and np.all(centred.image == 180)
    with pytest.raises(ValueError, match="center_crop"):
        haar_box.crop(blank, no_face_policy="guess")


def test_crop_margin_grows_the_box_and_is_clipped_to_the_image():
    gray = np.arange(100 * 100, dtype=np.int64).reshape(100, 100).astype(np.uint8)
    box = detect.Box(40, 30, 20, 20)
    plain = detect.crop_face(gray, box, size=20)
    np.testing.assert_array_equal(plain, gray[30:50, 40:60])  # Same size: an exact copy.
    grown = detect.crop_face(gray, box, margin=0.5, size=40)
    np.testing.assert_array_equal(grown, gray[20:60, 30:70])
    corner = detect.crop_face(gray, detect.Box(0, 0, 20, 20), margin=0.5, size=30)
    np.testing.assert_array_equal(corner, gray[0:30, 0:30])  # Clipped at the top left.
    with pytest.raises(ValueError, match="margin"):
        detect.crop_face(gray, box, margin=-0.1)


def test_min_size_is_configurable(detector):
    gray = _portrait(5, radius=45.0)
    assert detect.FaceDetector(min_size=(30, 30)).detect(gray)
    assert not detect.FaceDetector(min_size=(240, 240)).detect(gray)
