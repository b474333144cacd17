#!/usr/bin/env bash
# Creates (or reuses) the project virtual environment and installs the package.
# Usage: source launch/setup_env.sh EXTRAS     e.g. "test", or "" for none
# Environment: AFFECT_JAX_VENV (default: .venv in the repository root);
#   AFFECT_JAX_VENV_PYTHON  the interpreter that creates the venv (default: python3);
#   AFFECT_JAX_UPGRADE=1    every requirement at its newest allowed release, also
#                           in a venv that already has older ones.
# Always pass EXTRAS ("" for none): `source` without arguments hands this file
# the calling script's own arguments, which pip would read as extras.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AFFECT_JAX_VENV:-$repo_root/.venv}"
extras="${1:-}"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating virtual environment $venv"
  "${AFFECT_JAX_VENV_PYTHON:-python3}" -m venv "$venv"
fi
target="$repo_root"
[ -n "$extras" ] && target="$repo_root[$extras]"
upgrade=()
[ "${AFFECT_JAX_UPGRADE:-0}" = 1 ] && upgrade=(--upgrade --upgrade-strategy eager)
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${upgrade[@]}" -e "$target"
export PATH="$venv/bin:$PATH"
