"""How a face is framed for the CNN, by name, and the cropper of still images that applies it.

A framing is the whole recipe from photo to model input: which detector finds
the face, whether the eyes are put where a template has them (or the
detector's box is taken as it is), the margin, then 96x96 gray. The builders
of still photos (`ck_plus`, `jaffe`, `face_folders/detect`) cut every face
with `StillFaceCropper`, a build records its framing, a training run records
its dataset's, and prediction frames faces the same way
(affect_jax/inference/video_faces.py), so that source, target and prediction
see the same part of the face.

    haar_box  the paper's crop: the Haar cascade's box, resized, no rotation.
    aligned   dlib's HOG detector, eyes level on the 112x112 five-point
              template (like Aff-Wild2's cropped_aligned frames): brows to
              chin, whatever the photo's own framing. The builders' default.

Images too small for the detectors (class folders of 48x48 crops) are
upscaled and given a border first; where still no face is found in a face
crop (`FACE_CROP_SIDE`), it is taken whole as the face and counted.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from affect_jax.faces import align, detect
from affect_jax.faces.detect import Box, Detection
from affect_jax.runtime import ConfigError


@dataclasses.dataclass(frozen=True)
class Framing:
    """One named way to cut a face out.

    Attributes:
      name: what builds, runs and `predict --framing` call it.
      detector: "haar" or "hog" (affect_jax/faces/detectors.py).
      aligned: put the eyes on the template (else the detector's box as is).
      margin: border around the face on each side, as a fraction of its size.
      description: one line for help texts and reports.
    """

    name: str
    detector: str
    aligned: bool
    margin: float = 0.0
    description: str = ""

    @property
    def crop(self) -> str:
        """The matching `predict --crop` value."""
        return "aligned" if self.aligned else "box"


HAAR_BOX = Framing(
    "haar_box", "haar", aligned=False, description="The paper's: the Haar cascade's box, resized."
)
ALIGNED = Framing(
    "aligned",
    "hog",
    aligned=True,
    description="HOG face, eyes level on the 112x112 five-point template (brows to chin).",
)
FRAMINGS = {f.name: f for f in (HAAR_BOX, ALIGNED)}
DEFAULT_FRAMING = ALIGNED.name
# The keys of a framing's name and of the border added around it (a fraction of
# the face, `Framing.margin`) in a build's metadata.json and a run's training data.
FRAMING_KEY = "framing"
FACE_MARGIN_KEY = "face_margin"

# Below this side the detectors miss faces that fill the image (Haar's window
# is 24 px, HOG's 80): such images are searched upscaled to it, with a border.
SMALL_IMAGE_SIDE = 160
# Images no larger than this (shorter side) are face crops, not photos: FER2013
# and CK+48 are 48x48, RAF-DB's aligned faces 100x100, Aff-Wild2's 112x112.
# Where no face is found in one, the whole image is the face.
FACE_CROP_SIDE = 112
_BORDER_FRACTION = 0.25


def framing_named(name: str) -> Framing:
    """The framing called `name`; ConfigError naming the valid ones otherwise."""
    if name not in FRAMINGS:
        raise ConfigError(
            f"Unknown framing {name!r}; valid: {', '.join(FRAMINGS)} (affect_jax/faces/framing.py)."
        )
    return FRAMINGS[name]


@dataclasses.dataclass(frozen=True)
class StillCrop(detect.FaceCrop):
    """A `FaceCrop` that also says how it was cut.

    Attributes:
      taken_whole: no face was found in a small image, so the whole image is the face.
      transform: the 2x3 map from image pixels to crop pixels (None when skipped).
      score: the detector's confidence in the face (NaN where none was found).
    """

    taken_whole: bool = False
    transform: np.ndarray | None = None
    score: float = float("nan")


def _search_image(gray: np.ndarray) -> tuple[np.ndarray, float, int]:
    """(the image the detector searches, its scale, its border) for a still photo."""
    side = min(gray.shape)
    if side >= SMALL_IMAGE_SIDE:
        return gray, 1.0, 0
    scale = SMALL_IMAGE_SIDE / side
    large = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    border = round(_BORDER_FRACTION * SMALL_IMAGE_SIDE)
    padded = cv2.copyMakeBorder(large, border, border, border, border, cv2.BORDER_REPLICATE)
    return padded, scale, border


def _box_matrix(box: Box, margin: float, size: int) -> np.ndarray:
    """The 2x3 map that sends `box` grown by `margin` onto a size x size crop."""
    grown_width, grown_height = box.width * (1 + 2 * margin), box.height * (1 + 2 * margin)
    x0, y0 = box.x - box.width * margin, box.y - box.height * margin
    sx, sy = size / grown_width, size / grown_height
    return np.array([[sx, 0.0, -sx * x0], [0.0, sy, -sy * y0]])


def _box_crop(gray: np.ndarray, box: Box, matrix: np.ndarray, margin: float, size: int):
    """The paper's resize of the box (area-averaged) where it lies in the image, else a warp."""
    x1, y1 = box.x + box.width * (1 + margin), box.y + box.height * (1 + margin)
    x0, y0 = box.x - box.width * margin, box.y - box.height * margin
    if x0 >= 0 and y0 >= 0 and x1 <= gray.shape[1] and y1 <= gray.shape[0]:
        return detect.crop_face(gray, box, margin, size)
    return align.warp_crop(gray, matrix, size)


class StillFaceCropper:
    """`crop(image) -> StillCrop`: the largest face of a photo, framed by a `Framing`.

    One cropper per thread: OpenCV's cascade keeps per-image state.
    """

    def __init__(self, framing: Framing | str = DEFAULT_FRAMING, eyes: str = "auto"):
        from affect_jax.faces.detectors import make_detector  # dlib loads only when asked.

        self.framing = framing_named(framing) if isinstance(framing, str) else framing
        self.detector = make_detector(self.framing.detector, detect_width=0)
        self.eye_finder = None
        if self.framing.aligned:
            self.eye_finder = align.EyeFinder(eyes, self.framing.detector)

    def _find(self, gray: np.ndarray) -> tuple[Detection | None, np.ndarray | None, int]:
        """(largest face, its eyes or None, faces found), in `gray`'s pixels."""
        search, scale, border = _search_image(gray)
        found = self.detector.detect_scored(search)
        box = detect.largest_face([d.box for d in found])
        if box is None:
            return None, None, 0
        score = next(d.score for d in found if d.box == box)
        eyes = self.eye_finder.eyes(search, box) if self.eye_finder else None
        if scale != 1.0 or border:
            eyes = None if eyes is None else (eyes - border) / scale
            box = Box(
                round((box.x - border) / scale),
                round((box.y - border) / scale),
                max(1, round(box.width / scale)),
                max(1, round(box.height / scale)),
            )
        return Detection(box, score), eyes, len(found)

    def crop(
        self,
        image: np.ndarray,
        *,
        no_face_policy: str = detect.SKIP,
        size: int = detect.MODEL_IMAGE_SIZE,
    ) -> StillCrop:
        """The framed crop of the largest face; see the module docstring for small images."""
        if no_face_policy not in detect.NO_FACE_POLICIES:
            raise ValueError(
                f"Unknown no-face policy {no_face_policy!r}; use one of {detect.NO_FACE_POLICIES}."
            )
        gray = detect.to_gray(image)
        detection, eyes, count = self._find(gray)
        box = detection.box if detection else None
        taken_whole = False
        if box is None:
            if min(gray.shape) <= FACE_CROP_SIDE:
                box, taken_whole = Box(0, 0, gray.shape[1], gray.shape[0]), True
            elif no_face_policy == detect.SKIP:
                return StillCrop(image=None, box=None, found=False, num_faces=0)
            else:
                box = detect.center_square(gray.shape)
        if self.eye_finder is not None:
            if eyes is None:  # Taken whole or centre-cropped: the eyes the box implies.
                eyes = self.eye_finder.from_box(box)
            matrix = align.alignment_matrix(eyes, size, self.framing.margin)
            face = align.warp_crop(gray, matrix, size)
        else:
            matrix = _box_matrix(box, self.framing.margin, size)
            face = _box_crop(gray, box, matrix, self.framing.margin, size)
        return StillCrop(
            image=face,
            box=box,
            found=count > 0,
            num_faces=count,
            taken_whole=taken_whole,
            transform=matrix,
            score=detection.score if detection else float("nan"),
        )
