#!/usr/bin/env bash
# Creates (or reuses) the project virtual environment and installs the package.
# Usage: source launch/setup_env.sh EXTRAS     e.g. "test", or "" for none
# Environment: AFFECT_JAX_VENV (default: .venv in the repository root).
# Always pass EXTRAS ("" for none): `source` without arguments hands this file
# the calling script's own arguments, which pip would read as extras.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AFFECT_JAX_VENV:-$repo_root/.venv}"
extras="${1:-}"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating virtual environment $venv"
  python3 -m venv "$venv"
fi
target="$repo_root"
[ -n "$extras" ] && target="$repo_root[$extras]"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e "$target"
export PATH="$venv/bin:$PATH"
