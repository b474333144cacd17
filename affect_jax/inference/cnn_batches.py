"""Face crops to the CNN in full batches, a few in flight, each result handed to its owner.

Crops of many faces (a video's tracks, a folder's photos) share batches of
`model.batch_size`. JAX dispatches a batch asynchronously, so the next crops
are cut while the CNN runs; results are collected `in_flight` batches later
and delivered with the owner of each row, so that nobody holds them longer.
Every crop passes here on its way to the CNN, so here it is normalised as the
CNN's training normalised it (`model.photometric`, faces/photometric.py).

    batches = CnnBatches(model, deliver)  # deliver(owners [n], outputs [n, K], features [n, D])
    for owner, crop in crops:
        batches.add(owner, crop)
    batches.flush()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from affect_jax.faces import photometric

if TYPE_CHECKING:
    from affect_jax.inference.frame_model import FrameModel

Deliver = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class CnnBatches:
    """Batches crops for `model`'s CNN and delivers outputs and features by owner."""

    def __init__(self, model: FrameModel, deliver: Deliver, in_flight: int = 2):
        self.model, self.deliver, self.in_flight = model, deliver, in_flight
        self._owners: list[int] = []
        self._crops: list[np.ndarray] = []
        self._pending: list[tuple[Any, np.ndarray]] = []

    def add(self, owner: int, crop: np.ndarray) -> None:
        """Queues one uint8 96x96 crop of `owner`; a full batch starts on the CNN."""
        self._owners.append(owner)
        self._crops.append(crop)
        if len(self._crops) == self.model.batch_size:
            self._submit()
            if len(self._pending) > self.in_flight:
                self._deliver(self._pending.pop(0))

    def flush(self) -> None:
        """Runs what is queued and delivers every result."""
        if self._crops:
            self._submit()
        while self._pending:
            self._deliver(self._pending.pop(0))

    def _submit(self) -> None:
        crops = photometric.normalise_faces(np.stack(self._crops), self.model.photometric)
        started = self.model.submit(crops)
        self._pending.append((started, np.asarray(self._owners)))
        self._crops, self._owners = [], []

    def _deliver(self, done: tuple[Any, np.ndarray]) -> None:
        outputs, features = self.model.collect(done[0])
        self.deliver(done[1], outputs, features)
