#!/usr/bin/env bash
# Fills .whl/ (ignored by git) with the wheels the lent GPU machine lacks, for
# `AFFECT_JAX_MACHINE=1 bash benchmarks/gpu_check.sh` there (carry: [".whl"]):
#   bash benchmarks/gpu_wheels.sh [--prove]
# Resolves under a Python 3.12 (launch/find_python_3_12.sh), downloads, checks the
# folder against benchmarks/gpu_machine_packages.txt and prints its size
# (benchmarks/gpu_wheels.py). --prove then builds a stand-in of the machine, a
# Python 3.12 venv (.venv-machine) with only the machine's packages that the
# project uses (jax 0.11.2 for the CPU standing in for the CUDA build, and
# OpenCV 5, the worst case of its unknown opencv-python-headless), and runs
# gpu_check.py --cpu_smoke there through the no-network mode.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source launch/find_python_3_12.sh
venv="${AFFECT_JAX_VENV:-$repo_root/.venv}"
[ -x "$venv/bin/python" ] || source launch/setup_env.sh ""  # For `packaging`.
standin_list="$(mktemp)"
"$venv/bin/python" benchmarks/gpu_wheels.py --python="$python_3_12" --standin="$standin_list"
[ "${1:-}" = "--prove" ] || exit 0

machine_venv="$repo_root/.venv-machine"
rm -rf "$machine_venv"
"$python_3_12" -m venv "$machine_venv"
"$machine_venv/bin/python" -m pip install --quiet --upgrade pip
# The machine's own test runner, and OpenCV 5 in place of its opencv version.
grep -v '^opencv-python-headless==' "$standin_list" > "$standin_list.held"
"$machine_venv/bin/python" -m pip install --quiet --no-deps -r "$standin_list.held" \
  pytest pytest-timeout pluggy iniconfig 'opencv-python-headless>=5,<6'
echo "Stand-in: $("$machine_venv/bin/python" -m pip list 2>/dev/null | grep -ciE '^[a-z]') packages;" \
  "$("$machine_venv/bin/python" -c 'import jax, cv2; print("jax", jax.__version__, "cv2", cv2.__version__)')"
AFFECT_JAX_MACHINE=1 AFFECT_JAX_PYTHON="$machine_venv/bin/python" \
  AFFECT_JAX_MACHINE_SITE="$(mktemp -d)" \
  bash benchmarks/gpu_check.sh --cpu_smoke --out="$repo_root/.venv-machine/report.md"
