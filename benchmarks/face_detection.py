r"""False and missed faces and id switches of each detector, on scenes with a known truth.

    python benchmarks/face_detection.py [--frames=60]

Scenes (synthetic/scene_video.py, 640x360): one person who comes and goes, two
who cross, a group of five with faces 40 to 84 px wide, a face that flickers
(in every 4th frame only: must not count), large lettering with no person,
and an empty room. Each detector runs through the same tracking and
confirmation as prediction (inference/video_faces.py), with whole frames
searched every frame (N=1) and every 5th, near the faces between (N=5, the
default); HOG also with N=5 and no search for small faces ("hog-").
Counts are face-frames: a false one is a confirmed face in a frame where no
person is drawn under it (every face on the flickering one is false); a missed
one a drawn person with no face there (a person hidden behind the other while
they cross counts as missed).
"""

import tempfile
from pathlib import Path

import cv2
import numpy as np
from absl import app, flags
from timing import environment_line

from affect_jax.faces.video_io import FrameSource
from affect_jax.inference.video_faces import FaceOptions, find_faces
from affect_jax.synthetic import portrait_video
from affect_jax.synthetic.scene_video import Person, group_with_small_faces, scene_frames

_FRAMES = flags.DEFINE_integer("frames", 60, "Frames per scene.")


def _scenes(count: int) -> dict:
    lettering = [np.full((360, 640), 118, np.uint8) for _ in range(count)]
    for i, frame in enumerate(lettering):  # Titles that slide, as in a video's opening.
        for row, text in enumerate(("HAPPY FACES", "o_O  ^_^  @ @")):
            origin = (40 + i, 120 + 120 * row)
            cv2.putText(frame, text, origin, cv2.FONT_HERSHEY_DUPLEX, 2.6, 20, 6)
    return {
        "comes and goes": [Person(1, range(count // 4, 3 * count // 4), (200, 170), (440, 170))],
        "two crossing": [
            Person(2, range(0, count), (120, 140), (520, 140), radius=55),
            Person(3, range(0, count), (520, 235), (120, 235), radius=55),
        ],
        "group, small": group_with_small_faces(count),
        "flickering face": [Person(4, range(0, count), (320, 180), (320, 180), flicker=4)],
        "lettering": lettering,
        "empty room": [],
    }


def _count(tracks, truth, count: int) -> tuple[int, int, int]:
    """(false face-frames, missed face-frames, id switches) against the truth."""
    false = missed = switches = 0
    owner = {}  # person -> the face_id that followed it last
    for frame in range(count):
        boxes = [(t.face_id, t.boxes[t.frames.index(frame)]) for t in tracks if frame in t.frames]
        matched = set()
        for k in range(len(truth.centres) if truth else 0):
            if not truth.shown[k, frame]:
                continue
            x, y = truth.centres[k, frame]
            hits = [
                fid for fid, b in boxes if b.x <= x <= b.x + b.width and b.y <= y <= b.y + b.height
            ]
            if not hits:
                missed += 1
                continue
            matched.add(hits[0])
            switches += k in owner and owner[k] != hits[0]
            owner[k] = hits[0]
        false += len([fid for fid, _ in boxes if fid not in matched])
    return false, missed, switches


def main(argv) -> None:
    del argv
    print(environment_line())
    count = _FRAMES.value
    print(
        f"{'scene':16s} {'detector':5s}{'N':>3s}"
        + "".join(f"{h:>7s}" for h in ("tracks", "false", "missed", "switch"))
    )
    with tempfile.TemporaryDirectory() as folder:
        for name, scene in _scenes(count).items():
            if scene and isinstance(scene[0], np.ndarray):
                frames, truth = scene, None
            elif scene:
                frames, truth = scene_frames(count, scene)
                if any(person.flicker for person in scene):
                    truth = None  # Its hits are not to count: any face is a false one.
            else:
                frames, truth = [np.full((360, 640), 118, np.uint8)] * count, None
            path = Path(folder) / f"{name.replace(' ', '_')}.avi"
            portrait_video.write_video(frames, path, 25.0, "MJPG")
            for detector, every in (("hog", 1), ("hog", 5), ("hog-", 5), ("haar", 1), ("haar", 5)):
                options = FaceOptions(
                    detector=detector.rstrip("-"),
                    full_search_every=every,
                    small_face_search_every=0 if detector.endswith("-") else 25,
                )
                _, _, tracks = find_faces(FrameSource(path.stem, path), options)
                counts = "".join(f"{n:7d}" for n in (len(tracks), *_count(tracks, truth, count)))
                print(f"{name:16s} {detector:5s}{every:3d}{counts}")


if __name__ == "__main__":
    app.run(main)
