"""Per-image photometric normalisation of gray face crops (`config.input.photometric`).

A CNN trained on one dataset's crops (CK+) and tested on another's (JAFFE)
also meets another lighting. Normalising each crop's intensities on its own
("equalize", "standardize") removes most of a global gain and offset before
the CNN sees it. Every method
maps uint8 to uint8 of the same shape, so the model's input stays what it was
(uint8; the model divides by 255). It is applied at input time, identically
in training (before augmentation), evaluation, feature extraction and
prediction; the built records are untouched.

  "none"         the crop as read (the paper's configs).
  "equalize"     global histogram equalisation (cv2.equalizeHist).
  "clahe"        contrast-limited adaptive histogram equalisation, clip limit 2
                 on 8x8 tiles (OpenCV's usual settings). The limit is the point:
                 on a 96x96 crop (12x12-pixel tiles) each grey level keeps at
                 most 1 count per tile, so CLAHE changes a crop only mildly and
                 does not undo a global gain as "equalize" and "standardize" do.
  "standardize"  z = (x - mean) / std of the crop, stored as 128 + 48 z,
                 rounded and clipped to 0-255 (a flat crop gives 128).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from affect_jax.runtime import ConfigError

CONFIG_FIELD = "config.input.photometric"
NONE = "none"

# 48 grey levels per standard deviation keeps +-2.67 std inside 0-255 (on a
# roughly normal crop, under 1% of pixels clip) at 1 level per 0.02 std.
STANDARD_CENTRE = 128.0
STANDARD_LEVELS_PER_STD = 48.0
CLAHE_CLIP_LIMIT = 2.0
CLAHE_TILES = (8, 8)


def _equalize(image: np.ndarray) -> np.ndarray:
    return cv2.equalizeHist(image)


def _clahe(image: np.ndarray) -> np.ndarray:
    # A new object per crop: a CLAHE object keeps buffers, and Grain reads in threads.
    return cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_TILES).apply(image)


def _standardize(image: np.ndarray) -> np.ndarray:
    pixels = image.astype(np.float64)
    std = pixels.std()
    z = (pixels - pixels.mean()) / std if std > 0 else np.zeros_like(pixels)
    levels = np.rint(STANDARD_CENTRE + STANDARD_LEVELS_PER_STD * z)
    return np.clip(levels, 0, 255).astype(np.uint8)


# Each maps one C-contiguous uint8 (H, W) crop to a new one.
_NORMALISERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "equalize": _equalize,
    "clahe": _clahe,
    "standardize": _standardize,
}
METHODS = (NONE, *_NORMALISERS)


# Each method as someone outside this package would write it.
_RECIPES = {
    NONE: "none: crops go in as cut",
    "equalize": "cv2.equalizeHist(crop)",
    "clahe": f"cv2.createCLAHE(clipLimit={CLAHE_CLIP_LIMIT}, tileGridSize={CLAHE_TILES})"
    ".apply(crop)",
    "standardize": f"clip(rint({STANDARD_CENTRE:g} + {STANDARD_LEVELS_PER_STD:g} * "
    f"(crop - crop.mean()) / crop.std()), 0, 255) (all {STANDARD_CENTRE:g} where std is 0)",
}


def outside_the_graph(method: str) -> str:
    """What an exported folder's reader must do to each uint8 [96, 96] crop before its CNN graph."""
    if check_method(method) == NONE:
        return _RECIPES[NONE]
    return (
        f"{method}, not in the graph: apply {_RECIPES[method]} to each gray crop first "
        "(python -m affect_jax.predict does)"
    )


def check_method(method: str) -> str:
    """`method` if it is one of METHODS.

    Raises:
      ConfigError: naming the config field and the valid values.
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown {CONFIG_FIELD} {method!r}; valid: {', '.join(METHODS)}.")
    return method


def configured_method(config: Any) -> str:
    """A run's `config.input.photometric`, checked; "none" in configs that predate it."""
    section = config.get("input", None)
    return check_method(NONE if section is None else section.get("photometric", NONE))


def normalise_face(image: np.ndarray, method: str) -> np.ndarray:
    """One uint8 gray crop, (H, W) or (H, W, 1), normalised: same shape and dtype.

    "none" returns `image` itself.
    """
    if check_method(method) == NONE:
        return image
    _check_pixels(image, "a crop (H, W) or (H, W, 1)", (2, 3))
    plane = np.ascontiguousarray(image.reshape(image.shape[:2]))
    return _NORMALISERS[method](plane).reshape(image.shape)


def normalise_faces(images: np.ndarray, method: str) -> np.ndarray:
    """A batch of uint8 gray crops, (N, H, W) or (N, H, W, 1), each normalised on its own."""
    if check_method(method) == NONE:
        return images
    _check_pixels(images, "a batch (N, H, W) or (N, H, W, 1)", (3, 4))
    if len(images) == 0:
        return images
    return np.stack([normalise_face(image, method) for image in images]).reshape(images.shape)


def _check_pixels(image: np.ndarray, expected: str, ranks: tuple[int, int]) -> None:
    gray = image.ndim == ranks[0] or (image.ndim == ranks[1] and image.shape[-1] == 1)
    if image.dtype != np.uint8 or not gray:
        raise ValueError(
            f"Photometric normalisation takes uint8 gray faces, {expected}; "
            f"got {image.dtype} {image.shape}."
        )
