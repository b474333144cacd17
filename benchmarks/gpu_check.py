r"""The whole system on one GPU in one short run, written as one section for RESULTS.md.

    bash benchmarks/gpu_check.sh                 # a fresh GPU machine: venv, install, this
    python benchmarks/gpu_check.py [--out=FILE]  # where the project is installed
    python benchmarks/gpu_check.py --cpu_smoke   # tiny sizes on the CPU (tests/test_gpu_check.py)

Prints the devices and versions, then runs these steps in order, each under its
own budget (check_report.run_step; `--budgets=cnn=120,...` changes some;
`--deadline_at` shrinks them all to fit), in benchmarks/gpu_check_steps.py:
  1. tests: the test files that exercise jit, sharding, checkpoints and models,
     as a pytest subprocess (--cpu_smoke only collects them, so CI stays fast);
  2. matmul: a jit matrix product in float32 and bfloat16, the card's ceiling;
  3. cnn: the reference CNN train step per batch size and compute dtype:
     frames/s and share of the same dtype's ceiling;
  4. gru: the 3-layer GRU train step, sequences/s;
  5. extract: the predict step with features, frames/s;
  6. loader: the Grain chain of benchmarks/loader.py with as many workers as
     the host has cores, against the CNN step's demand;
  7. quickstart: synthetic data, TFDS build, CNN, features, GRU (what
     launch/quickstart.sh runs) and their validation CCCs.
The report (machine, versions, date, one table per step, the bars of issue 20)
is rewritten to --out after every step and printed at the end. Exit status 1
when a step failed (failing tests included); a missed bar is a finding, not a
failure. Sizes come from SIZES by mode; any size flag given wins.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import jax
from absl import app, flags
from check_report import Report, accelerator_line, cpu_line, run_step, today_utc, versions_line
from gpu_check_bars import bars
from gpu_check_steps import Check
from timing import environment_line

from affect_jax import runtime

REPO = Path(__file__).resolve().parents[1]
STEPS = {
    "tests": "Tests on the device",
    "matmul": "Matmul ceiling",
    "cnn": "CNN train step",
    "gru": "GRU train step",
    "extract": "Feature extraction",
    "loader": "Grain loader against the CNN step",
    "quickstart": "Quickstart end to end",
}
GPU_TESTS = [
    "tests/models",
    "tests/training/test_multi_device.py",
    "tests/training/test_crash_safety.py",
]
# Tests marked cpu_only assert what holds on a CPU host only (oneDNN, "auto"
# choices made for the CPU, XLA:CPU's forced device count).
GPU_TESTS_MARKS = "not cpu_only"
# The whole set of sizes of each mode; a size flag given on the command line wins.
SIZES = {
    "gpu": dict(
        matmul_size=8192,
        cnn_batches=[128, 1024, 4096],
        gru_batches=[256, 2048],
        extract_batches=[256, 4096],
        timed_steps=10,
        cnn_config="affwild2_cnn",
        rnn_config="affwild2_rnn:layers=3",
        loader_workers=[os.cpu_count() or 1],
        loader_batch=128,
        loader_batches=100,
        stage_frames=2000,
        preset="quickstart",
        train_steps=0,
        test_paths=GPU_TESTS,
        test_marks=GPU_TESTS_MARKS,
        test_collect_only=False,
    ),
    "smoke": dict(
        matmul_size=512,
        cnn_batches=[8],
        gru_batches=[4],
        extract_batches=[8],
        timed_steps=2,
        cnn_config="affwild2_cnn:tiny",
        rnn_config="affwild2_rnn:layers=3,tiny",
        loader_workers=[0],  # Spawning workers costs seconds each on 2 cores.
        loader_batch=16,
        loader_batches=3,
        stage_frames=50,
        preset="tiny",
        train_steps=2,
        test_paths=GPU_TESTS,
        test_marks=GPU_TESTS_MARKS,
        test_collect_only=True,
    ),
}
BUDGETS = {  # Seconds per step: the GPU's sum to 8 minutes (9 with install and start-up).
    "gpu": dict(tests=120, matmul=15, cnn=90, gru=35, extract=20, loader=60, quickstart=140),
    "smoke": dict(tests=40, matmul=20, cnn=60, gru=30, extract=20, loader=30, quickstart=120),
}
_SMOKE = flags.DEFINE_bool("cpu_smoke", False, "Tiny sizes on the CPU: checks the report's shape.")
_OUT = flags.DEFINE_string("out", str(REPO / "benchmarks/gpu_check_report.md"), "Markdown file.")
_DEADLINE = flags.DEFINE_float(
    "deadline_at", 0, "Unix time by which all steps end (budgets shrink to fit); 0: none."
)
_INSTALL = flags.DEFINE_float("install_s", -1, "Seconds the install took (from gpu_check.sh).")
_BUDGETS = flags.DEFINE_list("budgets", [], f"name=seconds for steps of {', '.join(STEPS)}.")
_CPU_CCC = flags.DEFINE_list(
    "cpu_ccc",
    ["0.907", "0.931", "0.947", "0.954"],
    "The CPU's quickstart CCCs (RESULTS.md): CNN valence, arousal, CNN + GRU valence, arousal.",
)
_DEFINE = {int: flags.DEFINE_integer, str: flags.DEFINE_string, bool: flags.DEFINE_bool}
for _name, _default in SIZES["gpu"].items():
    _DEFINE.get(type(_default), flags.DEFINE_list)(
        _name, None, f"Default {_default}; with --cpu_smoke {SIZES['smoke'][_name]}."
    )


def resolve_sizes() -> dict:
    """The mode's sizes and budgets, with the flags given on the command line."""
    mode = "smoke" if _SMOKE.value else "gpu"
    chosen = {}
    for name, default in SIZES[mode].items():
        value = flags.FLAGS[name].value
        if value is not None and isinstance(default, list) and name != "test_paths":
            value = [int(item) for item in value]
        chosen[name] = default if value is None else value
    chosen["cpu_ccc"] = [float(value) for value in _CPU_CCC.value]
    chosen["budgets"] = dict(BUDGETS[mode])
    for item in _BUDGETS.value:
        name, _, seconds = item.partition("=")
        if name not in STEPS:
            raise app.UsageError(f"--budgets: no step {name!r}; steps: {', '.join(STEPS)}.")
        chosen["budgets"][name] = float(seconds)
    return chosen


def main(argv) -> None:
    del argv
    size = resolve_sizes()
    device = accelerator_line(jax)
    smoke = "cpu_smoke (tiny sizes: the figures say nothing about speed)"
    install = f", install {_INSTALL.value:.0f} s" if _INSTALL.value >= 0 else ""
    lines = [
        f"Machine: {device}; host {cpu_line()}.",
        "",
        f"Versions: {versions_line()}. Date: {today_utc()}.",
        "",
        f"Run: `python {' '.join(sys.argv)}`, mode {smoke if _SMOKE.value else 'gpu'}"
        f"{install}; {environment_line()}.",
        "",
    ]
    name = "the CPU" if jax.default_backend() == "cpu" else device.split(" (")[0]
    heading = f"{today_utc()[:10]} — gpu_check on {name} (`benchmarks/gpu_check.py`)"
    report = Report(Path(_OUT.value), heading, lines)
    print("\n".join(lines), flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        check = Check(size, Path(scratch))
        names = list(STEPS)
        for index, step in enumerate(names):
            seconds = size["budgets"][step]
            if _DEADLINE.value:  # What is left shrinks to fit, 5 s kept for the report.
                planned = sum(size["budgets"][later] for later in names[index:])
                left = max(0.0, _DEADLINE.value - time.time() - 5)
                seconds *= min(1.0, left / planned)
            section = report.section(STEPS[step])
            ok &= run_step(report, section, seconds, getattr(check, step))
            report.bars = bars(check.found, size)  # Written with the next step's report.
        text = report.write()
    print(text, flush=True)
    print(f"Report written to {_OUT.value}", flush=True)
    if any(section.stopped for section in report.sections):
        # A step stopped inside JAX can leave XLA's threads in a state that
        # crashes the interpreter's teardown (seen here: a segfault at exit).
        sys.stderr.flush()
        os._exit(0 if ok else 1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    app.run(main)
