"""Training-image augmentation: one random affine warp plus brightness, per example.

The ranges are the reference's (REFERENCE.md, "Augmentation"): rotation +-15
deg, shifts +-10% of width and height, zoom 0.9-1.25 drawn independently for x
and y, horizontal flip, brightness x0.5-1.5, reflect fill, no shear (the
paper lists shearing too: `shear_degrees` draws a Keras shear angle). Unlike the
reference, which reseeded every image with one seed (so every image got the
same transform), each example draws its own transform from uniforms that
depend on the pipeline seed and the example's position in the training stream
(`row_uniforms`), so a transform differs per example and per epoch and is the
same when the run is repeated, resumed or spread over more hosts.

Rotation, shifts, shear, zoom and flip are composed into one 2x3 matrix and applied
with one `cv2.warpAffine` (bilinear, like Keras' order-1 interpolation): one
resampling instead of four. Keras' fill_mode "reflect" is scipy.ndimage's
"reflect" (d c b a | a b c d: the edge pixel is repeated), which is OpenCV's
`BORDER_REFLECT`; `BORDER_REFLECT_101` would be scipy's "mirror".

Zoom follows Keras: a factor z samples the input z times as far from the
centre, so z > 1 zooms out (the face gets smaller).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import cv2
import grain
import numpy as np

from affect_jax.runtime import ConfigError

BORDER_MODE = cv2.BORDER_REFLECT  # Keras/scipy "reflect", see the module docstring.


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """The ranges transforms are drawn from (the `config.augment` section).

    Attributes:
      enabled: off: images pass through untouched.
      rotation_degrees: angle drawn uniformly from [-r, r].
      shift_fraction: shift drawn uniformly from [-f, f] times width (x) and
        height (y), independently.
      zoom_range: (low, high); x and y factors drawn independently.
      horizontal_flip: flip left-right with probability 0.5.
      brightness_range: (low, high); pixels multiplied by one drawn factor.
      shear_degrees: Keras' shear angle drawn uniformly from [-s, s] (0: none).
    """

    enabled: bool = True
    rotation_degrees: float = 15.0
    shift_fraction: float = 0.1
    zoom_range: tuple[float, float] = (0.9, 1.25)
    horizontal_flip: bool = True
    brightness_range: tuple[float, float] = (0.5, 1.5)
    shear_degrees: float = 0.0

    def __post_init__(self):
        zoom_lo, zoom_hi = self.zoom_range
        bright_lo, bright_hi = self.brightness_range
        problems = []
        if not 0 <= self.rotation_degrees <= 180:
            problems.append(f"rotation_degrees={self.rotation_degrees} is not in [0, 180]")
        if not 0 <= self.shear_degrees < 60:
            problems.append(f"shear_degrees={self.shear_degrees} is not in [0, 60)")
        if not 0 <= self.shift_fraction < 1:
            problems.append(f"shift_fraction={self.shift_fraction} is not in [0, 1)")
        if not 0 < zoom_lo <= zoom_hi:
            problems.append(f"zoom_range={self.zoom_range} needs 0 < low <= high")
        if not 0 <= bright_lo <= bright_hi:
            problems.append(f"brightness_range={self.brightness_range} needs 0 <= low <= high")
        if problems:
            raise ConfigError("Bad config.augment: " + "; ".join(problems) + ".")

    @classmethod
    def from_config(cls, section: Any) -> AugmentConfig:
        """From a `config.augment` ConfigDict (or a dict); missing fields keep defaults."""
        values = dict(section.to_dict() if hasattr(section, "to_dict") else section)
        valid = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(
                f"Unknown config.augment field(s) {', '.join(unknown)}; valid: {', '.join(valid)}."
            )
        for name in ("zoom_range", "brightness_range"):
            if name in values:
                values[name] = tuple(float(v) for v in values[name])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Transform:
    """One example's drawn transform. Shifts are in pixels; the rest as in AugmentConfig."""

    angle_degrees: float = 0.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    zoom_x: float = 1.0
    zoom_y: float = 1.0
    flip: bool = False
    brightness: float = 1.0
    shear_degrees: float = 0.0


UNIFORMS_PER_TRANSFORM = 8


def draw_transform(
    config: AugmentConfig, rng: np.random.Generator, height: int, width: int
) -> Transform:
    """Draws one transform from eight uniforms (one call: ~10x cheaper than eight)."""
    return transform_from_uniforms(config, rng.random(UNIFORMS_PER_TRANSFORM), height, width)


def transform_from_uniforms(
    config: AugmentConfig, u: np.ndarray, height: int, width: int
) -> Transform:
    """The transform that eight uniforms in [0, 1) pick within the config's ranges."""

    def between(low: float, high: float, unit: float) -> float:
        return float(low + (high - low) * unit)

    rotation, shift = config.rotation_degrees, config.shift_fraction
    return Transform(
        angle_degrees=between(-rotation, rotation, u[0]),
        shift_x=between(-shift, shift, u[1]) * width,
        shift_y=between(-shift, shift, u[2]) * height,
        zoom_x=between(*config.zoom_range, u[3]),
        zoom_y=between(*config.zoom_range, u[4]),
        flip=config.horizontal_flip and bool(u[5] < 0.5),
        brightness=between(*config.brightness_range, u[6]),
        shear_degrees=between(-config.shear_degrees, config.shear_degrees, u[7]),
    )


def inverse_matrix(transform: Transform, height: int, width: int) -> np.ndarray:
    """The 2x3 matrix taking an output pixel (x, y) to where it is read in the input.

    Composed like Keras' ImageDataGenerator: rotation R, then shift t, then
    shear S = [[1, -sin s], [0, cos s]], then zoom Z, about the image centre c,
    so input = c + R (t + S Z (q - c)); the flip acts
    on the warped image, so here (output to input) it comes first: q = flip(x, y).
    Written out rather than as a product of 3x3 matrices: ~10x faster per image.
    """
    cx, cy = (width - 1) / 2, (height - 1) / 2  # Pixel centres: flips map exactly.
    angle = math.radians(transform.angle_degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    shear = math.radians(transform.shear_degrees)
    shear_sin, shear_cos = math.sin(shear), math.cos(shear)
    # L = R S Z; offset = c + R t - L c.
    a, b = cos * transform.zoom_x, -(cos * shear_sin + sin * shear_cos) * transform.zoom_y
    c, d = sin * transform.zoom_x, (cos * shear_cos - sin * shear_sin) * transform.zoom_y
    tx = cx + cos * transform.shift_x - sin * transform.shift_y - (a * cx + b * cy)
    ty = cy + sin * transform.shift_x + cos * transform.shift_y - (c * cx + d * cy)
    if transform.flip:  # x -> width - 1 - x before L.
        tx, ty = tx + a * (width - 1), ty + c * (width - 1)
        a, c = -a, -c
    return np.array([[a, b, tx], [c, d, ty]])


def apply_transform(image: np.ndarray, transform: Transform) -> np.ndarray:
    """`image` (H, W, C) uint8 warped once and brightness-scaled; same shape and dtype."""
    height, width = image.shape[:2]
    warped = cv2.warpAffine(
        image,
        inverse_matrix(transform, height, width),
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=BORDER_MODE,
    )
    if transform.brightness != 1.0:
        # Multiplies, rounds and saturates to uint8 in one pass (values are >= 0,
        # so its absolute value changes nothing). It computes in float32: rarely
        # one grey level off exact rounding, at a tenth of a numpy version's cost.
        warped = cv2.convertScaleAbs(warped, alpha=transform.brightness)
    # OpenCV drops a trailing channel axis of 1.
    return warped.reshape(image.shape)


@dataclasses.dataclass(frozen=True)
class RandomAugment(grain.transforms.RandomMap):
    """Grain transform: augments `element[image_key]`, passes the other keys through.

    Use on training elements only, before batching, e.g. after `.repeat(None)`:
    `dataset.random_map(RandomAugment.from_config(config.augment), seed=...)`.
    On TFDS records the image is "image"; on model examples it may be "inputs".
    """

    config: AugmentConfig = AugmentConfig()
    image_key: str = "image"

    @classmethod
    def from_config(cls, section: Any, image_key: str = "image") -> RandomAugment:
        return cls(AugmentConfig.from_config(section), image_key)

    def random_map(self, element: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        return self.with_uniforms(element, rng.random(UNIFORMS_PER_TRANSFORM))

    def with_uniforms(self, element: dict[str, Any], uniforms: np.ndarray) -> dict[str, Any]:
        """`element` augmented by the transform its eight uniforms pick."""
        if not self.config.enabled:
            return element
        image = element[self.image_key]
        if image.dtype != np.uint8 or image.ndim != 3:
            raise ConfigError(
                f"Augmentation expects uint8 images (H, W, C); got {image.dtype} {image.shape}."
            )
        transform = transform_from_uniforms(self.config, uniforms, *image.shape[:2])
        return {**element, self.image_key: apply_transform(image, transform)}


def row_uniforms(seed: int, positions: np.ndarray, count: int) -> np.ndarray:
    """[len(positions), count] uniforms in [0, 1), a fixed function of (seed, position).

    The training stream draws each example's transform from its position in
    the infinite shuffled stream, as Grain's per-record generators do, but for
    a whole block at once: splitmix64 over (seed, position, draw) is vectorised
    where creating a generator per record cost ~20 us each. The same position
    gives the same transform on any process count, and after a resume.
    """
    keys = np.asarray(positions, np.uint64)[:, None] * np.uint64(count) + np.arange(
        count, dtype=np.uint64
    )
    mixed = _splitmix64(_splitmix64(keys) ^ _splitmix64(np.full(1, seed, np.uint64)))
    return (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Steele, Lea and Flood's 64-bit finaliser: every input bit moves every output bit."""
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose.
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
