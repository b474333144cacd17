r"""Video prediction speed: end-to-end frames/s against decoding alone.

    python benchmarks/predict.py [--model=quickstart|reference] [--checkpoint=RUN]
        [--frames=300] [--repeats=3] [--codec=mp4v] [--full_frame_detection]

Writes a 640x360 video of a rendered portrait (every 10th second-long stretch
without a face), then times, on the same file, with the project's code:
  1. decoding alone (video_io),
  2. decoding + gray + Haar face tracking (face_tracking),
  3. end to end: 2 + crops + CNN in batches + RNN over every full window
     + interpolation (predict_videos.track_and_embed, VideoModel.values),
  4. 3 + writing the CSV and the timeline PNG.
Without --checkpoint the models are the quickstart (or reference)
architectures with freshly initialized weights: speed does not depend on the
weight values, and nothing has to be trained first. One warm-up pass
(compilation) is excluded; each figure is the median of --repeats passes.
"""

import tempfile
from pathlib import Path

import jax
import numpy as np
from absl import app, flags
from timing import environment_line, median_seconds

from affect_jax import runtime
from affect_jax.config import load_config
from affect_jax.faces.track import FaceTracker
from affect_jax.faces.video_io import FrameSource
from affect_jax.inference import predict_videos
from affect_jax.models.registry import create_model
from affect_jax.synthetic import portrait_video
from affect_jax.training import sharding, steps

_MODEL = flags.DEFINE_enum("model", "quickstart", ["quickstart", "reference"], "Architecture.")
_FRAMES = flags.DEFINE_integer("frames", 300, "Frames in the test video.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed passes per measurement (median).")
_CODEC = flags.DEFINE_enum("codec", "mp4v", ["mp4v", "MJPG"], "mp4v in .mp4 or MJPG in .avi.")
# --checkpoint (a trained run instead of fresh weights), --batch_size and
# --full_frame_detection are affect_jax.predict's own flags.
FLAGS = flags.FLAGS


def fresh_model(kind: str, batch_size: int):
    """A VideoModel of the `kind` CNN + GRU configs with initialized weights."""
    from affect_jax.inference.video_model import VideoModel

    arg = "quickstart" if kind == "quickstart" else ""
    cnn_config = load_config("affwild2_cnn", arg)
    rnn_config = load_config("affwild2_rnn", arg)
    mesh = sharding.make_data_mesh()
    cnn_state = steps.create_train_state(
        create_model(cnn_config), cnn_config, mesh, jax.ShapeDtypeStruct((1, 96, 96, 1), np.uint8)
    )
    window, width = rnn_config.rnn.window, cnn_config.model.feature_dim
    rnn_state = steps.create_train_state(
        create_model(rnn_config),
        rnn_config,
        mesh,
        jax.ShapeDtypeStruct((1, window, width), np.float32),
    )
    description = (
        f"{kind} CNN conv {tuple(cnn_config.model.conv_features)}, {width} features; "
        f"GRU {tuple(rnn_config.model.layer_sizes)}, W={window}, target {rnn_config.rnn.target}"
    )
    model = VideoModel(
        cnn_state,
        "fresh",
        (0, 1),
        mesh,
        batch_size,
        rnn_state=rnn_state,
        rnn_path="fresh",
        window=window,
        target=rnn_config.rnn.target,
        feature_dtype="float16",
    )
    return model, description


def main(argv) -> None:
    del argv
    print(f"{environment_line()}, cv2 threads {__import__('cv2').getNumThreads()}")
    if FLAGS.checkpoint:
        from affect_jax.inference.video_model import load_video_model

        model = load_video_model(FLAGS.checkpoint, batch_size=FLAGS.batch_size)
        description = f"checkpoint {model.rnn_path or model.cnn_path}"
    else:
        model, description = fresh_model(_MODEL.value, FLAGS.batch_size)
    with tempfile.TemporaryDirectory() as folder:
        suffix = ".mp4" if _CODEC.value == "mp4v" else ".avi"
        path = Path(folder) / f"bench{suffix}"
        count = _FRAMES.value
        gaps = [i for i in range(count) if (i // 25) % 10 == 9]  # 1 s without a face in 10.
        face = portrait_video.write_portrait_video(
            path, count, size=(360, 640), no_face=gaps, fourcc=_CODEC.value
        )
        source = FrameSource(path.stem, path)
        options = predict_videos.Options(search_region=not FLAGS.full_frame_detection)

        def decode():
            for _ in source.open().frames():
                pass

        def detect():
            tracker = FaceTracker(detect.FaceDetector(), search_region=options.search_region)
            for frame in source.open().frames():
                tracker.track(detect.to_gray(frame))

        def end_to_end():
            _, boxes, outputs, features = predict_videos.track_and_embed(model, source, options)
            mask = np.array([b is not None for b in boxes])
            model.values(mask, features, outputs, source.name)
            return mask

        def with_files():
            predict_videos.predict_source(model, source, Path(folder), options)

        found = end_to_end()  # Warm-up: compiles the CNN and the RNN.
        timings = {
            "decode": median_seconds(decode, _REPEATS.value, warmup=False),
            "decode + face tracking": median_seconds(detect, _REPEATS.value, warmup=False),
            "end to end (+ CNN + RNN)": median_seconds(end_to_end, _REPEATS.value, warmup=False),
            "end to end + CSV + PNG": median_seconds(with_files, _REPEATS.value, warmup=False),
        }
    search = "whole frames" if FLAGS.full_frame_detection else "near the last face first"
    print(f"{description}; batch {FLAGS.batch_size}; face search: {search}")
    print(
        f"video: {count} frames 640x360 {_CODEC.value}, face drawn in {int(face.sum())}, "
        f"found in {int(found.sum())} (missed {int((face & ~found).sum())}, "
        f"extra {int((~face & found).sum())})"
    )
    decode_rate = count / timings["decode"]
    for name, seconds in timings.items():
        rate = count / seconds
        print(f"  {name:28s} {rate:8.1f} frames/s  ({decode_rate / rate:5.2f}x decode time)")
    rate = count / timings["end to end (+ CNN + RNN)"]
    print(
        f"ratio end-to-end / decode-only frames/s: {rate / decode_rate:.3f} (goal: >= 30 frames/s)"
    )


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    app.run(main)
