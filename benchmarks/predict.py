r"""Video prediction speed: end-to-end frames/s against decoding alone.

    python benchmarks/predict.py [--model=quickstart|reference] [--checkpoint=RUN]
        [--frames=300] [--repeats=3] [--codec=mp4v] [--faces=1,2,4] [--detector=hog]

Writes a 640x360 video of 1, 2 and 4 rendered people (every 10th second-long
stretch without anyone), then times, on the same file, with the project's code:
  1. decoding alone (video_io),
  2. decoding + detection + eyes + tracking (video_faces.find_faces), also
     with every frame searched whole (--full_search_every=1) for the ratio,
  3. end to end: 2 + a second decode with aligned crops + CNN in batches + RNN
     over every full window of each track + interpolation (predict_videos),
  4. 3 + writing the CSV and the timeline PNG.
Without --checkpoint the models are the quickstart (or reference)
architectures with freshly initialized weights: speed does not depend on the
weight values, and nothing has to be trained first. One warm-up pass
(compilation) is excluded; each figure is the median of --repeats passes.
"""

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from absl import app, flags
from timing import environment_line, fresh_model, median_seconds

from affect_jax import host_memory, predict, runtime  # noqa: F401 (predict: its flags, see below)
from affect_jax.faces.video_io import FrameSource
from affect_jax.inference import predict_videos
from affect_jax.inference.video_faces import find_faces
from affect_jax.synthetic import portrait_video
from affect_jax.synthetic.scene_video import Person, scene_frames

_MODEL = flags.DEFINE_enum("model", "quickstart", ["quickstart", "reference"], "Architecture.")
_FRAMES = flags.DEFINE_integer("frames", 300, "Frames in the test video.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed passes per measurement (median).")
_CODEC = flags.DEFINE_enum("codec", "mp4v", ["mp4v", "MJPG"], "mp4v in .mp4 or MJPG in .avi.")
_FACES = flags.DEFINE_list("faces", ["1", "2", "4"], "People in view, one video each.")
# --checkpoint (a trained run instead of fresh weights), --batch_size,
# --detector, --crop and --eyes are affect_jax.predict's own flags.
FLAGS = flags.FLAGS


def _scene(path: Path, faces: int, count: int) -> np.ndarray:
    """A 640x360 video with `faces` people drifting; 1 s without anyone in every 10.

    Returns bool [faces, frames]: where each person is shown.
    """
    gaps = {i for i in range(count) if (i // 25) % 10 == 9}
    shown = [i for i in range(count) if i not in gaps]
    radius = 60.0 if faces == 1 else 42.0
    columns = np.linspace(120, 520, faces) if faces > 1 else [320.0]
    people = [
        Person(
            11 + k,
            range(0, count),
            (x - 30, 150 + 60 * (k % 2)),
            (x + 30, 150 + 60 * (k % 2)),
            radius,
        )
        for k, x in enumerate(columns)
    ]
    frames, truth = scene_frames(count, people)
    blank = np.full_like(frames[0], 118)
    frames = [frame if i in shown else blank for i, frame in enumerate(frames)]
    portrait_video.write_video(frames, path, 25.0, _CODEC.value)
    return truth.shown & np.isin(np.arange(count), shown)[None]


def _time_faces(model, options, faces: int, folder: str) -> None:
    """Times the four stages on a video of `faces` people and prints them."""
    suffix = ".mp4" if _CODEC.value == "mp4v" else ".avi"
    path = Path(folder) / f"bench{suffix}"
    count = _FRAMES.value
    shown = _scene(path, faces, count)
    source = FrameSource(path.stem, path)

    def decode():
        for _ in source.open().frames():
            pass

    def find():
        return find_faces(source, options)[2]

    def find_every_frame_whole():
        return find_faces(source, dataclasses.replace(options, full_search_every=1))[2]

    def end_to_end():
        tracks = find_faces(source, options)[2]
        presents = [np.isin(np.arange(count), track.frames) for track in tracks]
        predict_videos.face_values(model, source, tracks, presents, options)
        return tracks

    def with_files():
        predict_videos.predict_source(model, source, Path(folder), options)

    tracks = end_to_end()  # Warm-up: compiles the CNN and the RNN.
    stages = {
        "decode": decode,
        "find faces, every frame whole": find_every_frame_whole,
        "decode + find and track faces": find,
        "end to end (+ crops, CNN, RNN)": end_to_end,
        "end to end + CSV + PNG": with_files,
    }
    timings = {name: median_seconds(f, _REPEATS.value, warmup=False) for name, f in stages.items()}
    found = sum(len(t.frames) for t in tracks)
    print(
        f"{faces} face(s): {count} frames 640x360 {_CODEC.value}, face-frames drawn "
        f"{int(shown.sum())}, tracks {len(tracks)}, face-frames found {found}"
    )
    decode_rate = count / timings["decode"]
    for name, seconds in timings.items():
        rate = count / seconds
        print(f"  {name:32s} {rate:8.1f} frames/s  ({decode_rate / rate:5.2f}x decode time)")
    rate = count / timings["end to end (+ crops, CNN, RNN)"]
    gain = timings["find faces, every frame whole"] / timings["decode + find and track faces"]
    print(
        f"  end to end: {rate:.1f} frames/s (goal with one face: >= 30 frames/s); finding "
        f"faces {gain:.2f}x faster than searching every frame whole"
    )


def main(argv) -> None:
    del argv
    print(f"{environment_line()}, cv2 threads {__import__('cv2').getNumThreads()}")
    if FLAGS.checkpoint:
        from affect_jax.inference.video_model import load_video_model

        model = load_video_model(FLAGS.checkpoint, batch_size=FLAGS.batch_size)
        description = f"checkpoint {model.rnn_path or model.cnn_path}"
    else:
        model, description = fresh_model(_MODEL.value, FLAGS.batch_size)
    options = predict_videos.Options(
        detector=FLAGS.detector,
        crop=FLAGS.crop,
        eyes=FLAGS.eyes,
        full_search_every=FLAGS.full_search_every,
    )
    print(
        f"{description}; batch {FLAGS.batch_size}; {options.detector} faces, {options.crop} crops"
    )
    for faces in _FACES.value:
        with tempfile.TemporaryDirectory() as folder:
            _time_faces(model, options, int(faces), folder)


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    host_memory.return_large_blocks()  # As predict does (startup.py).
    app.run(main)
