"""Metrics to TensorBoard event files and a JSON-lines file, process 0 only."""

import json
import math
import os
from pathlib import Path

import jax
from absl import logging

from affect_jax.training.run import RunFolder


class MetricWriter:
    """Writes scalars to `workdir/tensorboard/` and `workdir/metrics.jsonl`.

    Other processes of a multi-host run get a writer that writes nothing, so
    every process can call it unconditionally.
    """

    def __init__(self, workdir: str, resume_step: int = 0):
        """`resume_step`: the checkpoint a resumed run restarts from. Records after
        it (written by the interrupted run, about to be redone) are dropped, so
        that every (step, split) appears once."""
        self._enabled = jax.process_index() == 0
        if not self._enabled:
            return
        from tensorboardX import SummaryWriter  # Only process 0 needs it.

        self._left_out: set[str] = set()  # Non-finite scalars already named in the log.
        self.jsonl_path = RunFolder(workdir).metrics
        if resume_step and self.jsonl_path.exists():
            _drop_records_after(self.jsonl_path, resume_step)
        self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")
        # purge_step hides the interrupted run's events after the checkpoint.
        self._tensorboard = SummaryWriter(
            str(RunFolder(workdir).tensorboard), purge_step=resume_step + 1 if resume_step else None
        )

    def write(self, step: int, scalars: dict[str, float], prefix: str) -> None:
        """Writes the finite `scalars` as `prefix/name` at `step`; one JSON line per call."""
        if not self._enabled:
            return
        scalars = self._finite(scalars, prefix)
        for name, value in scalars.items():
            self._tensorboard.add_scalar(f"{prefix}/{name}", value, step)
        record = {"step": int(step), "split": prefix, **scalars}
        self._jsonl.write(json.dumps(record, allow_nan=False) + "\n")
        self._jsonl.flush()
        self._tensorboard.flush()

    def _finite(self, scalars: dict[str, float], prefix: str) -> dict[str, float]:
        """`scalars` without NaN or infinite values; each one left out is logged once.

        The recall of a class with no example in the split is NaN: TensorBoard
        would warn at every evaluation, and NaN is not JSON.
        """
        finite = {name: float(value) for name, value in scalars.items()}
        finite = {name: value for name, value in finite.items() if math.isfinite(value)}
        for name in sorted(scalars.keys() - finite.keys()):
            if f"{prefix}/{name}" not in self._left_out:
                self._left_out.add(f"{prefix}/{name}")
                logging.info(
                    "%s/%s is %s, not logged (e.g. the recall of a class absent from the split).",
                    prefix,
                    name,
                    scalars[name],
                )
        return finite

    def close(self) -> None:
        if self._enabled:
            self._jsonl.close()
            self._tensorboard.close()


def _drop_records_after(path: Path, step: int) -> None:
    """Rewrites `path` without records past `step`; atomic, so a crash keeps the old file."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (ValueError, KeyError):
            continue  # A line cut short by the interruption.
    partial = path.with_suffix(".jsonl.partial")
    partial.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    os.replace(partial, path)


def read_metrics(workdir: str) -> list[dict]:
    """All records of `workdir/metrics.jsonl`, for notebooks, plots and tests.

    A last line cut short (a run killed mid-write) is skipped."""
    path = RunFolder(workdir).metrics
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    records = []
    for number, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except ValueError:
            if number < len(lines) - 1:
                raise ValueError(f"{path}, line {number + 1}: not a JSON record") from None
    return records
