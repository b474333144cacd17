"""Turns face crops into model inputs, in parallel and in order.

The model sees 96x96 grayscale faces. Converting with `cv2.cvtColor` (not by
decoding straight to gray) keeps training frames identical to what the
prediction path computes from colour video frames.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

MODEL_IMAGE_SIZE = 96

_T = TypeVar("_T")
_R = TypeVar("_R")


def to_model_input(image_bgr: np.ndarray) -> np.ndarray:
    """A BGR (or already gray) face crop as a uint8 (96, 96) gray image."""
    gray = image_bgr if image_bgr.ndim == 2 else cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    # INTER_AREA averages the source pixels: no aliasing when shrinking.
    return cv2.resize(gray, (MODEL_IMAGE_SIZE, MODEL_IMAGE_SIZE), interpolation=cv2.INTER_AREA)


def read_frame(path: Path) -> np.ndarray | None:
    """Reads a face crop and returns the model input, uint8 (96, 96, 1).

    Returns:
      The image, or None if the file cannot be read or decoded (a corrupt
      frame must not stop a build of a million frames).
    """
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        return None
    # OpenCV decodes a JPEG cut inside its image data into a partly gray frame
    # with only a console warning; the end-of-image marker tells them apart.
    if data[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" not in data[-64:].tobytes():
        return None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None:
        return None
    return to_model_input(image)[:, :, None]


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def ordered_parallel_map(
    fn: Callable[[_T], _R],
    items: Iterable[_T],
    *,
    num_workers: int,
    chunk_size: int = 64,
) -> Iterator[tuple[_T, _R]]:
    """Yields (item, fn(item)) in input order, computing ahead on threads.

    Worth it only when `fn` releases the GIL (OpenCV decoding and encoding
    do). At most 2 * num_workers chunks are in flight, so memory stays bounded
    however long `items` is, and `items` may be a lazy generator.

    Args:
      fn: the function to apply.
      items: the inputs, consumed lazily.
      num_workers: threads; 0 runs `fn` inline.
      chunk_size: items per task; amortizes the thread hand-over cost.
    """
    if num_workers <= 0:
        for item in items:
            yield item, fn(item)
        return

    def run_chunk(chunk: list[_T]) -> list[_R]:
        return [fn(item) for item in chunk]

    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        pending: collections.deque = collections.deque()
        for chunk in _batched(items, chunk_size):
            pending.append((chunk, pool.submit(run_chunk, chunk)))
            if len(pending) >= 2 * num_workers:
                done_chunk, future = pending.popleft()
                yield from zip(done_chunk, future.result(), strict=True)
        while pending:
            done_chunk, future = pending.popleft()
            yield from zip(done_chunk, future.result(), strict=True)
