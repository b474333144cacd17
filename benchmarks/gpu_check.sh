#!/usr/bin/env bash
# The prepared GPU check (issue 20), from the repository root of a fresh GPU
# machine; it stops by itself within 9 minutes, the install included:
#   bash benchmarks/gpu_check.sh [gpu_check.py flags, e.g. --out=FILE]
# Creates a venv, installs .[cuda12,test] (launch/setup_env.sh), then runs
# benchmarks/gpu_check.py, which writes its report (one section for
# benchmarks/RESULTS.md) to --out after every step and prints it.
# Environment:
#   AFFECT_JAX_VENV             venv to create or reuse (default: .venv-gpu)
#   AFFECT_JAX_EXTRAS           pip extras (default: cuda12,test)
#   AFFECT_JAX_WHEELS=DIR       install offline, from the wheels in DIR only
#   AFFECT_JAX_PYTHON=PYTHON    no venv and no install: run with PYTHON and the
#                               packages it has (a machine with its own jax)
#   AFFECT_JAX_MACHINE=1        no network: the machine's python3 (or
#                               AFFECT_JAX_PYTHON) with its own jax, flax, optax
#                               and orbax, plus the wheels that
#                               benchmarks/gpu_wheels.sh put in .whl/ (or
#                               AFFECT_JAX_MACHINE_WHEELS), installed with
#                               --no-index --no-deps --target; oneDNN is built
#                               only where the machine can (a GPU needs none)
#   AFFECT_JAX_CHECK_SECONDS    the whole run's limit (default: 540)
#   AFFECT_JAX_INSTALL_SECONDS  the install's own part of it (default: 240)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
total="${AFFECT_JAX_CHECK_SECONDS:-540}"
install_limit="${AFFECT_JAX_INSTALL_SECONDS:-240}"
start=$SECONDS

if [ "${AFFECT_JAX_MACHINE:-0}" = 1 ]; then
  python="${AFFECT_JAX_PYTHON:-python3}"
  wheels="${AFFECT_JAX_MACHINE_WHEELS:-$repo_root/.whl}"
  site="${AFFECT_JAX_MACHINE_SITE:-/tmp/affect-jax-site}"
  shopt -s nullglob
  carried=("$wheels"/*.whl)
  shopt -u nullglob
  echo "No network: $python and its packages, plus ${#carried[@]} wheels from $wheels into $site."
  if [ "${#carried[@]}" -gt 0 ]; then
    "$python" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir \
      --upgrade --target "$site" "${carried[@]}"
  fi
  export PYTHONPATH="$repo_root:$site${PYTHONPATH:+:$PYTHONPATH}"
  "$python" build_onednn.py  # One line where it cannot: XLA's convolutions serve the GPU.
elif [ -n "${AFFECT_JAX_PYTHON:-}" ]; then
  python="$AFFECT_JAX_PYTHON"
  export PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}"
  echo "No install: running with $python as it is."
else
  export AFFECT_JAX_VENV="${AFFECT_JAX_VENV:-$repo_root/.venv-gpu}"
  extras="${AFFECT_JAX_EXTRAS:-cuda12,test}"
  if [ -n "${AFFECT_JAX_WHEELS:-}" ]; then
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$AFFECT_JAX_WHEELS"
  fi
  # Without a network pip would retry for minutes; fail fast and say so instead.
  export PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-20}" PIP_RETRIES="${PIP_RETRIES:-1}"
  echo "Installing .[$extras] into $AFFECT_JAX_VENV (at most ${install_limit} s)"
  # timeout signals its whole process group, so pip goes too.
  if ! timeout --kill-after=10 "$install_limit" \
      bash -c 'source launch/setup_env.sh "$1"' _ "$extras"; then
    echo "Install failed or ran past ${install_limit} s ($((SECONDS - start)) s); nothing measured." >&2
    exit 1
  fi
  python="$AFFECT_JAX_VENV/bin/python"
fi
install_s=$((SECONDS - start))
echo "Install took ${install_s} s"

left=$((total - install_s))
status=0
# The check plans its steps to end 20 s before the hard stop (the last step's
# grace and the report), counted from now: Python and JAX take a while to start.
PYTHONUNBUFFERED=1 timeout --kill-after=10 "$left" "$python" benchmarks/gpu_check.py \
  --deadline_at=$(($(date +%s) + left - 20)) --install_s="$install_s" "$@" || status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "Stopped at the overall limit (${total} s); the report so far is in --out" \
    "(default benchmarks/gpu_check_report.md)." >&2
fi
echo "gpu_check: $((SECONDS - start)) s in all, exit status $status"
exit "$status"
