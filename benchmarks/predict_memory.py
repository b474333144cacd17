r"""Prediction's peak memory and time per frame against video length.

    python benchmarks/predict_memory.py [--model=reference|quickstart] [--frames=472,1416,4720]

Writes a 640x360 video of one rendered person per length (one 472-frame clip
repeated, as issue 33 measured a real 472-frame clip and the same face over
4,720 frames), then predicts each in a process of its own with the project's
code, end to end (faces, eyes, aligned crops, CNN in batches, GRU over every
window, CSV and timeline PNG), and reports the peak RSS of the prediction
itself (counted from after the model is built: building and compiling peak
alone) and seconds per frame. Twice: as `predict` runs (large blocks mapped
apart and handed back when freed, host_memory.return_large_blocks) and with
the training commands' setting that keeps freed memory, the main cause of the
growth issue 33 measured. The models are
freshly initialized (memory and speed do not depend on the weight values).
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from absl import app, flags

_MODEL = flags.DEFINE_enum("model", "reference", ["quickstart", "reference"], "Architecture.")
_FRAMES = flags.DEFINE_list("frames", ["472", "1416", "4720"], "Video lengths.")
_CHILD = flags.DEFINE_string("child", None, "Internal: predict this video and print JSON.")
_KEEP = flags.DEFINE_bool("keep_freed_memory", False, "Internal: the child's memory setting.")
_CLIP = 472


def _child(video: str) -> None:
    from affect_jax import host_memory, runtime

    runtime.apply_fast_cpu_flags()
    if _KEEP.value:
        host_memory.keep_freed_memory()
    else:
        host_memory.return_large_blocks()  # As predict does (startup.py).
    from timing import fresh_model

    from affect_jax.faces.video_io import FrameSource
    from affect_jax.inference import predict_videos

    model, description = fresh_model(_MODEL.value, 64)
    source, out = FrameSource(Path(video).stem, Path(video)), Path(video).parent / "out"
    out.mkdir(exist_ok=True)
    host_memory.reset_peak_rss()
    start = time.perf_counter()
    predict_videos.predict_source(model, source, out, predict_videos.Options())
    seconds = time.perf_counter() - start
    rows = len((out / f"{source.name}.csv").read_text().splitlines()) - 1
    result = {"peak_mb": host_memory.peak_rss_mb(), "seconds": seconds, "rows": rows}
    print(json.dumps({**result, "model": description}))


def _write_video(path: Path, frames: int) -> None:
    from affect_jax.synthetic import portrait_video
    from affect_jax.synthetic.scene_video import Person, scene_frames

    clip, _ = scene_frames(_CLIP, [Person(11, range(_CLIP), (290, 150), (350, 150), 60.0)])
    portrait_video.write_video((clip * (frames // _CLIP + 1))[:frames], path, 25.0, "mp4v")


def _measure(video: Path, keep: bool) -> dict:
    command = [sys.executable, __file__, f"--child={video}", f"--model={_MODEL.value}"]
    command.append("--keep_freed_memory" if keep else "--nokeep_freed_memory")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv) -> None:
    del argv
    if _CHILD.value:
        _child(_CHILD.value)
        return
    from timing import environment_line

    print(environment_line())
    lengths = [int(n) for n in _FRAMES.value]
    with tempfile.TemporaryDirectory() as folder:
        for keep in (False, True):
            setting = "freed memory kept (training's setting)" if keep else "as predict runs"
            rows = []
            for frames in lengths:
                video = Path(folder) / f"face_{frames}.mp4"
                if not video.exists():
                    _write_video(video, frames)
                rows.append((frames, _measure(video, keep)))
            print(f"{rows[0][1]['model']}; {setting}")
            for frames, result in rows:
                growth = result["peak_mb"] - rows[0][1]["peak_mb"]
                print(
                    f"  {frames:6d} frames: peak RSS {result['peak_mb']:7.1f} MB "
                    f"({growth:+6.1f} MB), {1000 * result['seconds'] / frames:6.2f} ms/frame "
                    f"({result['rows']} CSV rows)"
                )
            per_frame = [r["seconds"] / f for f, r in rows]
            print(
                f"  growth {rows[-1][1]['peak_mb'] - rows[0][1]['peak_mb']:+.1f} MB from "
                f"{lengths[0]} to {lengths[-1]} frames (goal <= 20 MB); time per frame "
                f"{per_frame[-1] / per_frame[0]:.2f}x the shortest's"
            )


if __name__ == "__main__":
    app.run(main)
