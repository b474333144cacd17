r"""Build speed and memory of the affwild2/va builder against dataset size.

    python benchmarks/build.py [--frames=10000,40000] [--workdir=/tmp/build_bench]

For each size: writes a synthetic Aff-Wild2 release of about that many frames
(videos of 250-300 frames, the real quirks included), then builds it in a
fresh Python process, so that each size's peak RSS (`ru_maxrss`) is its own.
Prints per size the records written, build seconds, records/s and peak RSS,
then the RSS ratio of the largest to the smallest size.

The bar: >= 1,500 frames/s on 2 cores, and RSS flat in dataset size (the
writer streams; nothing grows with the number of frames). Writing the
synthetic release is not timed.
"""

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from affect_jax.data import building

_FRAMES = flags.DEFINE_list("frames", ["10000", "40000"], "Approximate frames per size.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where to write; default: a temporary folder.")
_CHILD = flags.DEFINE_string(
    "child_build", None, "Internal: 'RAW_DIR,DATA_DIR' to build in this process and report."
)

# Synthetic videos of 250-300 frames (~275): about the real median length.
_FRAMES_PER_VIDEO = (250, 300)
_VALIDATION_SHARE = 0.2


def _build_and_report(raw_dir: str, data_dir: str) -> None:
    """The child: builds, then prints one JSON line with its counts and peak RSS."""

    start = time.perf_counter()
    builder = building.build_dataset("affwild2/va", raw_dir, data_dir)
    seconds = time.perf_counter() - start
    records = sum(split.num_examples for split in builder.info.splits.values())
    # Linux reports ru_maxrss in KiB.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(records=records, seconds=seconds, peak_rss_mib=peak_mib)))


def _measure(frames: int, workdir: Path) -> dict:
    from affect_jax.synthetic import affwild2_layout

    videos = max(2, round(frames / (sum(_FRAMES_PER_VIDEO) / 2)))
    validation = max(1, round(videos * _VALIDATION_SHARE))
    raw_dir, data_dir = workdir / f"raw_{frames}", workdir / f"tfds_{frames}"
    shutil.rmtree(data_dir, ignore_errors=True)  # A finished build would be reused, not timed.
    summary = affwild2_layout.write_affwild2_layout(
        raw_dir,
        num_train_videos=videos - validation,
        num_validation_videos=validation,
        frames_per_video=_FRAMES_PER_VIDEO,
        seed=frames,
    )
    child = subprocess.run(
        [sys.executable, __file__, f"--child_build={raw_dir},{data_dir}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"The build of {raw_dir} failed:\n{child.stderr[-3000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["frames"] = sum(s["frames"] for s in summary["splits"].values())
    result["videos"] = videos
    return result


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if _CHILD.value:
        _build_and_report(*_CHILD.value.split(","))
        return
    sizes = [int(n) for n in _FRAMES.value]
    with tempfile.TemporaryDirectory(prefix="build_bench_") as temporary:
        workdir = Path(_WORKDIR.value or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        results = [_measure(frames, workdir) for frames in sizes]
    print(f"{'size':>8} {'videos':>6} {'frames':>7} {'records':>7} {'build s':>8} "
          f"{'records/s':>9} {'peak RSS MiB':>12}")  # fmt: skip
    for size, r in zip(sizes, results, strict=True):
        print(
            f"{size:>8} {r['videos']:>6} {r['frames']:>7} {r['records']:>7} "
            f"{r['seconds']:>8.1f} {r['records'] / r['seconds']:>9.0f} {r['peak_rss_mib']:>12.0f}"
        )
    ratio = results[-1]["peak_rss_mib"] / results[0]["peak_rss_mib"]
    print(f"peak RSS {sizes[-1]} / {sizes[0]}: {ratio:.2f}")


if __name__ == "__main__":
    app.run(main)
