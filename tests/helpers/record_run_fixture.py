"""Writes a run-folder fixture with the code checked out beside it, and what it predicts.

    python tests/helpers/record_run_fixture.py tests/fixtures/run_2026_12_06

Made once with the code of the commit named in the fixture's README, so that
later code is checked against numbers it did not compute itself
(tests/training/test_legacy_runs.py). It writes a tiny multitask CNN
(`cnn/`: VA, 8 expressions and 13 AUs, with AU thresholds in results.json) and
a tiny expression GRU over its features (`gru/`), trained on a synthetic
release, and `expected_outputs.json`: the CNN's outputs and feature sums on
fixed crops, and the GRU run's per-frame values over them.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from absl import flags

CROPS_SEED, CROPS_SHAPE = 7, (4, 96, 96)


def main(out: Path) -> None:
    flags.FLAGS.mark_as_parsed()
    from affect_jax.config import load_config
    from affect_jax.data import building
    from affect_jax.inference import video_model
    from affect_jax.stages import extract, train
    from affect_jax.synthetic import affwild2_layout

    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        raw, data_dir = Path(scratch) / "raw", Path(scratch) / "tfds"
        size = {**affwild2_layout.PRESETS["tiny"], "num_validation_videos": 6}
        affwild2_layout.write_affwild2_layout(raw, seed=5, tasks=("va", "expr", "au"), **size)
        building.build_dataset("affwild2/multitask", raw, data_dir)

        cnn = load_config("affwild2_multitask", f"tiny,data_dir={data_dir}")
        cnn.num_train_steps, cnn.checkpoint.keep = 10, 1
        train.train_and_evaluate(cnn, str(out / "cnn"))
        store = load_config(
            "affwild2_extract", f"tiny,cnn_workdir={out / 'cnn'},dataset=affwild2/multitask"
        )
        store.dataset.data_dir = str(data_dir)
        extract.extract(store, str(Path(scratch) / "extract"))
        gru = load_config(
            "affwild2_rnn", f"tiny,task=expr,features_dir={Path(scratch) / 'extract' / 'features'}"
        )
        gru.num_train_steps, gru.checkpoint.keep = 10, 1
        train.train_and_evaluate(gru, str(out / "gru"))

    crops = np.random.default_rng(CROPS_SEED).integers(0, 256, CROPS_SHAPE, dtype=np.uint8)
    cnn_model = video_model.load_video_model(out / "cnn")
    outputs, features = cnn_model.collect(cnn_model.submit(crops))
    gru_model = video_model.load_video_model(out / "gru", cnn_path=out / "cnn")
    frames = np.concatenate([crops] * 2)
    gru_outputs, gru_features = gru_model.collect(gru_model.submit(frames))
    values, interpolated = gru_model.values(np.ones(len(frames), bool), gru_features, gru_outputs)
    expected = {
        "crops_seed": CROPS_SEED,
        "crops_shape": list(CROPS_SHAPE),
        "cnn_value_names": list(cnn_model.value_names),
        "cnn_outputs": outputs.tolist(),
        "cnn_features_sum": features.sum(1).tolist(),
        "gru_value_names": list(gru_model.value_names),
        "gru_values_on_crops_twice": values.tolist(),
        "gru_interpolated": interpolated.tolist(),
    }
    (out / "expected_outputs.json").write_text(json.dumps(expected, indent=1) + "\n")
    for events in out.rglob("events.out.tfevents.*"):  # Not needed to load a run.
        events.unlink()
    shutil.rmtree(out / "cnn" / "plots", ignore_errors=True)
    shutil.rmtree(out / "gru" / "plots", ignore_errors=True)
    shutil.rmtree(out / "gru" / "predictions", ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
