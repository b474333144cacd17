"""Copies of the committed legacy CNN run whose saved configs ask for a photometric method."""

import json
import shutil
from pathlib import Path

# Saved before config.input.photometric existed: as it is, it loads as "none".
LEGACY_CNN = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run_2026_12_01" / "cnn"


def legacy_cnn_with(root: Path, method: str) -> Path:
    """A copy of LEGACY_CNN under `root` whose every checkpoint's config has `method`.

    As a run trained with --config.input.photometric=`method` saves it: loading it
    reads the method from the checkpoint, as for any run.
    """
    copy = root / f"legacy_cnn_{method}"
    shutil.copytree(LEGACY_CNN, copy)
    for config_file in copy.glob("checkpoints/*/config/metadata"):
        config = json.loads(config_file.read_text())
        config.setdefault("input", {})["photometric"] = method
        config_file.write_text(json.dumps(config))
    return copy
