r"""The synthetic expression datasets (CK+, JAFFE, class folders) by name, for the command line.

    python -m affect_jax.synthetic --dataset=ck_plus --out=/tmp/ck_plus --preset=quickstart
    python -m affect_jax.build --dataset=ck_plus/fold0 --manual_dir=/tmp/ck_plus \
        --data_dir=/tmp/tfds

    python -m affect_jax.synthetic --dataset=jaffe --out=/tmp/jaffe
    python -m affect_jax.build --dataset=jaffe/all --manual_dir=/tmp/jaffe --data_dir=/tmp/tfds

    python -m affect_jax.synthetic --dataset=face_folders --out=/tmp/ck48_like
    python -m affect_jax.build --dataset=face_folders/cropped --manual_dir=/tmp/ck48_like \
        --data_dir=/tmp/tfds_ck48 --builder_option='subject_regex=S\d{3}'
"""

from __future__ import annotations

import collections
from pathlib import Path

from affect_jax.synthetic import ck_plus_layout, face_folders_layout, jaffe_layout
from affect_jax.synthetic.expressions import CK_PLUS_CLASSES

PRESETS = {
    "ck_plus": ck_plus_layout.PRESETS,
    "jaffe": jaffe_layout.PRESETS,
    "face_folders": face_folders_layout.PRESETS,
}


def write(dataset: str, root: Path, preset: str, seed: int) -> list[str]:
    """Writes `dataset`'s raw layout with a preset; returns lines describing it.

    Raises:
      ValueError: for an unknown dataset or preset.
      FileExistsError: if `root` holds something other than our output.
    """
    if dataset not in PRESETS or preset not in PRESETS[dataset]:
        raise ValueError(f"No preset {preset!r} for {dataset!r}; known: {PRESETS}.")
    arguments = dict(PRESETS[dataset][preset], seed=seed)
    if dataset == "ck_plus":
        summary = ck_plus_layout.write_ck_plus_layout(root, **arguments)
        per_label = ", ".join(
            f"{CK_PLUS_CLASSES[int(code)]} {n}" for code, n in summary["labelled_per_label"].items()
        )
        return [
            f"{summary['subjects']} subjects, {len(summary['sequences'])} sequences "
            f"({summary['labelled_sequences']} labelled: {per_label}), "
            f"{summary['frames']} frames",
            f"{summary['images']} images to build (4 per labelled sequence)",
            f"Wrote {root} in {summary['seconds']} s",
        ]
    if dataset == "face_folders":
        summary = face_folders_layout.write_face_folders_layout(root, **arguments)
        per_label = collections.Counter(CK_PLUS_CLASSES[i["label"]] for i in summary["images"])
        return [
            f"{len(summary['images'])} images in class folders "
            f"({', '.join(f'{n} {c}' for n, c in per_label.items())}), CK+48-style names",
            f"Wrote {root} in {summary['seconds']} s",
        ]
    summary = jaffe_layout.write_jaffe_layout(root, **arguments)
    per_code = ", ".join(f"{code} {n}" for code, n in summary["per_code"].items())
    return [
        f"{len(summary['images'])} images ({per_code})",
        f"Wrote {root} in {summary['seconds']} s",
    ]
