"""Command line of the paper reproduction (launch/reproduce_paper.sh)."""

from pathlib import Path

from absl import app, flags

from affect_jax import startup
from affect_jax.paper import experiments

_ROOT = flags.DEFINE_string("workdir_root", "runs/paper", "One workdir per experiment below it.")
_PRESET = flags.DEFINE_enum(
    "preset",
    "synthetic",
    experiments.PRESETS,
    "full: each config's settings (real data); synthetic: embedded default; tiny: tests.",
)
_AFFWILD2 = flags.DEFINE_string("affwild2_raw", "", "Raw Aff-Wild2 folder; empty: synthetic.")
_CK_PLUS = flags.DEFINE_string("ck_plus_raw", "", "Raw CK+ folder; empty: synthetic.")
_JAFFE = flags.DEFINE_string("jaffe_raw", "", "Raw JAFFE folder; empty: synthetic.")
_DATA_DIR = flags.DEFINE_string("data_dir", "", "TFDS data_dir; empty: <workdir_root>/tfds.")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    startup.start_process()
    raw = {"affwild2": _AFFWILD2.value, "ck_plus": _CK_PLUS.value, "jaffe": _JAFFE.value}
    path = experiments.run_all(Path(_ROOT.value), _PRESET.value, raw, _DATA_DIR.value)
    print(path.read_text())
    print(f"Report: {path}")


if __name__ == "__main__":
    app.run(main)
