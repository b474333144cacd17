r"""Every data stage at growing fractions of the paper's 1.6M Aff-Wild2 frames.

    python benchmarks/scale.py --work_dir=/data/scale                 # 1%, 4%, 16%
    python benchmarks/scale.py --work_dir=/data/scale --fractions=0.01,0.04,0.16,1

Per size N (usable training frames; `--preset=paper_scale` at N/1,620,421):
  generate  the synthetic release (affwild2_at_scale), all of its frames
  build     affwild2/va from it (streaming ArrayRecord writer)
  subsets   the training labels read from the records (no cache) and the
            paper's three VA-bin subsets drawn from them
  store     a feature store of N random float16 vectors of 300 (a .npy written
            through a memory map, as extraction writes it)
  windows   the window index over it (W=100) and 10,000 random windows read
            through the memory map
  loader    one pass of the training chain over the whole split (shuffle,
            augmentation, batches of 128) with --loader_workers processes
and, with --stages=cnn_train,extract,rnn_train (minutes each; run them at the
small sizes), the command lines themselves on that data:
  cnn_train the quickstart CNN on VA-bin subset 3, 40 steps, then its pass
            over the validation split (memory against N)
  extract   its features for every frame (the store the windows read)
  rnn_train the quickstart GRU over that store, 40 steps, then its evaluation
Each stage runs in a process of its own; its peak RSS is that process tree's
largest resident set (`wait4`), so sizes do not share memory. The results
are kept in WORK_DIR/scale_results.json: a rerun measures only what is
missing, so --fractions=...,1 after a first run adds the full size.

Then, from the sizes measured: per stage the cost of each extra frame (the
time difference between two sizes over their frame difference, so that
start-up costs cancel) from 4% to 16% and from 16% to 100% (goal: within 15%
of each other), and RSS growth in bytes per frame (goal: at
most 64). The compute stages (a CNN epoch, extraction, an RNN epoch) are projected
to the paper's size from step rates measured here (`--compute`). A PNG of time
and RSS against N (log-log) goes to WORK_DIR/scale.png.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from affect_jax.synthetic import affwild2_at_scale

_WORK_DIR = flags.DEFINE_string("work_dir", None, "Where releases and builds go.", required=True)
_FRACTIONS = flags.DEFINE_list("fractions", ["0.01", "0.04", "0.16"], "Shares of 1,620,421.")
_STAGES = flags.DEFINE_list(
    "stages",
    ["generate", "build", "subsets", "store", "windows", "loader"],
    "Stages to measure, in order.",
)
_LOADER_WORKERS = flags.DEFINE_integer("loader_workers", 2, "Grain worker processes.")
_COMPUTE = flags.DEFINE_bool("compute", True, "Measure step rates and project compute stages.")
_CHILD = flags.DEFINE_string("child", None, "Internal: run one stage in this process.")
_FRAMES = flags.DEFINE_integer("frames", None, "Internal: the size the child stage runs at.")

_DATASET = "affwild2/va"
_BATCH = 128
_WINDOW = 100
_WINDOW_READS = 10_000
_FEATURES = 300
_STAGE_START = [0.0]  # When the child's stage began (perf_counter).
_TRAIN_STEPS = 40
# Per-stage facts the table shows beside the figures.
_NOTES = (
    "shards",
    "kept_share",
    "windows",
    "index_s",
    "workers",
    "store_mb",
    "first_batch_s",
    "steady_frames_per_s",
    "end_rssanon_mb",
    "end_rssfile_mb",
    "steps",
)
_REPO = Path(__file__).resolve().parents[1]


def _disk_mb(path: Path) -> float:
    # os.walk, not Path.rglob: Python 3.11's rglob keeps every path it yielded in
    # a set (~1 GB over a 2M-file release, which counted as the stage's memory).
    blocks = 0
    for folder, _, files in os.walk(path):
        blocks += sum(os.stat(os.path.join(folder, name)).st_blocks for name in files)
    return blocks * 512 / 1e6


def _folders(frames: int) -> tuple[Path, Path]:
    root = Path(_WORK_DIR.value) / f"n{frames}"
    return root / "raw", root / "tfds"


def _stage_generate(frames: int) -> dict:
    raw, _ = _folders(frames)
    # Measured again (a new size's results, a fix): into a second folder, so
    # that deleting the first release's 2M files is not part of the timing.
    out = raw.with_name("raw_again") if raw.exists() else raw
    summary = affwild2_at_scale.write_release(out, frames)
    total = sum(split["frames"] for split in summary["splits"].values())
    return dict(frames=total, output=str(out))


def _stage_build(frames: int) -> dict:
    from affect_jax.data import building

    raw, tfds_dir = _folders(frames)
    shutil.rmtree(tfds_dir, ignore_errors=True)
    builder = building.build_dataset(_DATASET, raw, tfds_dir)
    splits = builder.info.splits
    return dict(
        frames=sum(s.num_examples for s in splits.values()),
        disk_mb=_disk_mb(tfds_dir),
        shards=sum(len(s.shard_lengths) for s in splits.values()),
    )


def _stage_subsets(frames: int) -> dict:
    from affect_jax.data import label_reader, sources, va_balancing

    source = sources.open_split(_DATASET, str(_folders(frames)[1]), "train")
    labels = label_reader.read_labels(source, use_cache=False)
    shares = {}
    for mode in va_balancing.K_MAX_MODES:
        result = va_balancing.select_indices(
            labels["valence"], labels["arousal"], rule="reference", k_max_mode=mode, seed=0
        )
        shares[mode] = round(result.num_kept / len(source), 3)
    return dict(frames=len(source), kept_share=shares)


def _store(frames: int) -> Path:
    return _folders(frames)[1].parent / "feature_store"


def _stage_store(frames: int) -> dict:
    """A feature store of random float16 vectors, one per training record (the
    windows' input; written here so that `windows` measures only the index)."""
    from affect_jax.data import label_reader, sources

    source = sources.open_split(_DATASET, str(_folders(frames)[1]), "train")
    frame_numbers = label_reader.read_labels(source, ("frame",))["frame"]
    store = _store(frames)
    store.mkdir(exist_ok=True)
    np.save(store / "frames.npy", frame_numbers)
    features = np.lib.format.open_memmap(
        store / "partial.npy", "w+", np.float16, (len(frame_numbers), _FEATURES)
    )
    rng = np.random.default_rng(0)
    for start in range(0, len(features), 65_536):
        stop = min(len(features), start + 65_536)
        features[start:stop] = rng.standard_normal((stop - start, _FEATURES))
    features.flush()
    del features
    os.replace(store / "partial.npy", store / "features.npy")
    return dict(frames=len(frame_numbers), disk_mb=_disk_mb(store))


def _stage_windows(frames: int) -> dict:
    """The window index over the memory-mapped store, and random windows read through it."""
    from affect_jax.data import windows

    store = _store(frames)
    features = np.load(store / "features.npy", mmap_mode="r")
    frame_numbers = np.load(store / "frames.npy")
    # A new video starts where the frame number does not go up.
    video_ids = np.concatenate([[0], np.cumsum(np.diff(frame_numbers) <= 0)])
    starts = windows.window_starts(video_ids, frame_numbers, _WINDOW)
    index_s = time.perf_counter() - _STAGE_START[0]
    labels = np.zeros((len(features), 2), np.float32)  # As the RNN stage holds its labels.
    view = windows.WindowSource(features, labels, starts, _WINDOW, "next")
    for index in np.random.default_rng(1).integers(0, len(view), _WINDOW_READS).tolist():
        view[index]
    return dict(frames=len(features), windows=len(starts), index_s=round(index_s, 3))


def _stage_loader(frames: int) -> dict:
    import grain

    from affect_jax.data import augment, pipeline, sources

    source = sources.open_split(_DATASET, str(_folders(frames)[1]), "train")
    augmentation = augment.RandomAugment(augment.AugmentConfig())
    # The trainer's chain: its blocks, read threads and worker processes.
    blocks = pipeline.training_blocks(source, None, 0, _BATCH, augmentation)
    batches = blocks[: len(source) // _BATCH].to_iter_dataset(
        grain.ReadOptions(num_threads=2, prefetch_buffer_size=4)
    )
    if _LOADER_WORKERS.value:
        batches = batches.mp_prefetch(
            grain.MultiprocessingOptions(num_workers=_LOADER_WORKERS.value)
        )
    iterator = iter(batches)
    count = len(next(iterator)["image"])  # Workers started and their buffers filling.
    start = time.perf_counter()
    first_batch_s = start - _STAGE_START[0]
    for batch in iterator:
        count += len(batch["image"])
    steady = (count - _BATCH) / (time.perf_counter() - start)
    iterator.close()  # Stops the workers and frees their shared memory.
    return dict(
        frames=count,
        workers=_LOADER_WORKERS.value,
        first_batch_s=round(first_batch_s, 1),
        steady_frames_per_s=round(steady),
    )


def _main(*arguments: str) -> None:
    """Runs `python -m affect_jax.main` with `arguments` (its peak RSS counts as this stage's)."""
    command = [sys.executable, "-m", "affect_jax.main", *arguments]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=_REPO)


def _stage_cnn_train(frames: int) -> dict:
    """The quickstart CNN on subset 3 for a fixed number of steps, then its evaluation
    over the whole validation split: memory against N (its time is mostly that pass)."""
    tfds_dir = _folders(frames)[1]
    workdir = tfds_dir.parent / "cnn"
    shutil.rmtree(workdir, ignore_errors=True)
    _main(
        "--config=configs/affwild2_cnn.py:quickstart,subset=3",
        f"--workdir={workdir}",
        f"--config.dataset.data_dir={tfds_dir}",
        f"--config.num_train_steps={_TRAIN_STEPS}",
        f"--config.eval_every_steps={_TRAIN_STEPS}",
    )
    return dict(frames=frames, steps=_TRAIN_STEPS)


def _stage_extract(frames: int) -> dict:
    """Features of every train and validation frame from that CNN."""
    root = _folders(frames)[1].parent
    shutil.rmtree(root / "features", ignore_errors=True)
    _main(
        "--config=configs/affwild2_extract.py",
        f"--workdir={root / 'features'}",
        f"--config.extract.cnn_workdir={root / 'cnn'}",
    )
    stores = root / "features" / "features"
    rows = sum(len(np.load(d / "features.npy", mmap_mode="r")) for d in stores.iterdir())
    return dict(frames=rows, disk_mb=_disk_mb(stores))


def _stage_rnn_train(frames: int) -> dict:
    """The quickstart GRU over that store for a fixed number of steps, then its evaluation."""
    root = _folders(frames)[1].parent
    shutil.rmtree(root / "rnn", ignore_errors=True)
    _main(
        "--config=configs/affwild2_rnn.py:quickstart",
        f"--workdir={root / 'rnn'}",
        f"--config.rnn.features_dir={root / 'features' / 'features'}",
        f"--config.num_train_steps={_TRAIN_STEPS}",
        f"--config.eval_every_steps={_TRAIN_STEPS}",
    )
    return dict(frames=frames, steps=_TRAIN_STEPS)


def _run_child(stage: str, frames: int) -> dict:
    """Runs `stage` at `frames` in a fresh process; adds its wall time and peak RSS."""
    command = [
        sys.executable,
        __file__,
        f"--child={stage}",
        f"--frames={frames}",
        f"--work_dir={_WORK_DIR.value}",
        f"--loader_workers={_LOADER_WORKERS.value}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"stage {stage} at {frames} failed (exit {process.returncode})")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    if stage == "generate":  # Its size on disk, counted outside its memory.
        out = Path(result.pop("output"))
        result["disk_mb"] = _disk_mb(out)
        if out.name == "raw_again":
            shutil.rmtree(out)
    result["frames_per_s"] = round(result["frames"] / result["seconds"])
    return result


def _child_main(stage: str, frames: int) -> None:
    from affect_jax import startup

    # As the command lines start: XLA:CPU flags, freed memory kept.
    startup.start_process(computes=stage in ("loader", "compute"))
    _STAGE_START[0] = time.perf_counter()
    result = _STAGE_FUNCTIONS[stage](frames)
    result["seconds"] = round(time.perf_counter() - _STAGE_START[0], 2)
    # Resident memory at the end, split: a memory-mapped store's pages are file
    # pages (clean, given back under pressure), not heap.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                result[f"end_{key.lower()}_mb"] = round(int(value.split()[0]) / 1024, 1)
    print(json.dumps(result), flush=True)


def _stage_compute(frames: int) -> dict:
    """Frames/s of the reference CNN's train and extraction steps and windows/s of the
    3-layer GRU's train step, on this machine (random inputs, a few steps each)."""
    del frames
    sys.path.insert(0, str(Path(__file__).parent))
    import jax
    from timing import median_seconds, project_train_rate

    from affect_jax.config import load_config
    from affect_jax.models.cnn import FrameCNN
    from affect_jax.models.registry import FRAME_SHAPE
    from affect_jax.models.rnn import SequenceRegressor
    from affect_jax.training import sharding, steps

    rng = np.random.default_rng(0)
    cnn_config = load_config("affwild2_cnn", "")
    images = rng.integers(0, 256, (cnn_config.batch_size, *FRAME_SHAPE), dtype=np.uint8)
    targets = rng.uniform(-1, 1, (cnn_config.batch_size, 2)).astype(np.float32)
    cnn_train, _ = project_train_rate(FrameCNN(), cnn_config, images, targets, 5)
    mesh = sharding.make_data_mesh()
    state = steps.create_train_state(
        FrameCNN(), cnn_config, mesh, jax.ShapeDtypeStruct(images.shape, images.dtype)
    )
    predict = steps.make_predict_step(mesh, return_features=True)
    batch = {"inputs": jax.device_put(rng.integers(0, 256, (256, *FRAME_SHAPE), dtype=np.uint8))}
    extract = 256 / median_seconds(lambda: jax.block_until_ready(predict(state, batch)), 5)
    rnn_config = load_config("affwild2_rnn", "layers=3")
    windows = rng.normal(size=(rnn_config.batch_size, _WINDOW, _FEATURES)).astype(np.float32)
    window_targets = rng.uniform(-1, 1, (rnn_config.batch_size, 2)).astype(np.float32)
    gru = SequenceRegressor(cell="gru", layer_sizes=(100, 100, 50))
    rnn_train, _ = project_train_rate(gru, rnn_config, windows, window_targets, 5)
    return dict(frames=1, cnn_train=cnn_train, extract=extract, rnn_train=rnn_train)


_STAGE_FUNCTIONS = {
    "generate": _stage_generate,
    "build": _stage_build,
    "subsets": _stage_subsets,
    "store": _stage_store,
    "windows": _stage_windows,
    "loader": _stage_loader,
    "cnn_train": _stage_cnn_train,
    "extract": _stage_extract,
    "rnn_train": _stage_rnn_train,
    "compute": _stage_compute,
}


def _growth(rows: list[dict]) -> dict:
    """Marginal cost per frame (the fixed start-up cost cancels) over the two
    largest steps between sizes (4% -> 16% and 16% -> 100% in a full run: at 1%
    start-up noise swamps the cheap stages), and RSS growth per extra frame."""
    rows = sorted(rows, key=lambda r: r["frames"])
    if len(rows) < 3:
        return dict(first_us=math.nan, last_us=math.nan, ratio=math.nan, rss_bytes=math.nan)

    def marginal(a: dict, b: dict) -> float:
        return (b["seconds"] - a["seconds"]) / (b["frames"] - a["frames"]) * 1e6

    first, last = marginal(rows[-3], rows[-2]), marginal(rows[-2], rows[-1])
    rss = (rows[-1]["peak_rss_mb"] - rows[0]["peak_rss_mb"]) * 1e6
    return dict(
        first_us=first,
        last_us=last,
        ratio=last / first,
        rss_bytes=rss / (rows[-1]["frames"] - rows[0]["frames"]),
    )


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, rss_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stage, by_size in results["stages"].items():
        rows = sorted(by_size.values(), key=lambda r: r["frames"])
        n = [r["frames"] for r in rows]
        time_axis.loglog(n, [r["seconds"] for r in rows], "o-", label=stage)
        rss_axis.semilogx(n, [r["peak_rss_mb"] for r in rows], "o-", label=stage)
    time_axis.set(xlabel="frames", ylabel="wall seconds", title="Time against size")
    rss_axis.set(xlabel="frames", ylabel="peak RSS (MB)", title="Memory against size")
    for axis in (time_axis, rss_axis):
        axis.grid(True, which="both", alpha=0.3)
        axis.axvline(affwild2_at_scale.PAPER_TRAIN_FRAMES, color="gray", ls=":", lw=1)
    time_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _report(results: dict) -> None:
    print(f"\n{results['machine']}")
    print("\n| stage | frames | seconds | frames/s | peak RSS MB | disk MB | notes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for stage, by_size in results["stages"].items():
        for row in sorted(by_size.values(), key=lambda r: r["frames"]):
            notes = {k: v for k, v in row.items() if k in _NOTES}
            print(
                f"| {stage} | {row['frames']:,} | {row['seconds']:.1f} | "
                f"{row['frames_per_s']:,} | {row['peak_rss_mb']:.0f} | "
                f"{row.get('disk_mb', 0):,.0f} | {json.dumps(notes) if notes else ''} |"
            )
    print(
        "\n| stage | cost per extra frame, middle sizes (us) | largest sizes (us) | "
        "largest / middle | RSS growth, bytes per frame |\n|---|---:|---:|---:|---:|"
    )
    for stage, by_size in results["stages"].items():
        growth = _growth(list(by_size.values()))
        print(
            f"| {stage} | {growth['first_us']:.0f} | {growth['last_us']:.0f} | "
            f"{growth['ratio']:.2f} | {growth['rss_bytes']:.0f} |"
        )
    rates = results.get("compute_rates")
    if rates:
        paper = affwild2_at_scale.PAPER_TRAIN_FRAMES
        all_frames = paper * (
            1 + affwild2_at_scale.PAPER_VALIDATION_VIDEOS / affwild2_at_scale.PAPER_TRAIN_VIDEOS
        )
        projections = {
            "CNN epoch, subset 3 (1,030,963 frames)": 1_030_963 / rates["cnn_train"],
            "CNN epoch, all training frames": paper / rates["cnn_train"],
            f"extraction, train + validation (~{all_frames:,.0f} frames)": all_frames
            / rates["extract"],
            "RNN epoch (1,496,928 windows of 100)": 1_496_928 / rates["rnn_train"],
        }
        print(
            "\nCompute stages at the paper's size, projected from step rates measured here "
            f"(CNN train {rates['cnn_train']:.0f} frames/s, extraction "
            f"{rates['extract']:.0f} frames/s, GRU train {rates['rnn_train']:.0f} "
            "windows/s):"
        )
        for name, seconds in projections.items():
            print(f"  {name}: {seconds / 3600:.1f} h")


def main(argv: Sequence[str]) -> None:
    del argv
    if _CHILD.value:
        _child_main(_CHILD.value, _FRAMES.value)
        return
    work = Path(_WORK_DIR.value)
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "scale_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"stages": {}}
    sys.path.insert(0, str(Path(__file__).parent))
    from check_report import cpu_line

    results["machine"] = cpu_line()
    sizes = [round(float(f) * affwild2_at_scale.PAPER_TRAIN_FRAMES) for f in _FRACTIONS.value]
    for frames in sorted(sizes):
        for stage in _STAGES.value:
            done = results["stages"].setdefault(stage, {})
            if str(frames) in done:
                continue
            print(f"{stage} at {frames:,} training frames ...", flush=True)
            done[str(frames)] = _run_child(stage, frames)
            print(f"  {json.dumps(done[str(frames)])}", flush=True)
            results_path.write_text(json.dumps(results, indent=1))
    if _COMPUTE.value and "compute_rates" not in results:
        results["compute_rates"] = _run_child("compute", 0)
        results_path.write_text(json.dumps(results, indent=1))
    _report(results)
    _plot(results, work / "scale.png")
    print(f"\nPlot: {work / 'scale.png'}; results: {results_path}")


if __name__ == "__main__":
    app.run(main)
