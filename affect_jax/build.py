"""Builds a dataset's TFDS records from its raw files, without TensorFlow.

`tfds build` needs TensorFlow and Apache Beam; this goes through the TFDS
Python API instead and always writes ArrayRecord:

    python -m affect_jax.build --dataset=affwild2/va \
        --manual_dir=/data/affwild2 --data_dir=~/tensorflow_datasets

A finished dataset is reused, not rebuilt. TFDS writes into an
`incomplete.*` folder and renames it only when every split is written, so an
interrupted build is never mistaken for a finished one: run the same command
again and it builds from the start.
"""

from __future__ import annotations

import ast
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from absl import app, flags

from affect_jax import runtime, startup
from affect_jax.data.building import build_dataset, read_build_report

_DATASET = flags.DEFINE_string("dataset", None, "name/config, e.g. affwild2/va.", required=True)
_MANUAL_DIR = flags.DEFINE_string(
    "manual_dir", None, "Folder with the raw dataset (or a synthetic one).", required=True
)
_DATA_DIR = flags.DEFINE_string(
    "data_dir", "~/tensorflow_datasets", "Where the TFDS records are written."
)
_BUILDER_OPTION = flags.DEFINE_multi_string(
    "builder_option",
    [],
    "key=value builder keyword argument, repeatable; the value is read as a Python literal "
    "when it parses as one, else kept as text. E.g. face_folders' "
    "--builder_option='subject_regex=S\\d{3}' --builder_option=class_map=1:surprise,2:fear.",
)


def builder_options(items: Sequence[str]) -> dict[str, Any]:
    """{key: value} of `--builder_option=key=value` flags."""
    options = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise app.UsageError(f"--builder_option={item!r} is not key=value.")
        try:
            value: Any = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        options[key.strip()] = value
    return options


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    startup.start_process(computes=False)
    # A scheduler's SIGTERM ends the build like Ctrl-C does: with the message below.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with runtime.one_line_errors():
            builder = build_dataset(
                _DATASET.value,
                _MANUAL_DIR.value,
                _DATA_DIR.value,
                builder_options(_BUILDER_OPTION.value),
            )
    except KeyboardInterrupt:
        print(
            f"Interrupted: {_DATASET.value} is not built. What was written sits in an "
            f"incomplete.* folder under {Path(_DATA_DIR.value).expanduser()} that nothing "
            "loads and that may be deleted; run the same command again to build it from "
            "the start.",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
    for split, info in builder.info.splits.items():
        print(f"{split}: {info.num_examples} examples")
    report = read_build_report(builder)
    if report:
        for split, counts in report.items():
            print(f"{split}: left out {counts['dropped'] or 'nothing'}")
    print(f"Built {_DATASET.value} in {builder.data_dir}")
    name = builder.info.full_name.rsplit("/", 1)[0]
    data_dir = str(Path(_DATA_DIR.value).expanduser())
    print(f"Load a split ({', '.join(builder.info.splits)}) with:")
    for split in builder.info.splits:
        print(f"  tfds.builder({name!r}, data_dir={data_dir!r}).as_data_source({split!r})")


def _interrupt(signum: int, frame: Any) -> None:
    del signum, frame
    raise KeyboardInterrupt


def run() -> None:
    """Console-script entry point (`affect-jax-build`)."""
    app.run(main)


if __name__ == "__main__":
    run()
