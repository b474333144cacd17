"""Photometric normalisation: lighting evened out, checked against numpy formulas."""

import cv2
import ml_collections
import numpy as np
import pytest

from affect_jax.faces import photometric
from affect_jax.runtime import ConfigError
from affect_jax.synthetic import face_renderer


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A synthetic uint8 96x96 gray face crop (pixels 1-253)."""
    rng = np.random.default_rng(0)
    bgr = face_renderer.render_face(face_renderer.random_identity(rng), 0.3, 0.2, 0.0, 0.0, rng)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(gray, (96, 96), interpolation=cv2.INTER_AREA)


def _lit(image: np.ndarray, gain: float, offset: float) -> np.ndarray:
    return np.clip(np.rint(gain * image.astype(np.float64) + offset), 0, 255).astype(np.uint8)


def _histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two crops' intensity histograms, in grey levels."""
    cdf_a = np.cumsum(np.bincount(a.ravel(), minlength=256)) / a.size
    cdf_b = np.cumsum(np.bincount(b.ravel(), minlength=256)) / b.size
    return float(np.abs(cdf_a - cdf_b).sum())


# The same face under a dim, flat light and a bright, harsh one (clipped at 255).
DIM, BRIGHT = (0.5, 20.0), (1.2, -10.0)


def test_equalize_and_standardize_bring_two_lightings_of_one_face_together(face):
    dim, bright = _lit(face, *DIM), _lit(face, *BRIGHT)
    # As read, the histograms lie ~46 levels apart; means ~38 apart.
    assert _histogram_distance(dim, bright) > 40
    assert abs(dim.mean() - bright.mean()) > 30
    # Bars: equalisation is exact up to the levels the dim light merged and the
    # bright one clipped (measured 4.7); standardisation up to rounding (0.6).
    for method, bar in (("equalize", 8.0), ("standardize", 2.0)):
        a = photometric.normalise_face(dim, method)
        b = photometric.normalise_face(bright, method)
        assert _histogram_distance(a, b) < bar, method
        assert abs(a.mean() - b.mean()) < bar and abs(a.std() - b.std()) < bar, method


def test_clahe_limits_contrast_so_a_gain_difference_stays(face):
    # CLAHE caps each tile's histogram (clip limit 2: on a 96-pixel crop's
    # 12x12-pixel tiles, int(2 * 144 / 256) = 1 count per level), so it cannot
    # stretch the dim crop as plain equalisation does: documented, not a bug.
    dim, bright = _lit(face, *DIM), _lit(face, *BRIGHT)
    a = photometric.normalise_face(dim, "clahe")
    b = photometric.normalise_face(bright, "clahe")
    assert a.dtype == np.uint8 and a.shape == dim.shape
    assert not np.array_equal(a, dim)
    assert _histogram_distance(a, b) < _histogram_distance(dim, bright)
    assert abs(a.mean() - b.mean()) < abs(dim.mean() - bright.mean())


def _equalized_reference(image: np.ndarray) -> np.ndarray:
    """Histogram equalisation written out: the CDF above the lowest level, onto 0-255."""
    histogram = np.bincount(image.ravel(), minlength=256)
    lowest = int(np.flatnonzero(histogram)[0])
    above_lowest = np.cumsum(histogram) - histogram[lowest]
    scale = np.float32(255) / np.float32(image.size - histogram[lowest])
    lut = np.rint(above_lowest.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return lut[image]


def _standardized_reference(image: np.ndarray) -> np.ndarray:
    pixels = image.astype(np.float64)
    z = (pixels - pixels.mean()) / pixels.std()
    return np.clip(np.round(128 + 48 * z), 0, 255).astype(np.uint8)


def test_equalize_and_standardize_match_their_formulas(face):
    for crop in (face, _lit(face, *DIM), _lit(face, *BRIGHT)):
        equalized = photometric.normalise_face(crop, "equalize")
        np.testing.assert_array_equal(equalized, _equalized_reference(crop))
        standardized = photometric.normalise_face(crop, "standardize")
        np.testing.assert_array_equal(standardized, _standardized_reference(crop))
        assert abs(standardized.mean() - 128) < 2 and abs(standardized.std() - 48) < 3


def test_a_flat_crop_standardizes_to_mid_grey():
    flat = np.full((96, 96), 77, np.uint8)
    np.testing.assert_array_equal(photometric.normalise_face(flat, "standardize"), 128)


def test_shapes_and_batches_keep_their_layout(face):
    batch = np.stack([face, _lit(face, *DIM)])
    for method in photometric.METHODS:
        for crops in (batch, batch[..., None]):
            normalised = photometric.normalise_faces(crops, method)
            assert normalised.shape == crops.shape and normalised.dtype == np.uint8
            for crop, one in zip(crops, normalised, strict=True):
                np.testing.assert_array_equal(one, photometric.normalise_face(crop, method))
    assert photometric.normalise_faces(batch, "none") is batch
    assert photometric.normalise_face(face, "none") is face
    with pytest.raises(ValueError, match="uint8 gray"):
        photometric.normalise_face(face.astype(np.float32), "equalize")


def test_an_unknown_method_names_the_config_field_and_the_valid_values(face):
    with pytest.raises(ConfigError, match=r"config\.input\.photometric 'gamma'.*clahe"):
        photometric.normalise_face(face, "gamma")
    config = ml_collections.ConfigDict({"input": {"photometric": "histeq"}})
    with pytest.raises(ConfigError, match=r"config\.input\.photometric 'histeq'"):
        photometric.configured_method(config)


def test_configs_saved_before_the_field_mean_none():
    assert photometric.configured_method(ml_collections.ConfigDict({"input": {}})) == "none"
    assert photometric.configured_method(ml_collections.ConfigDict({"seed": 0})) == "none"
    config = ml_collections.ConfigDict({"input": {"photometric": "clahe"}})
    assert photometric.configured_method(config) == "clahe"
