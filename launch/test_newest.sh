#!/usr/bin/env bash
# The test suite on the newest releases setup.py allows, in a Python 3.12 venv
# (jax 0.11 and later need Python 3.12; launch/test.sh keeps the machine's python3):
#   bash launch/test_newest.sh [PYTEST_ARGS...]    (default: the whole suite, tests/)
# Arguments replace tests/, so `bash launch/test_newest.sh tests/models` runs one folder.
# Environment: AFFECT_JAX_NEWEST_PYTHON (default: the first Python 3.12 found:
# python3.12, then pyenv's), AFFECT_JAX_NEWEST_VENV (default: .venv-newest).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

source launch/find_python_3_12.sh  # Sets python_3_12 or exits with what to set.

export AFFECT_JAX_VENV="${AFFECT_JAX_NEWEST_VENV:-$repo_root/.venv-newest}"
export AFFECT_JAX_VENV_PYTHON="$python_3_12" AFFECT_JAX_UPGRADE=1
source launch/setup_env.sh test
python -c 'import sys, jax, flax, orbax.checkpoint as ocp; print(f"Newest stack: Python {sys.version.split()[0]}, jax {jax.__version__}, flax {flax.__version__}, orbax-checkpoint {ocp.__version__}")'
python -m pytest -q --durations=15 -n "${AFFECT_JAX_TEST_WORKERS:-2}" "${@:-tests}"
