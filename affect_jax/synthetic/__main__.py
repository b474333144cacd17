"""Writes a synthetic Aff-Wild2 release.

    python -m affect_jax.synthetic --out=/tmp/affwild2_synthetic --preset=quickstart

Then build it like the real data:

    python -m affect_jax.build --dataset=affwild2/va \
        --manual_dir=/tmp/affwild2_synthetic --data_dir=/tmp/tfds
"""

from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from affect_jax.synthetic import affwild2_layout

_OUT = flags.DEFINE_string(
    "out", None, "Output folder: empty, new, or a previous synthetic output.", required=True
)
_PRESET = flags.DEFINE_enum(
    "preset", "quickstart", sorted(affwild2_layout.PRESETS), "Size of the synthetic release."
)
_SEED = flags.DEFINE_integer("seed", 0, "Everything written is determined by this seed.")


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        summary = affwild2_layout.write_affwild2_layout(
            Path(_OUT.value), seed=_SEED.value, **affwild2_layout.PRESETS[_PRESET.value]
        )
    except FileExistsError as error:
        raise SystemExit(f"error: {error}") from None
    for split, counts in summary["splits"].items():
        print(
            f"{split}: {counts['videos']} videos, {counts['usable_frames']} usable frames "
            f"({counts['unannotated_rows']} unannotated rows, "
            f"{counts['missing_images']} missing images)"
        )
    print(f"Wrote {_OUT.value} ({summary['frames_per_second']} frames/s)")


if __name__ == "__main__":
    app.run(main)
