"""metrics.jsonl holds each (step, split) once, also across an interrupted run."""

from affect_jax.training.metric_writer import MetricWriter, read_metrics


def test_resume_drops_the_interrupted_runs_records_after_the_checkpoint(tmp_path):
    first = MetricWriter(str(tmp_path))
    for step in range(1, 9):
        first.write(step, {"loss": 1.0 / step}, "train")
    first.write(4, {"ccc_mean": 0.5}, "validation")
    first.write(8, {"ccc_mean": 0.6}, "validation")
    first.close()
    with open(tmp_path / "metrics.jsonl", "a") as cut_short:
        cut_short.write('{"step": 9, "split": "tr')  # A kill mid-line.

    resumed = MetricWriter(str(tmp_path), resume_step=4)  # Restarts from checkpoint 4.
    for step in range(5, 7):
        resumed.write(step, {"loss": 2.0 / step}, "train")
    resumed.close()

    records = [(r["step"], r["split"]) for r in read_metrics(str(tmp_path))]
    assert records == [(s, "train") for s in range(1, 5)] + [(4, "validation")] + [
        (5, "train"),
        (6, "train"),
    ]
    assert read_metrics(str(tmp_path))[-1]["loss"] == 2.0 / 6  # The redone value.


def test_a_fresh_run_keeps_existing_records(tmp_path):
    writer = MetricWriter(str(tmp_path))
    writer.write(1, {"loss": 1.0}, "train")
    writer.close()
    MetricWriter(str(tmp_path)).close()  # resume_step 0: nothing to drop.
    assert [r["step"] for r in read_metrics(str(tmp_path))] == [1]


def test_a_killed_runs_cut_short_last_line_is_skipped_when_read(tmp_path):
    writer = MetricWriter(str(tmp_path))
    writer.write(1, {"loss": 1.0}, "train")
    writer.close()
    with open(tmp_path / "metrics.jsonl", "a") as cut_short:
        cut_short.write('{"step": 2, "spl')
    assert [r["step"] for r in read_metrics(str(tmp_path))] == [1]
