"""The stage table (stages/__init__.py) is the one place a stage's name means something."""

import re
from pathlib import Path

import pytest

from affect_jax import stages
from affect_jax.config import load_config

PACKAGE = Path(__file__).resolve().parents[2] / "affect_jax"


@pytest.mark.parametrize(
    "config_name, reads, per_video",
    [
        ("affwild2_cnn", "frames", False),
        ("affwild2_multitask", "frames", False),
        ("ck_plus_cnn", "frames", False),
        ("affwild2_extract", "", False),
        ("affwild2_rnn", "windows", True),
    ],
)
def test_each_config_finds_what_its_stage_reads(config_name, reads, per_video):
    stage = stages.stage_of(load_config(config_name))
    assert (stage.reads, stage.trains) == (reads, bool(reads))
    assert ("per_video" in stage.evaluators) == per_video


def test_an_unknown_stage_names_the_valid_ones():
    config = load_config("affwild2_cnn")
    config.stage = "train_transformer"
    with pytest.raises(stages.UnknownStageError, match="train_cnn, extract, train_rnn"):
        stages.run(config, "/nonexistent")


def test_no_module_branches_on_a_stage_name():
    pattern = re.compile(r"""\.stage\s*[!=]=|["'](train_cnn|train_rnn|extract)["']\s*[!=]=""")
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "stages" / "__init__.py":
            continue
        found = [line for line in path.read_text().splitlines() if pattern.search(line)]
        assert not found, f"{path.relative_to(PACKAGE)}: {found}"
