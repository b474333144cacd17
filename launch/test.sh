#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first:
#   bash launch/test.sh [PYTEST_ARGS...]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source launch/setup_env.sh test
python -m pytest -q --durations=15 "$@" tests
