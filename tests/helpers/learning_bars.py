"""The learning tests' training seed, and a record of what each run reached.

A learning test asserts that a metric on held-out data crosses a bar. The bars
are set from the values the same test reached over several training seeds,
less a stated margin, so a bar far below what the code reaches cannot hide a
regression. `python launch/learning_bars.py` reruns the tests with
`AFFECT_JAX_TEST_SEED=0, 1, 2, ...` and `AFFECT_JAX_LEARNING_RECORD=FILE` (each
test appends one JSON line per run to FILE) and prints every metric's values
per seed beside its bar. In CI neither variable is set: seed 0, no record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

SEED_VARIABLE = "AFFECT_JAX_TEST_SEED"
RECORD_VARIABLE = "AFFECT_JAX_LEARNING_RECORD"


def training_seed() -> int:
    """The seed of the learning tests' runs: 0 unless the bar measurement asks another."""
    return int(os.environ.get(SEED_VARIABLE, "0"))


def record(test: str, values: Mapping[str, float], bars: Mapping[str, float]) -> None:
    """Appends {test, seed, values, bars} to the record file, when one is asked for."""
    path = os.environ.get(RECORD_VARIABLE)
    if not path:
        return
    line = {
        "test": test,
        "seed": training_seed(),
        "values": {k: float(v) for k, v in values.items()},
        "bars": {k: float(v) for k, v in bars.items()},
    }
    with open(path, "a") as file:
        file.write(json.dumps(line) + "\n")


def check(test: str, values: Mapping[str, float], bars: Mapping[str, float]) -> None:
    """Records the run, then fails unless every value is above its bar."""
    record(test, values, bars)
    below = {k: (round(float(values[k]), 4), bars[k]) for k in bars if not values[k] > bars[k]}
    assert not below, f"{test}: (value, bar) below the bar: {below}; all values: {dict(values)}"
