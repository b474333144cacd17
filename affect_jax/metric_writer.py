"""Metrics to TensorBoard event files and a JSON-lines file, process 0 only."""

import json
from pathlib import Path

import jax


class MetricWriter:
    """Writes scalars to `workdir/tensorboard/` and `workdir/metrics.jsonl`.

    Other processes of a multi-host run get a writer that writes nothing, so
    every process can call it unconditionally.
    """

    def __init__(self, workdir: str):
        self._enabled = jax.process_index() == 0
        if not self._enabled:
            return
        from tensorboardX import SummaryWriter  # Only process 0 needs it.

        self.jsonl_path = Path(workdir) / "metrics.jsonl"
        self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")
        self._tensorboard = SummaryWriter(str(Path(workdir) / "tensorboard"))

    def write(self, step: int, scalars: dict[str, float], prefix: str) -> None:
        """Writes `scalars` as `prefix/name` at `step`; one JSON line per call."""
        if not self._enabled:
            return
        for name, value in scalars.items():
            self._tensorboard.add_scalar(f"{prefix}/{name}", value, step)
        record = {
            "step": int(step),
            "split": prefix,
            **{k: float(v) for k, v in scalars.items()},
        }
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()
        self._tensorboard.flush()

    def close(self) -> None:
        if self._enabled:
            self._jsonl.close()
            self._tensorboard.close()


def read_metrics(workdir: str) -> list[dict]:
    """All records of `workdir/metrics.jsonl`, for notebooks, plots and tests."""
    path = Path(workdir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
