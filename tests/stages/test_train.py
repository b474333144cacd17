"""Training end to end on the tiny synthetic Aff-Wild2: learning, resume, errors."""

import json
import signal
import subprocess
import time
from pathlib import Path

import ml_collections
import numpy as np
import pytest

from affect_jax.data import sources
from affect_jax.stages import train
from affect_jax.training import checkpoints
from affect_jax.training.metric_writer import read_metrics
from tests.helpers import train_helpers


def test_training_raises_validation_ccc_above_bar(tiny_cnn_run):
    workdir, result = tiny_cnn_run
    workdir = Path(workdir)
    # Held-out people; an untrained or broken model scores ~0.
    assert result["ccc_valence"] > 0.4, result
    assert result["ccc_arousal"] > 0.4, result
    assert (workdir / "plots" / "training_curves.png").stat().st_size > 10_000
    assert (workdir / "plots" / "validation_scatter.png").stat().st_size > 10_000
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").open()]
    assert {r["split"] for r in records} == {"train", "validation"}
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))


def _wait_for_checkpoint(workdir: Path, process: subprocess.Popen, timeout: float) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        done = [
            int(p.name)
            for p in (workdir / "checkpoints").glob("[0-9]*")
            if (p / "_CHECKPOINT_METADATA").exists() and p.name.isdigit()
        ]
        if done:
            return max(done)
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint within {timeout}s; returncode {process.poll()}")


def test_killed_run_resumes_and_matches_uninterrupted(tiny_affwild2, tmp_path):
    steps_flag = "--config.num_train_steps=40"
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        train_helpers.main_command(killed, tiny_affwild2, steps_flag),
        cwd=train_helpers.REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_checkpoint(killed, process, timeout=240)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not (killed / "results.json").exists(), "killed too late to test resume"

    resumed = train_helpers.run_main(killed, tiny_affwild2, steps_flag)
    assert "Resuming from" in resumed.stderr
    uninterrupted = tmp_path / "uninterrupted"
    train_helpers.run_main(uninterrupted, tiny_affwild2, steps_flag)
    resumed_result = json.loads((killed / "results.json").read_text())
    expected = json.loads((uninterrupted / "results.json").read_text())
    assert resumed_result["step"] == 40
    # Same model, optimizer, data order and dropout keys: the same numbers.
    assert resumed_result == expected
    # The interrupted run's records after its checkpoint were redone, not repeated.
    records = [(r["step"], r["split"]) for r in read_metrics(str(killed))]
    assert len(records) == len(set(records))
    assert records == [(r["step"], r["split"]) for r in read_metrics(str(uninterrupted))]


def test_config_key_typo_is_named(tiny_affwild2, tmp_path):
    result = train_helpers.run_main(tmp_path, tiny_affwild2, "--config.batch_sise=8", check=False)
    assert result.returncode != 0
    assert "batch_sise" in result.stderr and "batch_size" in result.stderr


def test_unbuilt_dataset_says_how_to_build(tmp_path):
    config = train_helpers.tiny_config(str(tmp_path / "nothing_here"))
    with pytest.raises(sources.DatasetNotBuiltError, match="python -m affect_jax.build"):
        train.train_and_evaluate(config, str(tmp_path / "work"))


def test_checkpoint_of_another_model_is_refused(tiny_affwild2, tmp_path):
    train.train_and_evaluate(
        train_helpers.tiny_config(tiny_affwild2, num_train_steps=5), str(tmp_path)
    )
    wider = train_helpers.tiny_config(tiny_affwild2, num_train_steps=10)
    wider.model.conv_features = (8, 16, 32)
    with pytest.raises(checkpoints.CheckpointMismatchError, match=r"model=.*fresh --workdir"):
        train.train_and_evaluate(wider, str(tmp_path))


def test_checkpoint_resumes_under_another_first_block_and_compute_dtype(tiny_affwild2, tmp_path):
    fused = train_helpers.tiny_config(tiny_affwild2, num_train_steps=4)
    fused.model.first_block = "fused"
    train.train_and_evaluate(fused, str(tmp_path))
    plain = train_helpers.tiny_config(tiny_affwild2, num_train_steps=6)
    plain.model.first_block = "plain"
    plain.model.compute_dtype = "bfloat16"
    result = train.train_and_evaluate(plain, str(tmp_path))
    assert result["step"] == 6
    # A checkpoint from before these keys existed is the same model too.
    older = ml_collections.ConfigDict(fused.to_dict())
    del older.model["first_block"], older.model["compute_dtype"]
    checkpoints.check_compatible(older, plain, str(tmp_path))


class _NanLabelsAfter:
    """A source whose valence labels turn NaN from record `start` on."""

    def __init__(self, source, start):
        self._source, self._start = source, start

    def __len__(self):
        return len(self._source)

    def __getitem__(self, index):
        record = dict(self._source[index])
        if index >= self._start:
            record["valence"] = np.float32("nan")
        return record


def test_nan_loss_stops_with_step_and_keeps_checkpoints(tiny_affwild2, tmp_path, monkeypatch):
    open_split = sources.open_split

    def poisoned(name, data_dir, split):
        source = open_split(name, data_dir, split)
        return _NanLabelsAfter(source, 0) if split == "train" else source

    monkeypatch.setattr(sources, "open_split", poisoned)
    config = train_helpers.tiny_config(tiny_affwild2)
    with pytest.raises(train.NonFiniteLossError, match="at step 1 .*learning_rate"):
        train.train_and_evaluate(config, str(tmp_path))
