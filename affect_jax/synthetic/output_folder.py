"""Where a synthetic layout may be written: an empty folder or our own earlier output.

Each writer marks its output with a JSON file written first and completed
last. Regenerating into a marked folder replaces the earlier output (stale
files of a larger earlier run would otherwise survive); a foreign non-empty
folder is never touched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path


def prepare(root: Path, marker: str, owned: Iterable[str], what: str) -> None:
    """Makes `root` ready for a fresh output.

    Args:
      root: the output folder.
      marker: the file name that marks a folder as written by this writer.
      owned: glob patterns, relative to `root`, of what the writer creates
        (folders or files); these are deleted from an earlier output.
      what: the dataset's name, for the error message.

    Raises:
      FileExistsError: if `root` is not empty and not marked as ours.
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        if not (root / marker).exists():
            raise FileExistsError(
                f"{root} is not empty and is not a synthetic {what} output (no {marker}); "
                "refusing to write into it. Pick an empty or new folder."
            )
        for pattern in owned:
            for path in root.glob(pattern):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
    root.mkdir(parents=True, exist_ok=True)


def is_complete(root: Path, marker: str) -> bool:
    """Whether `root` holds a finished output of the writer that uses `marker`."""
    path = Path(root) / marker
    return path.exists() and bool(json.loads(path.read_text()).get("complete"))
