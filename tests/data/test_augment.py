"""Augmentation: shapes kept, fresh per example and epoch, seeded, exact known transforms."""

import grain
import numpy as np
import pytest

from affect_jax import config as config_lib
from affect_jax.data import augment
from affect_jax.data.augment import Transform
from affect_jax.runtime import ConfigError


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (96, 96, 1), dtype=np.uint8)


def _augmented(images, seed, config=None, epochs=2):
    transform = augment.RandomAugment(config or augment.AugmentConfig())
    elements = [{"image": im, "frame": np.int32(i)} for i, im in enumerate(images)]
    dataset = grain.MapDataset.source(elements).repeat(epochs).random_map(transform, seed=seed)
    return [dataset[i] for i in range(len(dataset))]


def test_keeps_shape_dtype_and_other_keys(image):
    for i, element in enumerate(_augmented([image] * 3, seed=0)):
        assert element["image"].shape == (96, 96, 1)
        assert element["image"].dtype == np.uint8
        assert element["frame"] == i % 3


def test_differs_per_example_and_per_epoch_and_repeats_for_a_seed(image):
    # The same image four times, over two epochs: eight different results.
    first = [e["image"] for e in _augmented([image] * 4, seed=1)]
    for i in range(len(first)):
        for j in range(i):
            assert not np.array_equal(first[i], first[j]), (i, j)
    again = [e["image"] for e in _augmented([image] * 4, seed=1)]
    other = [e["image"] for e in _augmented([image] * 4, seed=2)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_disabled_is_the_identity(image):
    config = augment.AugmentConfig(enabled=False)
    for element in _augmented([image], seed=0, config=config):
        assert element["image"] is image


def test_zero_ranges_give_the_image_back(image):
    config = augment.AugmentConfig(
        rotation_degrees=0,
        shift_fraction=0,
        zoom_range=(1, 1),
        horizontal_flip=False,
        brightness_range=(1, 1),
    )
    for element in _augmented([image] * 3, seed=0, config=config):
        np.testing.assert_array_equal(element["image"], image)


def test_flip_only_mirrors_exactly(image):
    np.testing.assert_array_equal(
        augment.apply_transform(image, Transform(flip=True)), image[:, ::-1]
    )
    flip_only = augment.AugmentConfig(
        rotation_degrees=0, shift_fraction=0, zoom_range=(1, 1), brightness_range=(1, 1)
    )
    results = [e["image"] for e in _augmented([image] * 20, seed=0, config=flip_only, epochs=1)]
    flipped = [np.array_equal(r, image[:, ::-1]) for r in results]
    assert all(f or np.array_equal(r, image) for f, r in zip(flipped, results, strict=True))
    assert 0 < sum(flipped) < len(results)


def test_quarter_turn_is_a_rotation_of_the_pixel_grid(image):
    turned = augment.apply_transform(image, Transform(angle_degrees=90))
    np.testing.assert_array_equal(turned[..., 0], np.rot90(image[..., 0]))


def test_whole_pixel_shift_fills_by_reflection_with_the_edge_repeated(image):
    # Output (x, y) reads input (x + 5, y - 3); numpy's "symmetric" padding is
    # Keras/scipy "reflect" (d c b a | a b c d), i.e. cv2.BORDER_REFLECT.
    shifted = augment.apply_transform(image, Transform(shift_x=5, shift_y=-3))
    padded = np.pad(image[..., 0], 10, mode="symmetric")
    np.testing.assert_array_equal(shifted[..., 0], padded[7:103, 15:111])


def test_zoom_above_one_zooms_out_about_the_centre():
    matrix = augment.inverse_matrix(Transform(zoom_x=2.0, zoom_y=0.5), 96, 96)
    centre = np.array([47.5, 47.5, 1.0])
    np.testing.assert_allclose(matrix @ centre, [47.5, 47.5])
    np.testing.assert_allclose(matrix @ (centre + [1, 1, 0]), [49.5, 48.0])


def test_shear_composes_like_keras_rotation_shift_shear_zoom():
    """Keras' ImageDataGenerator: input = c + R (t + S Z (q - c)), as 3x3 matrices here."""
    angle, shear = np.radians(10.0), np.radians(20.0)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    shift = np.array([[1, 0, 4.0], [0, 1, -2.0], [0, 0, 1]])
    shearing = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.diag([1.1, 0.9, 1.0])
    centre, uncentre = np.eye(3), np.eye(3)
    centre[:2, 2], uncentre[:2, 2] = 47.5, -47.5
    expected = (centre @ rotation @ shift @ shearing @ zoom @ uncentre)[:2]
    transform = Transform(
        angle_degrees=10.0, shift_x=4.0, shift_y=-2.0, zoom_x=1.1, zoom_y=0.9, shear_degrees=20.0
    )
    np.testing.assert_allclose(augment.inverse_matrix(transform, 96, 96), expected, atol=1e-12)


def test_shear_is_drawn_within_its_range_and_off_by_default():
    uniforms = np.linspace(0.0, 0.999, 8)
    off = augment.transform_from_uniforms(augment.AugmentConfig(), uniforms, 96, 96)
    assert off.shear_degrees == 0.0
    on = augment.AugmentConfig(shear_degrees=12.0)
    drawn = [
        augment.transform_from_uniforms(on, np.full(8, u), 96, 96).shear_degrees
        for u in (0.0, 0.5, 0.999)
    ]
    np.testing.assert_allclose(drawn, [-12.0, 0.0, 11.976])
    with pytest.raises(ConfigError, match="shear_degrees=75"):
        augment.AugmentConfig(shear_degrees=75)


def test_brightness_scales_and_saturates(image):
    brighter = augment.apply_transform(image, Transform(brightness=2.0))
    np.testing.assert_array_equal(brighter, np.minimum(2 * image.astype(int), 255))


def test_config_section_round_trip_and_errors():
    section = config_lib.augment_options()
    assert augment.AugmentConfig.from_config(section) == augment.AugmentConfig()
    section.zoom_range = [0.8, 1.1]  # A list from a command-line override.
    assert augment.RandomAugment.from_config(section).config.zoom_range == (0.8, 1.1)
    with pytest.raises(ValueError, match="valid: enabled, rotation_degrees"):
        augment.AugmentConfig.from_config({"rotation": 10})
    with pytest.raises(ValueError, match="zoom_range"):
        augment.AugmentConfig(zoom_range=(1.2, 0.9))


def test_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        augment.RandomAugment().random_map(
            {"image": np.zeros((4, 4, 1), np.float32)}, np.random.default_rng(0)
        )


def test_model_examples_name_their_image_inputs(image):
    transform = augment.RandomAugment(augment.AugmentConfig(), image_key="inputs")
    out = transform.random_map({"inputs": image, "targets": 1.0}, np.random.default_rng(0))
    assert out["inputs"].shape == image.shape and not np.array_equal(out["inputs"], image)
    assert out["targets"] == 1.0
