#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first:
#   bash launch/test.sh [PYTEST_ARGS...]
# In AFFECT_JAX_TEST_WORKERS processes (default 2, pytest-xdist; 0: this process
# only): the tests leave a core idle much of the time (Orbax, Grain, subprocesses,
# plots), so two processes on the 2-core CI machine take ~0.7x the time of one.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source launch/setup_env.sh test
python -m pytest -q --durations=15 -n "${AFFECT_JAX_TEST_WORKERS:-2}" "$@" tests
