"""Videos of several rendered people moving along known paths, for the face-tracking tests.

Each person (portrait_renderer.py) is in view for some frames, moves in a
straight line, may be tilted, and may flicker (shown in isolated frames only,
like a face-like pattern a detector hits now and then). Returned with the
truth: where each person's face centre and eyes are in every frame.

    frames, truth = scene_frames(60, [Person(1, range(0, 60), (150, 160), (490, 160))])
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from affect_jax.synthetic import expressions, portrait_renderer


@dataclasses.dataclass(frozen=True)
class Person:
    """One face in the scene.

    Attributes:
      seed: picks the identity.
      frames: the frames it is in view.
      start, end: (x, y) of the face centre at the first and last of those frames.
      radius: half the face's width in pixels.
      tilt_degrees: in-plane rotation (counter-clockwise in the image).
      flicker: if > 0, shown only every `flicker`-th frame of `frames`.
    """

    seed: int
    frames: range
    start: tuple[float, float]
    end: tuple[float, float]
    radius: float = 60.0
    tilt_degrees: float = 0.0
    flicker: int = 0

    def centre(self, frame: int) -> tuple[float, float]:
        span = max(len(self.frames) - 1, 1)
        t = (frame - self.frames.start) / span
        return tuple(a + t * (b - a) for a, b in zip(self.start, self.end, strict=True))

    def shown(self, frame: int) -> bool:
        if frame not in self.frames:
            return False
        return not self.flicker or (frame - self.frames.start) % self.flicker == 0


@dataclasses.dataclass(frozen=True)
class Truth:
    """Per person and frame: face centre [frames, 2], eye centres [frames, 2, 2]; NaN: absent."""

    centres: np.ndarray
    eyes: np.ndarray
    shown: np.ndarray  # bool [people, frames]


def _rotation(centre, degrees: float) -> np.ndarray:
    return cv2.getRotationMatrix2D(tuple(float(c) for c in centre), degrees, 1.0)


def group_with_small_faces(num_frames: int) -> list[Person]:
    """Five people drifting right in 640x360, faces 40, 48, 60, 72 and 84 px wide.

    The smallest is below what HOG finds at 640 px (80 px); the second is found
    at two search sizes as two boxes, one inside the other.
    """
    placed = [(60, 110, 20.0), (170, 250, 24.0), (290, 130, 30.0), (420, 230, 36.0)]
    placed.append((560, 140, 42.0))
    return [
        Person(20 + k, range(0, num_frames), (x, y), (x + 30, y), radius)
        for k, (x, y, radius) in enumerate(placed)
    ]


def scene_frames(
    num_frames: int,
    people: list[Person],
    *,
    size: tuple[int, int] = (360, 640),
    seed: int = 0,
) -> tuple[list[np.ndarray], Truth]:
    """Gray frames (height, width) of `people` on a plain background, and the truth."""
    rng = np.random.default_rng(seed)
    identities = [portrait_renderer.random_identity(np.random.default_rng(p.seed)) for p in people]
    height, width = size
    centres = np.full((len(people), num_frames, 2), np.nan)
    eyes = np.full((len(people), num_frames, 2, 2), np.nan)
    shown = np.zeros((len(people), num_frames), bool)
    frames = []
    for i in range(num_frames):
        frame = np.full(size, 118.0, np.float32) + rng.normal(0.0, 2.0, size)
        for k, (person, identity) in enumerate(zip(people, identities, strict=True)):
            if not person.shown(i):
                continue
            centre = person.centre(i)
            smile = np.sin(2 * np.pi * i / max(num_frames, 1))
            expression = expressions.expression("happy" if smile >= 0 else "sadness", abs(smile))
            face = portrait_renderer.render_portrait(
                identity, expression, canvas_size=size, centre=centre, radius=person.radius, rng=rng
            ).astype(np.float32)
            mask = np.zeros(size, np.float32)
            axes = (int(1.35 * person.radius), int(1.35 * identity.face_aspect * person.radius))
            cv2.ellipse(mask, tuple(int(c) for c in centre), axes, 0, 0, 360, 1.0, -1)
            eye_y = centre[1] - 0.20 * identity.face_aspect * person.radius
            spacing = identity.eye_spacing * person.radius
            person_eyes = np.array([[centre[0] - spacing, eye_y], [centre[0] + spacing, eye_y]])
            if person.tilt_degrees:
                matrix = _rotation(centre, person.tilt_degrees)
                face = cv2.warpAffine(
                    face, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE
                )
                mask = cv2.warpAffine(mask, matrix, (width, height))
                person_eyes = person_eyes @ matrix[:, :2].T + matrix[:, 2]
            mask = cv2.GaussianBlur(mask, (0, 0), 3.0)
            frame = frame * (1 - mask) + face * mask
            centres[k, i], eyes[k, i], shown[k, i] = centre, person_eyes, True
        frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return frames, Truth(centres, eyes, shown)
