"""The evaluators a training stage runs after its last step: listed by name, run in order."""

from pathlib import Path

import numpy as np
import pytest

from affect_jax import stages
from affect_jax.config import load_config
from affect_jax.stages import evaluators


def test_each_stage_lists_its_evaluators_and_the_config_can_replace_them():
    frame, rnn = load_config("affwild2_cnn"), load_config("affwild2_rnn")
    assert frame.evals == () and rnn.evals == ()
    assert evaluators.names_for(frame, stages.stage_of(frame).evaluators) == (
        "au_thresholds",
        "cross_dataset",
    )
    assert evaluators.names_for(rnn, stages.stage_of(rnn).evaluators) == ("per_video",)
    frame.evals = ("cross_dataset",)
    assert evaluators.names_for(frame, stages.stage_of(frame).evaluators) == ("cross_dataset",)
    frame.evals = ("cross_dataset", "confusion")
    with pytest.raises(ValueError, match=r"\['confusion'\].*au_thresholds, per_video"):
        evaluators.names_for(frame, ())


def test_evaluators_run_in_order_and_the_last_figure_predictions_win(monkeypatch):
    calls = []

    def evaluator(name, metrics, figures=None):
        def run(finished):
            calls.append((name, finished.validation["outputs"].sum()))
            return evaluators.Evaluation(metrics, figure_predictions=figures)

        return run

    frames = {"outputs": np.zeros((4, 2))}
    monkeypatch.setattr(
        evaluators,
        "EVALUATORS",
        {
            "first": evaluator("first", {"a": 1, "shared": 1}),
            "frames": evaluator("frames", {"b": 2}, frames),
            "last": evaluator("last", {"shared": 3}),
        },
    )
    validation = {"outputs": np.ones((3, 2))}
    finished = evaluators.Finished(None, None, None, None, None, None, Path("."), validation)
    metrics, figures = evaluators.run_all(finished, ("first", "frames", "last"))
    # Each sees the validation predictions; a later one's metric replaces an earlier one's.
    assert calls == [("first", 6.0), ("frames", 6.0), ("last", 6.0)]
    assert metrics == {"a": 1, "shared": 3, "b": 2} and figures is frames
    assert evaluators.run_all(finished, ("first",))[1] is validation
