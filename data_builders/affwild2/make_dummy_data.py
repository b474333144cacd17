"""Writes `dummy_data/`: a hand-made raw Aff-Wild2 release of 16 frames.

Run once (the output is committed); rerunning rewrites the same files:

    python -m data_builders.affwild2.make_dummy_data

Every quirk the builders must handle is here once, and `EXPECTED_EXAMPLES`
(va) and `EXPECTED_BY_CONFIG` say what a correct build yields. Per video,
frame by frame ("." no label, "x" no image), the records of each config:

                       frame: 1 2 3 4 5 6
  train/1-30-640x480   image  o o o x o o
                       VA     v v . v v v    -> 4
                       EXPR   0 . 4 4 4 6    -> 4
                       AU     . a a a a a    -> 4
                       multitask             -> 5 (1 2 3 5 6)
  train/video3_left    image  o o o o o x
                       VA     v . v v v v    -> 4  (one line more than frames;
                       EXPR   1 . 2 2 5      -> 4   line 2 is "-5,0.200")
                       AU     (no file)
                       multitask             -> 4 (1 3 4 5; 2 has no label)
  validation/video7    image  o o o o o
                       VA     v v v v v      -> 5  (one exact "0,0")
                       EXPR   3 3 0 0 . 0    -> 4  (one line more)
                       AU     a a . a a      -> 4
                       multitask             -> 5
"""

from pathlib import Path

import cv2
import numpy as np

from affect_jax.synthetic import face_renderer

DUMMY_DATA = Path(__file__).parent / "dummy_data"
EXPECTED_BY_CONFIG = {
    "va": {"train": 4 + 4, "validation": 5},
    "expr": {"train": 4 + 4, "validation": 4},
    "au": {"train": 4, "validation": 4},
    "multitask": {"train": 5 + 4, "validation": 5},
}
EXPECTED_EXAMPLES = EXPECTED_BY_CONFIG["va"]
EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
AU_HEADER = "AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25"
_NO_AU = "-1,-1,-1,-1,-1,-1,-1,-1"

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
# (task folder, header, {video: lines}); split folders as in _VIDEOS.
_OTHER_TASKS = [
    (
        "EXPR_Set",
        EXPR_HEADER,
        {
            "1-30-640x480": ["0", "-1", "4", "4", "4", "6"],
            "video3_left": ["1", "-1", "2", "2", "5"],
            "video7": ["3", "3", "0", "0", "-1", "0"],
        },
    ),
    (
        "AU_Set",
        AU_HEADER,
        {
            "1-30-640x480": [
                _NO_AU,
                "0,0,0,1,1,0,0,1",
                "0,0,0,1,1,0,0,0",
                "1,1,0,0,0,0,0,1",
                "0,0,1,0,0,1,1,0",
                "0,0,1,0,0,1,0,0",
            ],
            "video7": [
                "1,1,0,0,0,0,0,1",
                "1,0,0,0,0,0,0,1",
                _NO_AU,
                "0,0,0,1,1,0,0,0",
                "0,0,0,0,1,0,0,0",
            ],
        },
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
        for task_folder, header, files in _OTHER_TASKS:
            if video in files:
                path = DUMMY_DATA / "annotations" / task_folder / split_folder / f"{video}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join([header, *files[video]]) + "\n")


if __name__ == "__main__":
    main()
