"""Draws grayscale head-and-shoulders portraits that OpenCV's Haar cascade sees as faces.

The CK+ and JAFFE stand-ins need whole photographs, not face crops: the
builders find the face themselves with the frontal-face Haar cascade. That
cascade looks for the light-dark structure of a real face (eye sockets darker
than the cheeks and the bridge of the nose, a darker mouth below), which a
flat cartoon gives only sometimes. So the face here is shaded: a rounded
skin surface, soft shadows in the eye sockets, beside and under the nose,
hair framing the forehead, a neck and shoulders; then the expression cues of
`expressions.Expression` (brows, lids, mouth, wrinkles) are drawn on top.

Positions are in units of the face's half width `radius`, relative to the
face centre (y grows downwards), so a portrait can be drawn at any size.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from affect_jax.synthetic.expressions import Expression


@dataclasses.dataclass(frozen=True)
class PortraitIdentity:
    """What stays fixed for one person (gray levels in [0, 255], lengths x radius)."""

    skin: float
    hair: float
    hair_volume: float  # Hair outline relative to the head.
    fringe: float  # How far the hair comes down the forehead.
    face_aspect: float  # Half height / half width.
    eye_spacing: float
    eye_size: float
    iris: float
    brow_thickness: float
    brow_level: float
    nose_length: float  # Nostrils below the centre, x half height.
    nose_width: float
    mouth_width: float
    mouth_height: float  # Mouth below the centre, x half height.
    lips: float  # Lip gray level as a fraction of the skin's.
    light: float  # -1 lit from the left .. 1 from the right.
    background: float
    background_tilt: float
    clothes: float
    expressiveness: float  # Scales every expression of this person.


def random_identity(rng: np.random.Generator, *, dark_hair: bool = False) -> PortraitIdentity:
    """Draws a new person; `dark_hair` limits the hair to near black."""
    skin = rng.uniform(125.0, 200.0)
    # Background on the other side of the skin so the head outline stays visible.
    if skin > 175.0 or rng.random() < 0.4:
        background = rng.uniform(40.0, 95.0)
    else:
        background = rng.uniform(min(skin + 30.0, 230.0), 240.0)
    return PortraitIdentity(
        skin=skin,
        hair=rng.uniform(10.0, 35.0) if dark_hair else rng.uniform(10.0, 90.0),
        hair_volume=rng.uniform(1.06, 1.22),
        fringe=rng.uniform(0.0, 0.35),
        face_aspect=rng.uniform(1.22, 1.40),
        eye_spacing=rng.uniform(0.37, 0.44),
        eye_size=rng.uniform(0.17, 0.21),
        iris=rng.uniform(25.0, 70.0),
        brow_thickness=rng.uniform(0.05, 0.08),
        brow_level=rng.uniform(20.0, 70.0),
        nose_length=rng.uniform(0.18, 0.26),
        nose_width=rng.uniform(0.11, 0.15),
        mouth_width=rng.uniform(0.30, 0.38),
        mouth_height=rng.uniform(0.48, 0.56),
        lips=rng.uniform(0.62, 0.82),
        light=rng.uniform(-1.0, 1.0),
        background=background,
        background_tilt=rng.uniform(-25.0, 25.0),
        clothes=rng.uniform(20.0, 230.0),
        expressiveness=rng.uniform(0.8, 1.1),
    )


@dataclasses.dataclass(frozen=True)
class _Face:
    """Maps face units to pixels of one drawing target (the canvas or a patch)."""

    cx: float
    cy: float
    r: float
    origin: tuple[float, float] = (0.0, 0.0)

    def at(self, *points: tuple[float, float]) -> np.ndarray:
        """Pixel coordinates (n, 2) of points given in face units."""
        xy = np.asarray(points, np.float64) * self.r + (self.cx, self.cy)
        return xy - self.origin

    def ellipse(self, image, u, v, au, av, value, thickness=-1, arc=(0, 360)) -> None:
        x, y = np.round(self.at((u, v))[0]).astype(int)
        axes = (max(1, round(au * self.r)), max(1, round(av * self.r)))
        width = -1 if thickness < 0 else max(1, round(thickness * self.r))
        cv2.ellipse(image, (int(x), int(y)), axes, 0, arc[0], arc[1], float(value), width)

    def line(self, image, points, value, thickness) -> None:
        xy = np.round(self.at(*points)).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [xy], False, float(value), max(1, round(thickness * self.r)))


def _mouth(ident: PortraitIdentity, e: Expression, mouth_y: float) -> tuple:
    """Upper and lower outlines of the lip opening in face units, (21, 2) each."""
    half = ident.mouth_width * (1.0 + 0.3 * e.mouth_width)
    u = np.linspace(-1.0, 1.0, 21)
    # Lip corners: up for a smile, the right one alone for contempt.
    left = mouth_y - 0.13 * e.mouth_curve
    right = left - 0.16 * e.mouth_asymmetry
    x = half * u + 0.06 * e.mouth_asymmetry * np.clip(u, 0.0, 1.0) ** 2
    middle = 1.0 - u * u
    base = mouth_y * middle + np.where(u < 0, left, right) * u * u - 0.05 * e.nose_wrinkle * middle
    opening = 0.42 * e.mouth_open * np.sqrt(middle)
    return np.stack([x, base - 0.25 * opening], 1), np.stack([x, base + 0.75 * opening], 1)


def _draw_head(img: np.ndarray, f: _Face, ident: PortraitIdentity, aspect: float) -> None:
    """Shoulders, neck, hair and ears, then the face over them, in flat tones."""
    skin = ident.skin
    f.ellipse(img, 0, aspect + 1.3, 2.3, 1.1, ident.clothes)
    neck = np.round(f.at((-0.5, 0.5 * aspect), (0.5, aspect + 0.6))).astype(int)
    cv2.rectangle(img, tuple(map(int, neck[0])), tuple(map(int, neck[1])), skin * 0.78, -1)
    volume = ident.hair_volume
    f.ellipse(img, 0, -0.12 * aspect, volume, 1.02 * volume * aspect, ident.hair)
    for side in (-1, 1):
        f.ellipse(img, side * 0.97, -0.05 * aspect, 0.13, 0.26, skin * 0.85)
    f.ellipse(img, 0, 0, 1.0, aspect, skin)
    if ident.fringe > 0.02:
        f.ellipse(img, 0, -aspect, 0.72, 0.1 + 0.7 * ident.fringe, ident.hair)


def _shade_features(shade, f: _Face, ident, e: Expression, eye_y, nose_y, mouth_y) -> None:
    """Shadows (< 1) and highlights (> 1) of the features, blurred later."""
    nose = ident.nose_width
    for s in (-1, 1):
        f.ellipse(shade, s * ident.eye_spacing, eye_y - 0.02, 0.30, 0.19, 0.62)  # Eye socket.
        f.line(shade, [(s * 0.12, eye_y + 0.05), (s * (nose + 0.02), nose_y - 0.05)], 0.82, 0.07)
        f.ellipse(shade, s * nose, nose_y, 0.07, 0.07, 0.8)  # Nostril wing.
        cheek_y = eye_y + 0.38 - 0.08 * e.cheek_raise
        f.ellipse(shade, s * 0.45, cheek_y, 0.22, 0.16, 1.04 + 0.06 * e.cheek_raise)
        # Nasolabial fold, deeper with a smile or a sneer.
        fold = 0.95 - 0.12 * max(e.cheek_raise, e.nose_wrinkle)
        half = ident.mouth_width * (1 + 0.3 * e.mouth_width) + 0.07
        fold_line = [
            (s * (nose + 0.06), nose_y - 0.02),
            (s * (half + 0.03), mouth_y - 0.05),
            (s * half, mouth_y + 0.15),
        ]
        f.line(shade, fold_line, fold, 0.05)
    f.ellipse(shade, 0, nose_y - 0.07, 0.09, 0.08, 1.1)  # Nose tip highlight.
    f.ellipse(shade, 0, nose_y + 0.09, 0.14, 0.04, 0.8)  # Under the nose.
    f.ellipse(shade, 0, mouth_y + 0.22, 0.20, 0.06, 0.88)  # Under the lower lip.
    for k in range(3 if e.forehead_lines > 0.05 else 0):
        y = eye_y - 0.25 - 0.12 * k
        f.ellipse(shade, 0, y, 0.42, 0.15, 1 - 0.16 * e.forehead_lines, 0.03, (200, 340))
    if e.brow_squeeze > 0.05 and e.brow_inner < 0:  # Vertical frown lines.
        for s in (-1, 1):
            line = [(s * 0.06, eye_y - 0.32), (s * 0.05, eye_y - 0.12)]
            f.line(shade, line, 1 - 0.2 * e.brow_squeeze, 0.04)
    for k in range(3 if e.nose_wrinkle > 0.05 else 0):
        y = eye_y + 0.07 + 0.07 * k
        f.ellipse(shade, 0, y, 0.10, 0.05, 1 - 0.25 * e.nose_wrinkle, 0.03, (200, 340))


def _draw_eye(img: np.ndarray, centre, half_width: float, up: float, low: float, iris) -> None:
    """Eye white and iris (in pixels), the iris hidden where the lids cover it."""
    ex, ey = centre
    x0, y0 = int(ex - half_width - 2), int(ey - up - 2)
    x1, y1 = int(ex + half_width + 3), int(ey + low + 3)
    if x0 < 0 or y0 < 0 or x1 > img.shape[1] or y1 > img.shape[0]:
        return
    patch = _Face(ex - x0, ey - y0, half_width)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    patch.ellipse(mask, 0, 0, 1.0, up / half_width, 1, arc=(180, 360))
    patch.ellipse(mask, 0, 0, 1.0, low / half_width, 1, arc=(0, 180))
    eye = np.full(mask.shape, 215.0, np.float32)
    patch.ellipse(eye, 0, 0, 0.5, 0.5, iris)
    patch.ellipse(eye, 0, 0, 0.22, 0.22, 12.0)
    region = img[y0:y1, x0:x1]
    region[mask > 0] = eye[mask > 0]


def _draw_features(img, f: _Face, ident, e: Expression, eye_y, nose_y, mouth_y) -> None:
    """Eyes, lids, brows, nostrils and mouth, with crisp edges."""
    for s in (-1, 1):
        ex = s * ident.eye_spacing
        width = ident.eye_size
        up = width * max(0.12, 0.45 + 0.32 * e.eye_open)
        low = width * max(0.08, 0.38 + 0.12 * e.eye_open - 0.22 * e.cheek_raise)
        _draw_eye(img, f.at((ex, eye_y))[0], width * f.r, up * f.r, low * f.r, ident.iris)
        f.ellipse(img, ex, eye_y, 1.05 * width, up, ident.brow_level + 10, 0.03, (180, 360))
        brow_y = eye_y - 0.26 - 0.14 * e.brow_raise
        inner = s * (0.16 - 0.06 * e.brow_squeeze)
        outer = s * (ident.eye_spacing + 0.24)
        brow = [
            (inner, brow_y - 0.12 * e.brow_inner),
            ((2 * inner + outer) / 3, brow_y - 0.05),
            ((inner + 2 * outer) / 3, brow_y - 0.05),
            (outer, brow_y + 0.04),
        ]
        f.line(img, brow, ident.brow_level, ident.brow_thickness)
        nostril_y = nose_y + 0.03 - 0.03 * e.nose_wrinkle
        f.ellipse(img, s * 0.065, nostril_y, 0.045, 0.025, ident.skin * 0.4)
    upper, lower = _mouth(ident, e, mouth_y)
    lip = ident.skin * ident.lips
    polygon = lambda points: [np.round(f.at(*points)).astype(np.int32)]
    cv2.fillPoly(img, polygon(np.concatenate([upper - (0, 0.07), lower[::-1] + (0, 0.085)])), lip)
    if np.max(lower[:, 1] - upper[:, 1]) > 0.03:
        cv2.fillPoly(img, polygon(np.concatenate([upper, lower[::-1]])), 30.0)
        teeth = np.stack([upper[:, 0], np.minimum(upper[:, 1] + 0.13 * e.teeth, lower[:, 1])], 1)
        cv2.fillPoly(img, polygon(np.concatenate([upper, teeth[::-1]])), 200.0)
    f.line(img, upper, lip * 0.45, 0.025)


def render_portrait(
    identity: PortraitIdentity,
    expression: Expression,
    *,
    canvas_size: tuple[int, int],
    centre: tuple[float, float],
    radius: float,
    rng: np.random.Generator,
    noise_sd: float = 2.0,
) -> np.ndarray:
    """Renders one photograph.

    Args:
      identity: the person.
      expression: the face's expression (scaled by the person's expressiveness).
      canvas_size: (height, width) of the image.
      centre: (x, y) of the face centre in pixels.
      radius: half the face's width in pixels.
      rng: source of the pixel noise.
      noise_sd: standard deviation of the gaussian pixel noise.

    Returns:
      uint8 (height, width) gray image.
    """
    ident, r = identity, float(radius)
    e = expression.scaled(ident.expressiveness)
    height, width = canvas_size
    cx, cy = centre
    aspect = ident.face_aspect
    ramp = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    img = np.repeat((ident.background + ident.background_tilt * ramp)[None], height, axis=0)
    face = _Face(cx, cy, r)
    _draw_head(img, face, ident, aspect)

    # Shading works on the head's box only: most of the canvas is background.
    x0, x1 = max(0, int(cx - 1.3 * r)), min(width, int(cx + 1.3 * r) + 1)
    y0, y1 = max(0, int(cy - 1.3 * aspect * r)), min(height, int(cy + 1.2 * aspect * r) + 1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"The face at {centre} with radius {radius} is off the canvas.")
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dist = np.sqrt(((xs - cx) / r) ** 2 + ((ys - cy) / (aspect * r)) ** 2)
    # A rounded, side-lit skin surface: darker towards the outline. The face's
    # own pixels are picked by value (a dist <= 1 test misses outline pixels).
    rounded = 1.0 - 0.30 * np.minimum(dist, 1.0) ** 3 + 0.08 * ident.light * (xs - cx) / r
    on_face = (img[y0:y1, x0:x1] == np.float32(ident.skin)) & (dist < 1.2)
    img[y0:y1, x0:x1] *= np.where(on_face, rounded, 1.0).astype(np.float32)
    eye_y, nose_y, mouth_y = -0.20 * aspect, ident.nose_length * aspect, ident.mouth_height * aspect
    shade = np.ones_like(xs)
    _shade_features(shade, _Face(cx, cy, r, (x0, y0)), ident, e, eye_y, nose_y, mouth_y)
    img[y0:y1, x0:x1] *= cv2.GaussianBlur(shade, (0, 0), 0.05 * r)

    _draw_features(img, face, ident, e, eye_y, nose_y, mouth_y)
    img = cv2.GaussianBlur(img, (0, 0), max(0.5, 0.012 * r))  # Anti-aliasing.
    if noise_sd > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * noise_sd
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
