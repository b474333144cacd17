"""The seven steps of benchmarks/gpu_check.py, each `step(section, budget)` (check_report).

Each step appends its tables to its report section and skips the sizes left
once its budget is spent (naming them in `section.skipped`). What the bars need
is kept in `Check.found`. The measurements are the benchmarks' own:
timing.project_train_rate (the project's train step), timing.matmul_ceiling,
loader.stage_rates and loader.loader_rate, and the library calls that
launch/quickstart.sh makes through its command lines.
"""

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from check_report import run_bounded
from gpu_check_bars import BAR_BATCH
from loader import build_synthetic, loader_rate, stage_rates
from timing import cnn_train_flop_per_frame, matmul_ceiling, median_seconds, project_train_rate

from affect_jax import stages
from affect_jax.config import load_config
from affect_jax.data import sources
from affect_jax.models.registry import FRAME_SHAPE, create_model, input_spec, num_outputs
from affect_jax.training import sharding, steps


def load_spec(text: str):
    """`configs/<name>.py` with its argument: "affwild2_rnn:layers=3"."""
    name, _, arg = text.partition(":")
    return load_config(name, arg)


@contextlib.contextmanager
def workers_without_gpu():
    """Spawned loader workers only decode and augment: a GPU context each would cost memory."""
    saved = {name: os.environ.get(name) for name in ("JAX_PLATFORMS", "CUDA_VISIBLE_DEVICES")}
    os.environ.update(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


class Check:
    """The steps over one set of sizes (gpu_check.SIZES); results in `found`."""

    def __init__(self, size: dict, scratch: Path):
        self.size, self.scratch = size, scratch
        self.found: dict = {"ceiling": {}, "cnn": {}, "ccc_gap": []}
        self.cnn_config = load_spec(size["cnn_config"])
        self._data_dir = ""
        self.rng = np.random.default_rng(0)

    def data_dir(self) -> str:
        """The preset's synthetic Aff-Wild2, built once for the loader and the quickstart."""
        if not self._data_dir:
            self._data_dir = build_synthetic(self.scratch / "data", self.size["preset"])
        return self._data_dir

    def tests(self, section, budget) -> None:
        size = self.size
        # --maxfail, not -x: GPU runs are rare, so one failure should not hide the next ones.
        command = [sys.executable, "-m", "pytest", "-q", "--maxfail=5", "-p", "no:cacheprovider"]
        command += size["test_paths"] + (["-m", size["test_marks"]] if size["test_marks"] else [])
        command += ["--collect-only"] if size["test_collect_only"] else []
        # The check itself holds most of the GPU's memory; the tests take theirs as they go.
        env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
        code, output, seconds = run_bounded(command, budget.left(), env)
        lines = [line for line in output.splitlines() if line.strip()]
        summary = next((line for line in reversed(lines) if " in " in line), "no summary line")
        if code is None:
            summary = f"stopped at the budget; last: {summary}"
        rows = section.table("pytest", "result", "seconds")
        rows.append([f"`pytest {shlex.join(command[3:])}`", summary.strip("= "), f"{seconds:.1f}"])
        if size["test_collect_only"]:
            section.notes.append("Collected only (the paths exist), not run.")
        if code not in (0, None):
            failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
            section.notes.extend(failed[:5] or lines[-5:])
            raise RuntimeError(f"pytest exited {code}")

    def matmul(self, section, budget) -> None:
        rows = section.table("dtype", "size", "TFLOP/s")
        for dtype in ("float32", "bfloat16"):
            if budget.spent():
                section.skipped.append(dtype)
                continue
            size = self.size["matmul_size"]
            gflops = matmul_ceiling(self.size["timed_steps"], size, jnp.dtype(dtype))
            self.found["ceiling"][dtype] = gflops
            rows.append([dtype, f"{size}^3", gflops / 1000])
        section.notes.append("float32 at JAX's default precision (TF32 on NVIDIA GPUs).")

    def cnn(self, section, budget) -> None:
        config = self.cnn_config.copy_and_resolve_references()
        flop = cnn_train_flop_per_frame(config.model, num_outputs(config))
        headers = ("batch", "compute dtype", "frames/s", "TFLOP/s", "of its ceiling", "first s")
        rows = section.table(*headers)  # Filled as it goes: a stopped step keeps its rows.
        for dtype in ("bfloat16", "float32"):  # bfloat16 first: the bar is on it.
            for batch in self.size["cnn_batches"]:
                if budget.spent():
                    section.skipped.append(f"batch {batch} {dtype}")
                    continue
                config.model.compute_dtype = dtype
                images = self.rng.integers(0, 256, (batch, *FRAME_SHAPE), dtype=np.uint8)
                targets = self.rng.uniform(-1, 1, (batch, 2)).astype(np.float32)
                model = create_model(config)
                count = self.size["timed_steps"]
                rate, first = project_train_rate(model, config, images, targets, count)
                self.found["cnn"][batch, dtype] = rate
                ceiling = self.found["ceiling"].get(dtype)
                share = f"{rate * flop / 1e9 / ceiling:.0%}" if ceiling else None
                tflops = rate * flop / 1e12
                rows.append([batch, dtype, rate, tflops, share, f"{first:.1f}"])
                rows.sort(key=lambda row: (row[0], row[1]))
        section.notes.append(
            f"`{self.size['cnn_config']}`: conv {tuple(config.model.conv_features)}, "
            f"{config.model.feature_dim} features, {flop / 1e9:.3g} GFLOP per frame (forward "
            "+ backward); the first step includes compilation."
        )

    def gru(self, section, budget) -> None:
        config = load_spec(self.size["rnn_config"])
        width, window = self.cnn_config.model.feature_dim, config.rnn.window
        rows = section.table("batch", "sequences/s", "frames/s", "first s")
        for batch in self.size["gru_batches"]:
            if budget.spent():
                section.skipped.append(f"batch {batch}")
                continue
            inputs = self.rng.normal(size=(batch, window, width)).astype(np.float32)
            targets = self.rng.uniform(-1, 1, (batch, 2)).astype(np.float32)
            model, count = create_model(config), self.size["timed_steps"]
            rate, first = project_train_rate(model, config, inputs, targets, count)
            rows.append([batch, rate, rate * window, f"{first:.1f}"])
        section.notes.append(
            f"`{self.size['rnn_config']}`: {config.model.cell} "
            f"{tuple(config.model.layer_sizes)}, W={window}, {width} features."
        )

    def extract(self, section, budget) -> None:
        config, mesh = self.cnn_config, sharding.make_data_mesh()
        state = steps.create_train_state(create_model(config), config, mesh, input_spec(config))
        predict = steps.make_predict_step(mesh, return_features=True)
        rows = section.table("batch", "frames/s", "x float32 train step, same batch")
        for batch in self.size["extract_batches"]:
            if budget.spent():
                section.skipped.append(f"batch {batch}")
                continue
            images = self.rng.integers(0, 256, (batch, *FRAME_SHAPE), dtype=np.uint8)
            inputs = sharding.to_global_batch({"inputs": images}, mesh)
            run = lambda: jax.block_until_ready(predict(state, inputs))  # noqa: B023
            rate = batch / median_seconds(run, self.size["timed_steps"])
            train = self.found["cnn"].get((batch, "float32"))
            rows.append([batch, rate, f"{rate / train:.2f}" if train else None])
        section.notes.append(f"`{self.size['cnn_config']}` in float32, outputs and features.")

    def loader(self, section, budget) -> None:
        size = self.size
        data_dir = self.data_dir()
        built = budget.elapsed()
        source = sources.open_split("affwild2/va", data_dir, "train")
        rows = section.table("what", "frames/s")
        stages_alone = stage_rates(data_dir, min(size["stage_frames"], len(source)))
        rows.extend([f"{name}, 1 thread", rate] for name, rate in stages_alone.items())
        chain = dict(batch_size=size["loader_batch"], batches=size["loader_batches"])
        chain["read_threads"] = 2  # The trainer's default (config.input.read_threads).
        rows.append(["decode + batch, 0 workers", loader_rate(source, 0, False, **chain)])
        best = None
        for workers in size["loader_workers"]:
            if budget.spent():
                section.skipped.append(f"{workers} workers")
                continue
            with workers_without_gpu():
                rate = loader_rate(source, workers, True, **chain)
            rows.append([f"decode + augment + batch, {workers} workers", rate])
            best = max(best or 0.0, rate)
        demand, which = self.step_demand()
        rows.append([f"CNN train step demand ({which})", demand])
        self.found["loader"] = (best, demand, max(size["loader_workers"]))
        if best and demand and best < demand:
            workers = max(size["loader_workers"])
            slowest = min((rate, name) for name, rate in stages_alone.items() if "+" not in name)
            section.notes.append(
                f"Short by {demand / best:.1f}x: at {best / max(workers, 1):,.0f} frames/s per "
                f"worker the step needs ~{demand * max(workers, 1) / best:.0f} workers; the "
                f"slowest stage alone is {slowest[1]} ({slowest[0]:,.0f} frames/s). What would "
                "close it: augmenting on the device, or records of undecoded uint8 frames."
            )
        section.notes.append(
            f"`{size['preset']}` synthetic set, {len(source)} training frames (written and "
            f"built in {built:.0f} s); batches of {chain['batch_size']}, {chain['batches']} timed."
        )

    def step_demand(self) -> tuple[float | None, str]:
        """Frames/s the CNN step eats: bfloat16 at the bar's batch, else the fastest measured."""
        cnn = self.found["cnn"]
        if (BAR_BATCH, "bfloat16") in cnn:
            return cnn[BAR_BATCH, "bfloat16"], f"bfloat16, batch {BAR_BATCH}"
        if not cnn:
            return None, "not measured"
        (batch, dtype), rate = max(cnn.items(), key=lambda item: item[1])
        return rate, f"fastest measured, {dtype} batch {batch}"

    def quickstart(self, section, budget) -> None:
        preset, root = self.size["preset"], self.scratch / "quickstart"
        timings = section.table("stage", "seconds")
        data_dir = self.data_dir()
        built = f"{budget.elapsed():.1f}"
        timings.append(["synthetic data + TFDS build (unless the loader step did)", built])
        extract_arg = ("tiny," if preset == "tiny" else "") + f"cnn_workdir={root / 'cnn'}"
        configs = {
            "cnn": load_config("affwild2_cnn", f"{preset},data_dir={data_dir}"),
            "features": load_config("affwild2_extract", extract_arg),
            "gru": load_config("affwild2_rnn", f"{preset},features_dir={root}/features/features"),
        }
        for name, config in configs.items():
            if budget.spent():
                section.skipped.append(name)
                continue
            if self.size["train_steps"] and name != "features":
                count = config.num_train_steps = self.size["train_steps"]
                config.log_every_steps = config.eval_every_steps = count
                config.checkpoint_every_steps = count
            start = budget.elapsed()
            stages.run(config, str(root / name))
            timings.append([name, f"{budget.elapsed() - start:.1f}"])
        rows = section.table("validation CCC", "valence", "arousal", "CPU", "max difference")
        cpu = self.size["cpu_ccc"]
        for label, run, prefix, reference in (
            ("CNN alone, every frame", "cnn", "", cpu[:2]),
            ("CNN + GRU, every frame", "gru", "frame_", cpu[2:]),
        ):
            if (root / run / "results.json").exists():
                found = json.loads((root / run / "results.json").read_text())
                pair = [found[f"{prefix}ccc_valence"], found[f"{prefix}ccc_arousal"]]
                gap = max(abs(a - b) for a, b in zip(pair, reference, strict=True))
                self.found["ccc_gap"].append(gap)
                cells = [f"{value:.3f}" for value in (*pair, gap)]
                rows.append([label, cells[0], cells[1], " / ".join(map(str, reference)), cells[2]])
        steps_note = f", {self.size['train_steps']} train steps" if self.size["train_steps"] else ""
        section.notes.append(f"Configs `:{preset}`{steps_note}; the CPU's CCCs: RESULTS.md.")
