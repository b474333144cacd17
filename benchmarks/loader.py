r"""Training-loader throughput: PNG decode + augmentation + batches of 128, in frames/s.

    python benchmarks/loader.py                      # builds a synthetic set first (~15 s)
    python benchmarks/loader.py --tfds_dir=/tmp/tfds --workers=0,2,4 --batches=60

Measures, on the `quickstart` synthetic Aff-Wild2 (or any built affwild2/va):
  1. the stages alone, one thread: record read and PNG decode through TFDS's
     data source and through ours (`record_source`, what training reads), and
     augmentation;
  2. the Grain chain the trainer uses (shuffle, repeat, augmentation, batch)
     with 0 workers (reading threads in this process) and with N worker
     processes (`mp_prefetch`);
and from the per-worker rate, how many workers a GPU eating --gpu_frames_per_s
needs. Worker processes are spawned and re-import this file, so everything
they run lives in affect_jax modules; absl flags are parsed by app.run.
"""

import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import grain
import numpy as np
from absl import app, flags

from affect_jax.data import augment, building, pipeline, record_source, sources

_TFDS_DIR = flags.DEFINE_string("tfds_dir", None, "A built affwild2/va; default: build one.")
_WORKERS = flags.DEFINE_list("workers", ["0", "2"], "Grain worker counts to measure.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Frames per batch.")
_BATCHES = flags.DEFINE_integer("batches", 40, "Batches timed per setting (after warm-up).")
_READ_THREADS = flags.DEFINE_integer("read_threads", 2, "grain.ReadOptions.num_threads.")
_GPU_RATE = flags.DEFINE_float("gpu_frames_per_s", 20_000, "Rate the loader must feed.")


def build_synthetic(root: Path, preset: str = "quickstart") -> str:
    """Writes the `preset` synthetic Aff-Wild2 under root/raw, builds it; returns the TFDS dir."""
    from affect_jax.synthetic import affwild2_layout

    affwild2_layout.write_affwild2_layout(root / "raw", seed=0, **affwild2_layout.PRESETS[preset])
    building.build_dataset("affwild2/va", root / "raw", root / "tfds")
    return str(root / "tfds")


def stage_rates(data_dir: str, count: int = 2000) -> dict[str, float]:
    """Frames/s of each stage alone, one thread, in shuffled order like training.

    The record read twice: through TFDS's own data source (its per-example
    Python parse, PNG kept) and through the project's (`record_source`, what
    training reads: upb parse + OpenCV PNG decode).
    """
    import tensorflow_datasets as tfds

    builder = sources.open_builder("affwild2/va", data_dir)
    undecoded = builder.as_data_source("train", decoders={"image": tfds.decode.SkipDecoding()})
    fast = record_source.open_records(builder, "train")
    order = np.random.default_rng(0).permutation(len(undecoded))[:count].tolist()
    undecoded[order[0]], fast[order[0]]  # Opens the shard readers outside the timing.

    def timed(function, items):
        start = time.perf_counter()
        results = [function(item) for item in items]
        return results, time.perf_counter() - start

    records, read_s = timed(undecoded.__getitem__, order)
    image_feature = builder.info.features["image"]
    images, decode_s = timed(image_feature.decode_example_np, [r["image"] for r in records])
    _, fast_s = timed(fast.__getitem__, order)
    transform = augment.RandomAugment(augment.AugmentConfig())
    rng = np.random.default_rng(0)
    _, augment_s = timed(lambda image: transform.random_map({"image": image}, rng), images)
    return {
        "TFDS: read record (image undecoded)": count / read_s,
        "TFDS: decode image": count / decode_s,
        "TFDS: read + decode": count / (read_s + decode_s),
        "ours: read + decode": count / fast_s,
        "augment": count / augment_s,
        "ours: read + decode + augment": count / (fast_s + augment_s),
    }


def loader_rate(
    source, workers: int, augmented: bool, batch_size: int, batches: int, read_threads: int
) -> float:
    """Steady-state frames/s of the training chain over `batches` batches of `batch_size`."""
    # The trainer's chain (pipeline.training_blocks) without its record ->
    # model-example step (an np.asarray per field, negligible here).
    augmentation = augment.RandomAugment(augment.AugmentConfig()) if augmented else None
    iter_dataset = pipeline.training_blocks(source, None, 0, batch_size, augmentation)
    iter_dataset = iter_dataset.to_iter_dataset(
        grain.ReadOptions(num_threads=read_threads, prefetch_buffer_size=4)
    )
    if workers:
        iter_dataset = iter_dataset.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
    iterator = iter(iter_dataset)
    # Workers fill their buffers while they start; the batches waiting there
    # when timing begins would inflate the rate, so drain them first.
    for _ in range(4 + 6 * workers):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(iterator)
    elapsed = time.perf_counter() - start
    assert batch["image"].shape == (batch_size, 96, 96, 1)
    iterator.close()  # Stops the workers (and frees their shared memory) now.
    return batches * batch_size / elapsed


def main(argv: Sequence[str]) -> None:
    del argv
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = _TFDS_DIR.value or build_synthetic(Path(scratch))
        source = sources.open_split("affwild2/va", data_dir, "train")
        print(f"train split: {len(source)} frames; batch {_BATCH.value}, {_BATCHES.value} timed")
        sizes = dict(batch_size=_BATCH.value, batches=_BATCHES.value)
        sizes["read_threads"] = _READ_THREADS.value

        stages = stage_rates(data_dir)
        slowest = min(stages.values())
        print("\nstages alone, 1 thread (share of the time per frame):")
        for name, rate in stages.items():
            print(f"  {name:26s} {rate:8,.0f} frames/s  ({slowest / rate:.2f})")

        plain = loader_rate(source, 0, augmented=False, **sizes)
        print(f"\nGrain chain, batches of {_BATCH.value}, {_READ_THREADS.value} read threads:")
        print(f"  decode + batch,           0 workers {plain:8,.0f} frames/s  (1.00)")
        rates = {}
        for workers in sorted({int(w) for w in _WORKERS.value}):
            rates[workers] = loader_rate(source, workers, augmented=True, **sizes)
            print(f"  decode + augment + batch, {workers} workers {rates[workers]:8,.0f} frames/s"
                  f"  ({rates[workers] / plain:.2f})")  # fmt: skip

        print(f"\nworkers to feed {_GPU_RATE.value:,.0f} frames/s (needs a free core each):")
        estimates = {"1 core, stages summed": stages["ours: read + decode + augment"]}
        estimates.update({f"{w} workers measured / {w}": r / w for w, r in rates.items() if w})
        for name, per_worker in estimates.items():
            needed = _GPU_RATE.value / per_worker
            print(f"  {name:26s} {per_worker:8,.0f} frames/s per worker -> "
                  f"{math.ceil(needed)} workers ({needed:.1f}x one worker)")  # fmt: skip


if __name__ == "__main__":
    app.run(main)
