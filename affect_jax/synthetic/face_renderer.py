"""Draws cartoon faces whose expression is a known function of valence and arousal.

The faces stand in for Aff-Wild2's cropped-aligned frames (112x112 BGR). They
are deliberately simple, but every expression cue is large enough to survive
the 96x96 grayscale pipeline and JPEG compression:

* valence bends the mouth (smile at +1, frown at -1) and tilts the eyebrows;
* arousal opens the eyes, raises the eyebrows and opens the mouth.

Identity (face shape, skin tone, background, feature sizes and placement)
varies between people so that a model has to learn the expression, not the
person.
"""

from __future__ import annotations

import dataclasses
import statistics

import cv2
import numpy as np

IMAGE_SIZE = 112
# Drawing with sub-pixel precision: cv2 takes integer coordinates scaled by
# 2**_SHIFT, so curves move smoothly with the labels instead of in 1 px steps.
_SHIFT = 4
_SCALE = 1 << _SHIFT

# Standard-normal quantiles at 256 evenly spaced probabilities. Indexing this
# table with uniform random bytes gives gaussian noise at a fraction of the
# cost of drawing normals, which dominated the rendering time.
_NORMAL_QUANTILES = np.array(
    [statistics.NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)], np.float32
)


@dataclasses.dataclass(frozen=True)
class Identity:
    """What stays fixed for one person across all frames of their videos.

    Lengths are in pixels of the 112x112 image, before `scale` is applied.
    Colours are BGR in [0, 255].
    """

    face_half_width: float
    face_half_height: float
    skin_bgr: tuple[float, float, float]
    background_level: float
    # The background: `background_level` plus a fixed low-frequency texture,
    # uint8 (112, 112, 3), drawn once so that frames only copy it.
    background: np.ndarray = dataclasses.field(repr=False, compare=False)
    eye_spacing: float  # Half the distance between the eye centres.
    eye_half_width: float
    mouth_half_width: float
    brow_thickness: int
    offset_x: float
    offset_y: float
    scale: float


def random_identity(rng: np.random.Generator) -> Identity:
    """Draws a new person.

    Args:
      rng: the source of randomness; the same generator state gives the same
        person.

    Returns:
      An `Identity`.
    """
    gray = rng.uniform(120.0, 210.0)
    # A slight warm or cool tint keeps the skin "gray-ish" but not identical
    # across channels, so the grayscale conversion sees varied intensities.
    tint = rng.uniform(-12.0, 12.0)
    skin = (gray - tint, gray, gray + tint)
    # Keep the background clearly apart from the skin so the face outline is
    # always visible: pick it on the other side of mid-gray when possible.
    if gray > 165.0:
        background = rng.uniform(30.0, 110.0)
    else:
        background = rng.uniform(40.0, 80.0) if rng.random() < 0.5 else rng.uniform(200.0, 235.0)
    coarse = rng.normal(0.0, 18.0, size=(4, 4)).astype(np.float32)
    texture = cv2.resize(coarse, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_CUBIC)
    plane = np.clip(background + texture, 0.0, 255.0).astype(np.uint8)
    return Identity(
        face_half_width=rng.uniform(34.0, 42.0),
        face_half_height=rng.uniform(42.0, 50.0),
        skin_bgr=skin,
        background_level=background,
        background=np.repeat(plane[..., None], 3, axis=2),
        eye_spacing=rng.uniform(13.0, 17.0),
        eye_half_width=rng.uniform(6.0, 8.5),
        mouth_half_width=rng.uniform(13.0, 19.0),
        brow_thickness=int(rng.integers(2, 5)),
        offset_x=rng.uniform(-4.0, 4.0),
        offset_y=rng.uniform(-4.0, 4.0),
        scale=rng.uniform(0.92, 1.08),
    )


def _fixed(points: np.ndarray) -> np.ndarray:
    """Converts float pixel coordinates to cv2's fixed-point int32 format."""
    return np.round(points * _SCALE).astype(np.int32)


def _parabola(cx: float, cy: float, half_width: float, bend: float, n: int = 15) -> np.ndarray:
    """Points of y = cy + bend * (1 - (x/half_width)^2) - bend/2 across the mouth.

    With `bend` > 0 the middle sits lower than the corners (a smile in image
    coordinates, where y grows downwards); the -bend/2 keeps the curve centred
    on `cy` so that only the shape, not the position, encodes valence.
    """
    x = np.linspace(-1.0, 1.0, n)
    y = cy + bend * (1.0 - x * x) - bend / 2.0
    return np.stack([cx + half_width * x, y], axis=1)


def render_face(
    identity: Identity,
    valence: float,
    arousal: float,
    head_dx: float,
    head_dy: float,
    rng: np.random.Generator,
    noise_sd: float = 6.0,
) -> np.ndarray:
    """Renders one frame.

    Args:
      identity: the person.
      valence: drives the mouth curve and the eyebrow tilt; nominally in
        [-1, 1], values a little outside are drawn sensibly.
      arousal: drives the eye opening, eyebrow height and mouth opening.
      head_dx: horizontal head displacement in pixels (head motion).
      head_dy: vertical head displacement in pixels.
      rng: source of the per-pixel noise.
      noise_sd: standard deviation of the gaussian pixel noise.

    Returns:
      uint8 BGR image of shape (112, 112, 3).
    """
    v = float(np.clip(valence, -1.5, 1.5))
    a = float(np.clip(arousal, -1.5, 1.5))
    a01 = (a + 1.0) / 2.0  # 0 = sleepy, 1 = excited.
    s = identity.scale

    image = identity.background.copy()

    cx = IMAGE_SIZE / 2 + identity.offset_x + head_dx
    cy = IMAGE_SIZE / 2 + 2.0 + identity.offset_y + head_dy
    face_axes = (identity.face_half_width * s, identity.face_half_height * s)
    cv2.ellipse(
        image,
        _fixed(np.array([cx, cy])),
        tuple(_fixed(np.array(face_axes))),
        0,
        0,
        360,
        identity.skin_bgr,
        -1,
        cv2.LINE_AA,
        _SHIFT,
    )

    dark = (35, 35, 40)
    eye_y = cy - 9.0 * s
    eye_w = identity.eye_half_width * s
    # From a slit (1 px) when calm to wide open (~w) when excited.
    eye_h = max(1.0, eye_w * (0.12 + 0.85 * a01))
    brow_lift = (4.0 + 7.0 * a01) * s  # Gap between eye top and brow.
    brow_tilt = 3.5 * v * s  # Inner ends up for positive valence.
    for side in (-1.0, 1.0):
        ex = cx + side * identity.eye_spacing * s
        centre = _fixed(np.array([ex, eye_y]))
        cv2.ellipse(
            image,
            centre,
            tuple(_fixed(np.array([eye_w, eye_h]))),
            0,
            0,
            360,
            (245, 245, 245),
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )
        pupil = max(1.0, min(eye_h, 0.45 * eye_w))
        cv2.circle(image, centre, int(round(pupil * _SCALE)), dark, -1, cv2.LINE_AA, _SHIFT)
        brow_y = eye_y - eye_h - brow_lift
        inner = np.array([ex - side * eye_w * 1.1, brow_y - brow_tilt])
        outer = np.array([ex + side * eye_w * 1.2, brow_y + brow_tilt])
        cv2.line(
            image,
            tuple(_fixed(inner)),
            tuple(_fixed(outer)),
            dark,
            identity.brow_thickness,
            cv2.LINE_AA,
            _SHIFT,
        )

    mouth_y = cy + 22.0 * s
    mouth_w = identity.mouth_half_width * s
    bend = 9.0 * v * s
    upper = _parabola(cx, mouth_y, mouth_w, bend)
    opening = 9.0 * max(0.0, a01 - 0.15) * s
    if opening > 0.5:
        # Lower lip: the same curve pushed down in the middle only, so that
        # the corners stay together and the mouth reads as "open".
        lower = upper.copy()
        lower[:, 1] += opening * (1.0 - np.linspace(-1.0, 1.0, len(upper)) ** 2)
        polygon = np.concatenate([upper, lower[::-1]])
        cv2.fillPoly(image, [_fixed(polygon)], (60, 40, 90), cv2.LINE_AA, _SHIFT)
    cv2.polylines(image, [_fixed(upper)], False, dark, 2, cv2.LINE_AA, _SHIFT)

    # One noise plane shared by the channels: a third of the random numbers,
    # and the grayscale pipeline sees the full noise level.
    table = np.round(noise_sd * _NORMAL_QUANTILES).astype(np.int16)
    noise = table[rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)]
    return cv2.add(image, cv2.merge([noise, noise, noise]), dtype=cv2.CV_8U)
