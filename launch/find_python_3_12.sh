#!/usr/bin/env bash
# Sourced: sets python_3_12 to a Python 3.12 interpreter, or exits saying what to set.
# AFFECT_JAX_NEWEST_PYTHON wins; else python3.12 on PATH, then pyenv's 3.12.x.
is_python_3_12() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }
python_3_12="${AFFECT_JAX_NEWEST_PYTHON:-}"
if [ -z "$python_3_12" ]; then
  pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for candidate in python3.12 "$pyenv_root"/versions/3.12*/bin/python3.12; do
    if is_python_3_12 "$candidate"; then
      python_3_12="$candidate"
      break
    fi
  done
fi
if [ -z "$python_3_12" ] || ! is_python_3_12 "$python_3_12"; then
  echo "No Python 3.12 found: set AFFECT_JAX_NEWEST_PYTHON=/path/to/python3.12." >&2
  exit 1
fi
