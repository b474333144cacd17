"""Records what the legacy GRU run predicted with the code that wrote it.

    git worktree add /tmp/old 30678a7
    PYTHONPATH=/tmp/old python tests/helpers/record_legacy_gru_values.py

tests/fixtures/legacy_run_2026_12_01 was written by commit 30678a7 with the
CNN's outputs only; this adds the GRU run's per-frame values over the same
fixed crops, computed by that commit's code (2026-12-06, 2-core AMD EPYC), to
`expected_gru_values.json` (tests/training/test_legacy_runs.py).
"""

import json
from pathlib import Path

import numpy as np
from absl import flags

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run_2026_12_01"


def main() -> None:
    flags.FLAGS.mark_as_parsed()
    from affect_jax import video_model  # The module's place in commit 30678a7.

    expected = json.loads((LEGACY / "expected_cnn_outputs.json").read_text())
    crops = np.random.default_rng(expected["seed"]).integers(
        0, 256, expected["shape"], dtype=np.uint8
    )
    model = video_model.load_video_model(LEGACY / "gru", cnn_path=LEGACY / "cnn")
    frames = np.concatenate([crops] * 2)
    outputs, features = model.collect(model.submit(frames))
    values, interpolated = model.values(np.ones(len(frames), bool), features, outputs)
    record = {"values_on_crops_twice": values.tolist(), "interpolated": interpolated.tolist()}
    (LEGACY / "expected_gru_values.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
