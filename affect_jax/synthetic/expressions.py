"""The eight CK+ expression classes as drawable face configurations.

Each class has a peak configuration of mouth, eyes, brows and wrinkles,
chosen after the action units that define it (e.g. happy: cheeks raised, lip
corners pulled up; contempt: one lip corner raised). Neutral is all zeros, so
an expression of intensity t is simply t times its peak: a CK+ sequence
going from neutral to peak is a ramp of t from 0 to 1.

Classes share cues (fear and surprise both raise the brows and open the eyes)
the way real expressions do, but every class has at least one cue no other
class has at the same strength, so the classes are learnable.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from affect_jax.tasks.labels import CK_PLUS_EMOTIONS

# CK+ emotion codes, in code order (code = index).
CK_PLUS_CLASSES = CK_PLUS_EMOTIONS


@dataclasses.dataclass(frozen=True)
class Expression:
    """How far each facial cue is from neutral; 0 everywhere is neutral.

    Attributes:
      mouth_curve: + lip corners up (smile), - down (frown).
      mouth_open: 0 closed .. 1 wide open (jaw drop).
      mouth_width: + corners stretched sideways, - lips pushed together
        (pressed or rounded).
      mouth_asymmetry: + the right lip corner alone pulled up (contempt).
      teeth: 0..1, how much of the upper teeth an open mouth shows.
      eye_open: + wider (upper lids raised), - narrowed.
      brow_raise: + brows up, - brows down.
      brow_inner: + inner ends up (worry), - inner ends down (frown).
      brow_squeeze: + brows drawn together.
      nose_wrinkle: 0..1, wrinkles across the nose and raised upper lip.
      cheek_raise: 0..1, raised cheeks pushing up the lower lids.
      forehead_lines: 0..1, horizontal forehead wrinkles.
    """

    mouth_curve: float = 0.0
    mouth_open: float = 0.0
    mouth_width: float = 0.0
    mouth_asymmetry: float = 0.0
    teeth: float = 0.0
    eye_open: float = 0.0
    brow_raise: float = 0.0
    brow_inner: float = 0.0
    brow_squeeze: float = 0.0
    nose_wrinkle: float = 0.0
    cheek_raise: float = 0.0
    forehead_lines: float = 0.0

    def scaled(self, intensity: float) -> Expression:
        """This expression at `intensity` (0 neutral, 1 this one)."""
        return Expression(
            **{f.name: getattr(self, f.name) * intensity for f in dataclasses.fields(self)}
        )


NEUTRAL = Expression()

PEAKS: dict[str, Expression] = {
    "neutral": NEUTRAL,
    # AU4 brow lowerer, AU5/7 lids tightened, AU23/24 lips pressed.
    "anger": Expression(
        mouth_curve=-0.25,
        mouth_width=-0.35,
        eye_open=-0.25,
        brow_raise=-0.8,
        brow_inner=-1.0,
        brow_squeeze=1.0,
    ),
    # AU14 on one side only: the one asymmetric class.
    "contempt": Expression(mouth_asymmetry=1.0, mouth_curve=0.05, eye_open=-0.1),
    # AU9 nose wrinkler, AU10 upper lip raiser.
    "disgust": Expression(
        mouth_curve=-0.35,
        mouth_open=0.25,
        teeth=0.6,
        eye_open=-0.5,
        brow_raise=-0.45,
        brow_inner=-0.3,
        nose_wrinkle=1.0,
        cheek_raise=0.4,
    ),
    # AU1+2+4 raised and drawn together, AU5 lids up, AU20 lips stretched.
    "fear": Expression(
        mouth_curve=-0.2,
        mouth_open=0.45,
        mouth_width=0.55,
        teeth=0.9,
        eye_open=0.9,
        brow_raise=0.6,
        brow_inner=0.8,
        brow_squeeze=0.8,
        forehead_lines=0.5,
    ),
    # AU6 cheek raiser, AU12 lip corner puller.
    "happy": Expression(
        mouth_curve=1.0,
        mouth_open=0.35,
        mouth_width=0.4,
        teeth=1.0,
        eye_open=-0.35,
        cheek_raise=1.0,
    ),
    # AU1+4 inner brows up, AU15 lip corners down.
    "sadness": Expression(
        mouth_curve=-0.9,
        mouth_width=-0.1,
        eye_open=-0.3,
        brow_inner=1.0,
        brow_raise=0.05,
    ),
    # AU1+2 brows up, AU5 lids up, AU26/27 jaw drop: a round open mouth.
    "surprise": Expression(
        mouth_open=1.0,
        mouth_width=-0.45,
        eye_open=1.0,
        brow_raise=1.0,
        forehead_lines=1.0,
    ),
}


def expression(label: int | str, intensity: float = 1.0) -> Expression:
    """The expression of a CK+ class (code or name) at `intensity` in [0, 1]."""
    name = CK_PLUS_CLASSES[label] if isinstance(label, int | np.integer) else label
    if name not in PEAKS:
        raise ValueError(f"Unknown expression {label!r}; use a code 0-7 or {CK_PLUS_CLASSES}.")
    return PEAKS[name].scaled(float(intensity))


def onset_ramp(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Intensities of a posed CK+ sequence: 0 at the first frame, 1 at the last.

    The expression builds up smoothly (a smoothstep after a random onset
    delay) and reaches its apex three frames before the end, so the last
    three frames, which the reference labels with the sequence's emotion, are
    all near the peak (0.92, 0.96, 1), as in CK+.
    """
    if num_frames == 1:
        return np.ones(1)
    onset = max(num_frames - 3, 1)
    t = np.minimum(np.arange(num_frames) / onset, 1.0)
    delay = rng.uniform(0.0, 0.3) if onset > 3 else 0.0
    u = np.clip((t - delay) / (1.0 - delay), 0.0, 1.0)
    ramp = 0.92 * u * u * (3.0 - 2.0 * u)  # 0.92 at index num_frames - 3.
    ramp[-2:] = (0.96, 1.0)
    ramp[0] = 0.0
    return ramp
