"""Writes `dummy_data/`: a hand-made raw Aff-Wild2 release of 16 frames.

Run once (the output is committed); rerunning rewrites the same files:

    python -m data_builders.affwild2.make_dummy_data

Every quirk the builder must handle is here once, and `EXPECTED_EXAMPLES`
says what a correct build yields:

  train/1-30-640x480   6 lines, line 3 is "-5,-5", frame 4 has no image -> 4
  train/video3_left    6 lines for 5 images (one line too many),
                       line 2 is "-5,0.200" (one value unannotated)     -> 4
  validation/video7    5 lines, 5 images, one exact "0,0" label         -> 5
"""

from pathlib import Path

import cv2
import numpy as np

from affect_jax.synthetic import face_renderer

DUMMY_DATA = Path(__file__).parent / "dummy_data"
EXPECTED_EXAMPLES = {"train": 4 + 4, "validation": 5}

# split folder, video, annotation lines, frames with an image.
_VIDEOS = [
    (
        "Training_Set",
        "1-30-640x480",
        ["0.100,0.200", "0.150,0.250", "-5,-5", "0.250,0.300", "0.300,0.350", "0.350,0.400"],
        [1, 2, 3, 5, 6],
    ),
    (
        "Training_Set",
        "video3_left",
        [
            "-0.500,0.700",
            "-5,0.200",
            "-0.400,0.600",
            "-0.350,0.550",
            "-0.300,0.500",
            "-0.250,0.450",
        ],
        [1, 2, 3, 4, 5],
    ),
    (
        "Validation_Set",
        "video7",
        ["0.800,-0.300", "0.750,-0.250", "0,0", "0.650,-0.150", "0.600,-0.100"],
        [1, 2, 3, 4, 5],
    ),
]


def main() -> None:
    for person, (split_folder, video, lines, images) in enumerate(_VIDEOS):
        rng = np.random.default_rng(person)
        identity = face_renderer.random_identity(rng)
        annotation = DUMMY_DATA / "annotations" / "VA_Set" / split_folder / f"{video}.txt"
        annotation.parent.mkdir(parents=True, exist_ok=True)
        annotation.write_text("\n".join(["valence,arousal", *lines]) + "\n")
        frame_dir = DUMMY_DATA / "cropped_aligned" / video
        frame_dir.mkdir(parents=True, exist_ok=True)
        for frame in images:
            valence, arousal = (max(float(x), -1.0) for x in lines[frame - 1].split(","))
            image = face_renderer.render_face(identity, valence, arousal, 0.0, 0.0, rng)
            # Quality 75 keeps the committed fixture small.
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 75])
            assert ok
            (frame_dir / f"{frame:05d}.jpg").write_bytes(jpeg.tobytes())


if __name__ == "__main__":
    main()
