"""Writes a synthetic Aff-Wild2 (default), CK+ or JAFFE release.

    python -m affect_jax.synthetic --out=/tmp/affwild2_synthetic --preset=quickstart

Then build it like the real data:

    python -m affect_jax.build --dataset=affwild2/va \
        --manual_dir=/tmp/affwild2_synthetic --data_dir=/tmp/tfds

`--preset=paper_scale` writes the VA set at the paper's size (1.6M training
frames, 16 GB of JPEGs; see `affwild2_at_scale`) from a pool of faces rendered once;
`--frames=N` writes it with N usable training frames instead.

`--tasks=va,expr,au` adds the expression and action-unit sets (ABAW 2020
folders) for the `affwild2/expr`, `affwild2/au` and `affwild2/multitask`
builds. `--dataset=ck_plus` or `--dataset=jaffe` writes those layouts instead
(see `expression_layouts`).
"""

from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from affect_jax import startup
from affect_jax.synthetic import affwild2_at_scale, affwild2_layout, expression_layouts

_OUT = flags.DEFINE_string(
    "out", None, "Output folder: empty, new, or a previous synthetic output.", required=True
)
_PRESET = flags.DEFINE_enum(
    "preset",
    "quickstart",
    sorted([*affwild2_layout.PRESETS, "paper_scale"]),
    "Size of the synthetic release; paper_scale: Aff-Wild2 VA at the paper's 1,620,421 "
    "training frames, with faces from a pool rendered once.",
)
_FRAMES = flags.DEFINE_integer(
    "frames",
    None,
    "Usable training frames of a paper_scale release (implies --preset=paper_scale): "
    "e.g. 16204 for 1% of the paper's size.",
    lower_bound=1_000,
)
_DATASET = flags.DEFINE_enum(
    "dataset", "affwild2", ["affwild2", *expression_layouts.PRESETS], "Which raw layout to write."
)
_SEED = flags.DEFINE_integer("seed", 0, "Everything written is determined by this seed.")
_TASKS = flags.DEFINE_list(
    "tasks",
    ["va"],
    f"Aff-Wild2 annotation sets to write, of {', '.join(affwild2_layout.TASK_FOLDERS)} "
    "(va is always written); e.g. --tasks=va,expr.",
)
flags.register_validator(
    "tasks",
    lambda tasks: set(tasks) <= set(affwild2_layout.TASK_FOLDERS),
    f"--tasks takes a comma-separated subset of {', '.join(affwild2_layout.TASK_FOLDERS)}.",
)


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    startup.start_process(computes=False)
    if _PRESET.value == "paper_scale" or _FRAMES.value is not None:
        _write_at_scale()
        return
    if _DATASET.value != "affwild2":
        try:
            lines = expression_layouts.write(
                _DATASET.value, Path(_OUT.value), _PRESET.value, _SEED.value
            )
        except FileExistsError as error:
            raise SystemExit(f"error: {error}") from None
        print("\n".join(lines))
        return
    try:
        summary = affwild2_layout.write_affwild2_layout(
            Path(_OUT.value),
            seed=_SEED.value,
            tasks=tuple(dict.fromkeys(["va", *_TASKS.value])),
            **affwild2_layout.PRESETS[_PRESET.value],
        )
    except FileExistsError as error:
        raise SystemExit(f"error: {error}") from None
    _print_summary(summary)


def _write_at_scale() -> None:
    if _DATASET.value != "affwild2" or _TASKS.value != ["va"]:
        raise app.UsageError(
            "--preset=paper_scale and --frames write the Aff-Wild2 VA set only: drop "
            "--dataset and --tasks, or use --preset=quickstart for those."
        )
    frames = _FRAMES.value or affwild2_at_scale.PAPER_TRAIN_FRAMES
    try:
        summary = affwild2_at_scale.write_release(Path(_OUT.value), frames, _SEED.value)
    except FileExistsError as error:
        raise SystemExit(f"error: {error}") from None
    _print_summary(summary)


def _print_summary(summary: dict) -> None:
    for split, counts in summary["splits"].items():
        print(
            f"{split}: {counts['videos']} videos, {counts['usable_frames']} usable frames "
            f"({counts['unannotated_rows']} unannotated rows, "
            f"{counts['missing_images']} missing images)"
        )
    print(f"Wrote {_OUT.value} ({summary['frames_per_second']} frames/s)")


if __name__ == "__main__":
    app.run(main)
