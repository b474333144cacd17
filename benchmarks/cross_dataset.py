r"""CK+48-style class folders -> JAFFE on synthetic faces: the issue's commands, recipe by recipe.

    python benchmarks/cross_dataset.py --work_dir=/tmp/cross_dataset
    python benchmarks/cross_dataset.py --work_dir=/tmp/cross_dataset --variants=paper_box,recipe

The source is 48x48 face crops in class folders named by subject (the
synthetic `face_folders` quickstart: 40 people, 7 expressions, no neutral),
the target 213 JAFFE-layout photos of ten other people (no contempt): the
real pair's shift in framing and classes. Both are built with each framing
(affect_jax/faces/framing.py), and each variant trains
`configs/expression_folders_cnn.py:quickstart` with its overrides, then
reads `results.json["cross_dataset"]` as the held-out check does: the own
row (held-out subjects) and the `jaffe` row, plain 8-way and over shared
classes. Prints one row per variant with its wall time; writes
WORK_DIR/cross_dataset_seed<S>.json and .md. Finished runs are kept (delete
their run folders to rerun).
"""

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

REPO = Path(__file__).resolve().parents[1]
# name -> (framing of both builds, --config overrides).
VARIANTS = {
    # Today's recipe before this change: no shear, no balancing, no normalisation.
    "paper_box": (
        "haar_box",
        [
            "--config.augment.shear_degrees=0",
            "--config.class_balance=none",
            "--config.input.photometric=none",
            "--config.cross_dataset.shared_classes=False",
        ],
    ),
    "aligned": (
        "aligned",
        [
            "--config.augment.shear_degrees=0",
            "--config.class_balance=none",
            "--config.input.photometric=none",
            "--config.cross_dataset.shared_classes=False",
        ],
    ),
    "recipe": ("aligned", []),  # The config's own defaults.
    "recipe_box": ("haar_box", []),
    "recipe_no_normalisation": ("aligned", ["--config.input.photometric=none"]),
    "recipe_clahe": ("aligned", ["--config.input.photometric=clahe"]),
}

_WORK_DIR = flags.DEFINE_string("work_dir", "/tmp/cross_dataset", "Data, builds and runs.")
_VARIANTS = flags.DEFINE_list("variants", list(VARIANTS), f"Of {', '.join(VARIANTS)}.")
_SEED = flags.DEFINE_integer("seed", 0, "config.seed of every run.")


def _python(*args: str, log: Path) -> float:
    """Runs `python *args` in the repository; its wall seconds. Raises with the log's tail."""
    start = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run([sys.executable, *args], cwd=REPO, stdout=out, stderr=out)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{log.read_text()[-3000:]}")
    return time.monotonic() - start


def _raw(work: Path) -> dict[str, Path]:
    raw = {"ck48": work / "raw" / "ck48", "jaffe": work / "raw" / "jaffe"}
    for dataset, folder in (("face_folders", raw["ck48"]), ("jaffe", raw["jaffe"])):
        if not folder.exists():
            _python(
                "-m", "affect_jax.synthetic", f"--dataset={dataset}", f"--out={folder}",
                log=work / f"write_{dataset}.log",
            )  # fmt: skip
    return raw


def _build(work: Path, raw: dict[str, Path], framing: str) -> Path:
    data = work / "data" / framing
    jaffe = "jaffe/all_box" if framing == "haar_box" else "jaffe/all"
    if not (data / "ck48").exists():
        _python(
            "-m", "affect_jax.build", "--dataset=face_folders/detect",
            f"--manual_dir={raw['ck48']}", f"--data_dir={data / 'ck48'}",
            r"--builder_option=subject_regex=S\d{3}", f"--builder_option=framing={framing}",
            log=work / f"build_ck48_{framing}.log",
        )  # fmt: skip
    if not (data / "jaffe").exists():
        _python(
            "-m", "affect_jax.build", f"--dataset={jaffe}", f"--manual_dir={raw['jaffe']}",
            f"--data_dir={data / 'jaffe'}", log=work / f"build_jaffe_{framing}.log",
        )  # fmt: skip
    return data


def _row(rows: list[dict], own: bool) -> dict:
    return next(r for r in rows if r["own"] == own)


def _run(work: Path, name: str, data: Path, framing: str, overrides: list[str]) -> dict:
    workdir = work / "runs" / f"{name}_seed{_SEED.value}"
    results = workdir / "results.json"
    seconds = None
    if not results.exists():
        jaffe = "jaffe/all_box" if framing == "haar_box" else "jaffe/all"
        seconds = _python(
            "-m", "affect_jax.main",
            "--config=configs/expression_folders_cnn.py:quickstart,dataset=face_folders/detect",
            f"--workdir={workdir}", f"--config.dataset.data_dir={data / 'ck48'}",
            f"--config.cross_dataset.targets=('jaffe={jaffe}:test@{data / 'jaffe'}',)",
            f"--config.seed={_SEED.value}", *overrides,
            log=work / f"run_{name}_seed{_SEED.value}.log",
        )  # fmt: skip
    rows = json.loads(results.read_text())["cross_dataset"]
    own, target = _row(rows, True), _row(rows, False)
    return {
        "variant": name,
        "framing": framing,
        "overrides": overrides,
        "own_accuracy": own["accuracy"],
        "jaffe_accuracy": target["accuracy"],
        "jaffe_shared_accuracy": target.get("shared_accuracy"),
        "jaffe_predicted": target["predicted"],
        "seconds": seconds,
    }


def _cpu() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores"


def _number(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def main(argv: Sequence[str]) -> None:
    del argv
    unknown = sorted(set(_VARIANTS.value) - set(VARIANTS))
    if unknown:
        raise app.UsageError(f"Unknown variants {unknown}; valid: {', '.join(VARIANTS)}.")
    work = Path(_WORK_DIR.value).expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    raw = _raw(work)
    table = []
    for name in _VARIANTS.value:
        framing, overrides = VARIANTS[name]
        row = _run(work, name, _build(work, raw, framing), framing, overrides)
        table.append(row)
        print(json.dumps(row), flush=True)
    lines = [
        f"CPU: {_cpu()}; seed {_SEED.value}.",
        "",
        "| variant | framing | own (held-out subjects) | JAFFE | JAFFE, shared classes | minutes |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['variant']} | {r['framing']} | {_number(r['own_accuracy'])} | "
        f"{_number(r['jaffe_accuracy'])} | {_number(r['jaffe_shared_accuracy'])} | "
        f"{_number(None if r['seconds'] is None else r['seconds'] / 60)} |"
        for r in table
    ]
    name = f"cross_dataset_seed{_SEED.value}"
    (work / f"{name}.json").write_text(json.dumps(table, indent=2) + "\n")
    (work / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
