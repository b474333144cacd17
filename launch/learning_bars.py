r"""Measures what the learning tests reach over training seeds, to set their bars.

    python launch/learning_bars.py                       # seeds 0-2, the default tests
    python launch/learning_bars.py --seeds=0,1,2,3,4 -- tests/stages/test_temporal_tasks.py

Runs the tests once per seed (AFFECT_JAX_TEST_SEED), each appending what it
reached to one record (AFFECT_JAX_LEARNING_RECORD; tests/helpers/learning_bars.py),
then prints per test and metric: the value of every seed, the lowest, the
test's bar, and the bar this rule proposes: the lowest value less a margin of
a fifth of it (at least 0.03), so that a seed we did not try still passes and
a regression of a fifth does not. Run by hand, not in CI (minutes per seed).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TESTS = (
    "tests/stages/test_affwild2_task_training.py::test_expression_cnn_learns_on_held_out_people",
    "tests/stages/test_affwild2_task_training.py::test_action_unit_cnn_learns_on_held_out_people",
    "tests/stages/test_affwild2_task_training.py"
    "::test_multitask_cnn_learns_all_three_tasks_on_held_out_people",
    "tests/stages/test_temporal_tasks.py::test_the_gru_learns_each_task_on_held_out_people",
)
MARGIN_SHARE, MARGIN_FLOOR = 0.2, 0.03
# As tests/helpers/learning_bars.py reads them (launch/ does not import tests/).
SEED_VARIABLE, RECORD_VARIABLE = "AFFECT_JAX_TEST_SEED", "AFFECT_JAX_LEARNING_RECORD"


def proposed_bar(lowest: float) -> float:
    """The lowest value seen less a fifth of it (at least 0.03), rounded down to 0.01."""
    margin = max(MARGIN_FLOOR, MARGIN_SHARE * abs(lowest))
    return float(int((lowest - margin) * 100) / 100)


def run_seeds(seeds: list[int], tests: list[str], record: Path) -> dict[int, int]:
    """Runs the tests once per seed; {seed: pytest's exit status}."""
    statuses = {}
    for seed in seeds:
        env = {**os.environ, SEED_VARIABLE: str(seed), RECORD_VARIABLE: str(record)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
        print(f"seed {seed}: {' '.join(command)}", flush=True)
        statuses[seed] = subprocess.run(command, cwd=REPO, env=env).returncode
    return statuses


def table(lines: list[dict]) -> str:
    """Per test and metric: values by seed, the lowest, the bar, the proposed bar."""
    values = collections.defaultdict(dict)
    bars = {}
    for line in lines:
        for metric, value in line["values"].items():
            values[(line["test"], metric)][line["seed"]] = value
            bars[(line["test"], metric)] = line["bars"].get(metric)
    seeds = sorted({line["seed"] for line in lines})
    seed_columns = " | ".join(f"seed {s}" for s in seeds)
    rows = [
        f"| test | metric | {seed_columns} | lowest | bar | proposed |",
        "|---|---|" + "---|" * (len(seeds) + 3),
    ]
    for (test, metric), by_seed in sorted(values.items()):
        lowest = min(by_seed.values())
        cells = " | ".join(f"{by_seed[s]:.3f}" if s in by_seed else "—" for s in seeds)
        bar = bars[(test, metric)]
        rows.append(
            f"| {test} | {metric} | {cells} | {lowest:.3f} | "
            f"{'—' if bar is None else f'{bar:.2f}'} | {proposed_bar(lowest):.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="Training seeds, comma-separated.")
    parser.add_argument("--record", default="", help="JSON-lines record (default: a temp file).")
    parser.add_argument("tests", nargs="*", default=list(DEFAULT_TESTS))
    args = parser.parse_args()
    record = Path(args.record or tempfile.mkstemp(prefix="learning_bars_", suffix=".jsonl")[1])
    statuses = run_seeds([int(s) for s in args.seeds.split(",")], args.tests, record)
    lines = [json.loads(text) for text in record.read_text().splitlines() if text.strip()]
    print(f"\nRecord: {record}; pytest exit status by seed: {statuses}\n")
    print(table(lines))


if __name__ == "__main__":
    main()
