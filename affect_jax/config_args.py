"""Parses the argument after `file.py:` in `--config=configs/file.py:arg`.

`configs/affwild2_cnn.py:tiny,steps=50` gives `{'tiny': True, 'steps': 50}`:
a bare word is a flag set to True, `key=value` is read as a Python literal when
it parses as one and kept as a string otherwise.
"""

import ast
import importlib.util
from pathlib import Path
from typing import Any

import ml_collections


def parse_arg(arg: str | None, **defaults: Any) -> ml_collections.ConfigDict:
    """Returns the config-file argument as a ConfigDict over `defaults`.

    Args:
      arg: the text after the colon, or None/"" when there is none.
      **defaults: every accepted key with its default; unknown keys are errors.

    Raises:
      ValueError: a key that is not in `defaults`, naming the valid ones.
    """
    parsed = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, sep, text = item.partition("=")
        key = key.strip()
        if key not in defaults:
            raise ValueError(
                f"Unknown config argument {key!r} in {arg!r}; valid arguments: "
                f"{', '.join(sorted(defaults))}."
            )
        if not sep:
            value: Any = True
        else:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text
        parsed[key] = value
    return parsed


CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"


def load_config(name_or_path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """`get_config(arg)` of `configs/<name>.py` (or of a config file path).

    For notebooks, benchmarks and tests; the command line uses --config.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIGS_DIR / f"{name_or_path}.py"
    if not path.exists():
        raise FileNotFoundError(f"No config file {path}.")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg)
