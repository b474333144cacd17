"""One face crop for every dataset: the same face, framed and lit differently, comes out alike."""

import cv2
import numpy as np
import pytest

from affect_jax.faces import align, detect, framing
from affect_jax.runtime import ConfigError
from affect_jax.synthetic import expressions, portrait_renderer

TEMPLATE_EYES_96 = align.TEMPLATE_EYES * (96 / align.TEMPLATE_SIZE)


def _portrait(identity, label, *, size, tight, rng, gain=1.0, offset=0.0):
    """(uint8 image, true eye centres [[x, y], [x, y]]) of one synthetic photo.

    `tight`: a face crop of brows to chin drawn at 96 px and shrunk to `size`
    (CK+48-style); otherwise a head-and-shoulders photo with hair, neck and
    background around a smaller face (JAFFE-style).
    """
    canvas = max(size, 96) if tight else size
    radius = canvas * (0.34 if tight else 0.2)
    centre = (canvas / 2, (0.5 if tight else 0.46) * canvas)
    image = portrait_renderer.render_portrait(
        identity,
        expressions.expression(label, 0.9),
        canvas_size=(canvas, canvas),
        centre=centre,
        radius=radius,
        rng=rng,
        noise_sd=1.5,
    )
    # Where render_portrait draws the eyes, in face units of the face's half width.
    eye_y = centre[1] - 0.20 * identity.face_aspect * radius
    spread = identity.eye_spacing * radius
    eyes = np.array([[centre[0] - spread, eye_y], [centre[0] + spread, eye_y]])
    if canvas != size:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        eyes = (eyes + 0.5) * (size / canvas) - 0.5
    lit = np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    return lit, eyes


def _eyes_in_crop(crop: framing.StillCrop, eyes: np.ndarray) -> np.ndarray:
    return eyes @ crop.transform[:, :2].T + crop.transform[:, 2]


def test_tight_and_wide_photos_of_a_face_put_its_eyes_in_the_same_place():
    rng = np.random.default_rng(3)
    cropper = framing.StillFaceCropper("aligned")
    gaps = []
    for index in range(12):
        identity = portrait_renderer.random_identity(rng)
        label = ("happy", "sadness", "surprise", "neutral")[index % 4]
        tight, tight_eyes = _portrait(identity, label, size=48, tight=True, rng=rng)
        wide, wide_eyes = _portrait(
            identity, label, size=256, tight=False, rng=rng, gain=0.6, offset=40
        )
        source, target = cropper.crop(tight), cropper.crop(wide)
        assert source.found and target.found, "the 48x48 crop and the photo both have a face"
        assert np.isfinite(source.score) and np.isfinite(target.score)
        source_eyes = _eyes_in_crop(source, tight_eyes)
        target_eyes = _eyes_in_crop(target, wide_eyes)
        # Both land on the template: the shared framing, whatever each photo's own.
        np.testing.assert_allclose(source_eyes, TEMPLATE_EYES_96, atol=3.0)
        np.testing.assert_allclose(target_eyes, TEMPLATE_EYES_96, atol=3.0)
        gaps.append(np.abs(source_eyes - target_eyes).max())
    assert max(gaps) <= 3.0, gaps


def test_the_photos_own_framing_differs_without_alignment():
    """The check above can fail: centred squares of the same two photos frame eyes far apart."""
    rng = np.random.default_rng(3)
    identity = portrait_renderer.random_identity(rng)
    tight, tight_eyes = _portrait(identity, "happy", size=48, tight=True, rng=rng)
    wide, wide_eyes = _portrait(identity, "happy", size=256, tight=False, rng=rng)
    tight_in_96 = tight_eyes * 2
    wide_in_96 = wide_eyes * (96 / 256)
    assert np.abs(tight_in_96 - wide_in_96).max() > 3 * 1.5


def test_a_small_image_without_a_face_is_taken_whole_and_a_large_one_is_skipped():
    rng = np.random.default_rng(0)
    cropper = framing.StillFaceCropper("aligned")
    noise = rng.integers(0, 255, (48, 48), dtype=np.uint8)
    small = cropper.crop(noise)
    assert small.taken_whole and not small.found and np.isnan(small.score)
    assert small.box == detect.Box(0, 0, 48, 48)
    assert small.image.shape == (96, 96) and small.image.dtype == np.uint8
    large = cropper.crop(rng.integers(0, 255, (300, 300), dtype=np.uint8))
    assert large.image is None and not large.taken_whole
    centred = cropper.crop(
        rng.integers(0, 255, (300, 300), dtype=np.uint8), no_face_policy=detect.CENTER_CROP
    )
    assert centred.box == detect.Box(0, 0, 300, 300) and not centred.taken_whole


def test_small_faces_are_found_only_because_they_are_upscaled(monkeypatch):
    rng = np.random.default_rng(5)
    images = [
        _portrait(portrait_renderer.random_identity(rng), "happy", size=48, tight=True, rng=rng)[0]
        for _ in range(6)
    ]
    for name in framing.FRAMINGS:
        cropper = framing.StillFaceCropper(name)
        assert all(cropper.crop(image).found for image in images), name
    # Searched as they are, HOG misses the same 48x48 faces: the upscaling is what finds them.
    monkeypatch.setattr(framing, "SMALL_IMAGE_SIDE", 40)
    cropper = framing.StillFaceCropper("aligned")
    assert not any(cropper.crop(image).found for image in images)


def test_the_haar_box_framing_is_the_papers_resized_box():
    rng = np.random.default_rng(1)
    photo, _ = _portrait(
        portrait_renderer.random_identity(rng), "happy", size=256, tight=False, rng=rng
    )
    crop = framing.StillFaceCropper("haar_box").crop(photo)
    boxes = detect.FaceDetector().detect(photo)
    box = max(boxes, key=lambda b: b.area)
    assert crop.box == box
    expected = cv2.resize(
        photo[box.y : box.y + box.height, box.x : box.x + box.width],
        (96, 96),
        interpolation=cv2.INTER_AREA,
    )
    np.testing.assert_array_equal(crop.image, expected)


def test_an_unknown_framing_names_the_valid_ones():
    with pytest.raises(ConfigError, match="haar_box, aligned"):
        framing.framing_named("tight")
