"""Writes `dummy_data/`: a hand-made raw CK+ release of 10 subjects, 45 frames.

Run once (the output is committed); rerunning rewrites the same files:

    python -m data_builders.ck_plus.make_dummy_data

The frames are synthetic (`affect_jax.synthetic.portrait_renderer`) and small
(160x122, noise-free) to keep the fixture small; the builder does not care
about the frame size. Ten subjects with a labelled sequence each, so that each
of the ten folds has a test subject. Every quirk the builder must handle is
here once:

  S010/001  surprise, 6 frames: frames 2-3 are neither first nor last three
  S011/001  anger, stored as colour (3-channel) frames
  S011/002  no label; its Emotion folder holds only a macOS .DS_Store (git
            keeps no empty folders; the synthetic layouts have empty ones)
  S014/002  no label, no Emotion folder                     -> no examples
  S022/003  contempt; sequence numbers with gaps
  S026/001  fear; its last frame shows no face              -> skipped, reported
  S037/002  happy; emotion file without a trailing newline
"""

from pathlib import Path

import cv2
import numpy as np

from affect_jax.synthetic import ck_plus_layout, expressions, portrait_renderer

DUMMY_DATA = Path(__file__).parent / "dummy_data"
IMAGE_SIZE = (122, 160)
# Frames in which no face can be found: (subject, sequence, frame).
NO_FACE_FRAMES = [("S026", "001", 4)]
# What a correct build over all subjects yields (no-face frames skipped).
EXPECTED_EXAMPLES = 10 * 4 - len(NO_FACE_FRAMES)

# subject, sequence, emotion code (None: unlabelled), frames, colour, Emotion folder.
_SEQUENCES = [
    ("S010", "001", 7, 6, False, True),
    ("S011", "001", 1, 4, True, True),
    ("S011", "002", None, 2, False, True),
    ("S014", "001", 3, 4, False, True),
    ("S014", "002", None, 2, False, False),
    ("S022", "003", 2, 4, False, True),
    ("S026", "001", 4, 4, False, True),
    ("S029", "001", 5, 4, False, True),
    ("S032", "004", 6, 4, False, True),
    ("S034", "001", 3, 4, False, True),
    ("S037", "002", 5, 4, False, True),
    ("S042", "001", 7, 4, False, True),
]


def main() -> None:
    height, width = IMAGE_SIZE
    identities = {}
    for subject, sequence, code, num_frames, colour, emotion_folder in _SEQUENCES:
        if subject not in identities:
            identities[subject] = portrait_renderer.random_identity(
                np.random.default_rng(int(subject[1:]))
            )
        rng = np.random.default_rng([int(subject[1:]), int(sequence)])
        peak = expressions.expression(code if code is not None else 5, 1.0)
        folder = DUMMY_DATA / ck_plus_layout.IMAGES_FOLDER / subject / sequence
        folder.mkdir(parents=True, exist_ok=True)
        for index, intensity in enumerate(expressions.onset_ramp(num_frames, rng)):
            frame = index + 1
            image = portrait_renderer.render_portrait(
                identities[subject],
                peak.scaled(intensity),
                canvas_size=(height - 2 * colour, width),
                centre=(width / 2 + rng.normal(0, 2), 0.46 * height),
                radius=0.16 * width,
                rng=rng,
                noise_sd=0.0,
            )
            if (subject, sequence, frame) in NO_FACE_FRAMES:
                image = np.full_like(image, image[0, 0])  # The subject left the frame.
            if colour:
                image = cv2.merge([image, image, np.clip(image * 1.04, 0, 255).astype(np.uint8)])
            ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            assert ok
            (folder / f"{subject}_{sequence}_{frame:08d}.png").write_bytes(png.tobytes())
        emotion_dir = DUMMY_DATA / ck_plus_layout.EMOTION_FOLDER / subject / sequence
        if emotion_folder:
            emotion_dir.mkdir(parents=True, exist_ok=True)
            if code is None:
                (emotion_dir / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        if code is not None:
            text = ck_plus_layout.format_emotion(code)
            if subject == "S037":
                text = text.rstrip("\n")
            (emotion_dir / f"{subject}_{sequence}_{num_frames:08d}_emotion.txt").write_text(text)


if __name__ == "__main__":
    main()
