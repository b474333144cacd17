"""Fills .whl/ with what the lent GPU machine lacks to run the project (cp312, x86-64 Linux).

    bash benchmarks/gpu_wheels.sh            # resolve, download, check, print the size
    bash benchmarks/gpu_wheels.sh --prove    # and run gpu_check.py --cpu_smoke on a stand-in

The lent machines have no network, Python 3.12, jax 0.11.2 for CUDA 13, flax,
optax, orbax-checkpoint and the other packages of benchmarks/gpu_machine_packages.txt.
What the project needs beyond them travels in .whl/ (the device tool's `carry`,
64 MiB with the code), and `AFFECT_JAX_MACHINE=1 bash benchmarks/gpu_check.sh`
installs it there with --no-index --no-deps --target. Steps:
  1. resolve: the checkout's requirements (setup.py's install_requires) with
     pip's --dry-run --report under a Python 3.12, the versions the machine is
     known to have held as constraints;
  2. download: each resolved package the machine lacks, except NOT_CARRIED,
     as a wheel (pip wheel builds one from a pure-Python sdist: `promise`);
  3. check: every requirement of every carried wheel is carried or on the
     machine (in the known version's range, where the version is known).
Prints the folder's size against GOAL_MIB; exit status 1 if the check fails.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
MACHINE_LIST = REPO / "benchmarks/gpu_machine_packages.txt"
GOAL_MIB = 40
# What the project requires but the GPU run neither needs nor carries.
NOT_CARRIED = {
    "pyarrow": "the machine has it; tfds imports it only for formats the project does not use",
    "onednn-cpu-gomp": "oneDNN speeds up CPU convolutions only",
}
# The lent machine's Python, for requirement markers.
TARGET_ENVIRONMENT = {
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


def machine_packages(path: Path = MACHINE_LIST) -> dict[str, str | None]:
    """{canonical name: version or None (unknown)} of what the machine has."""
    packages = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            packages[canonicalize_name(name)] = version or None
    return packages


def resolve(python: str, machine: dict) -> dict[str, str]:
    """{canonical name: version} of everything pip installs with the checkout under `python`."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints = Path(scratch, "constraints.txt")
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in machine.items() if v))
        report = Path(scratch, "report.json")
        command = [python, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed"]
        command += ["--prefer-binary", "--target", str(Path(scratch, "target"))]
        command += ["--report", str(report), "-c", str(constraints), str(REPO)]
        subprocess.run(command, check=True)
        installed = json.loads(report.read_text())["install"]
    resolved = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in installed
    }
    resolved.pop("affect-jax")  # The checkout itself travels as the code.
    return resolved


def download(python: str, pins: dict[str, str], folder: Path) -> None:
    """The wheels of `pins` into `folder`, which keeps nothing else."""
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()
    command = [python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--prefer-binary"]
    command += ["-w", str(folder), *(f"{name}=={version}" for name, version in pins.items())]
    subprocess.run(command, check=True)


def wheel_name(path: Path) -> str:
    return canonicalize_name(path.name.split("-")[0])


def wheel_requirements(path: Path) -> list[Requirement]:
    """The Requires-Dist of a wheel that apply on the machine, extras left out."""
    with zipfile.ZipFile(path) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    found = []
    for line in lines:
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker is None or requirement.marker.evaluate(TARGET_ENVIRONMENT):
                found.append(requirement)
    return found


def check(folder: Path, machine: dict) -> list[str]:
    """What a carried wheel needs that is neither carried nor on the machine (or its reason)."""
    wheels = sorted(folder.glob("*.whl"))
    carried = [wheel_name(w) for w in wheels]
    problems = [f"two versions of {n} in {folder}" for n in set(carried) if carried.count(n) > 1]
    for wheel in wheels:
        for requirement in wheel_requirements(wheel):
            name = canonicalize_name(requirement.name)
            known = machine.get(name)
            if name in carried or name in NOT_CARRIED:
                continue
            if name not in machine:
                problems.append(f"{wheel.name} needs {requirement}: neither carried nor there")
            elif known and not requirement.specifier.contains(known, prereleases=True):
                problems.append(f"{wheel.name} needs {requirement}; the machine has {known}")
    return problems


def highest_glibc(folder: Path) -> str:
    """The newest glibc a carried wheel's platform tag asks for (the machine must have it)."""
    found = [
        tuple(int(part) for part in match)
        for wheel in folder.glob("*.whl")
        for match in re.findall(r"manylinux_(\d+)_(\d+)", wheel.name)
    ]
    if any("manylinux2014" in w.name or "manylinux1" in w.name for w in folder.glob("*.whl")):
        found.append((2, 17))
    return "{}.{}".format(*max(found)) if found else "none (pure-Python wheels only)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--python", required=True, help="A Python 3.12 with pip (resolves).")
    parser.add_argument("--out", default=str(REPO / ".whl"), help="The wheel folder.")
    parser.add_argument(
        "--standin", default="", help="Also write the machine-held packages pip resolved here."
    )
    args = parser.parse_args()
    machine = machine_packages()
    resolved = resolve(args.python, machine)
    carry = {n: v for n, v in resolved.items() if n not in machine and n not in NOT_CARRIED}
    folder = Path(args.out)
    download(args.python, carry, folder)
    if args.standin:
        held = sorted(n for n in resolved if n in machine)
        lines = [f"{n}=={machine[n] or resolved[n]}" for n in held]
        Path(args.standin).write_text("\n".join(lines) + "\n")
    problems = check(folder, machine)
    wheels = sorted(folder.glob("*.whl"), key=lambda w: -w.stat().st_size)
    size_mib = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"{len(wheels)} wheels in {folder}, {size_mib:.1f} MiB (goal <= {GOAL_MIB} MiB):")
    for wheel in wheels[:6]:
        print(f"  {wheel.stat().st_size / 2**20:5.1f} MiB  {wheel.name}")
    left = [n for n in resolved if n in NOT_CARRIED]
    print(f"Not carried: {', '.join(f'{n} ({NOT_CARRIED[n]})' for n in left) or 'nothing'}.")
    print(f"Newest glibc asked for: {highest_glibc(folder)}.")
    print("Check:", "every requirement is carried or on the machine." if not problems else "")
    for problem in problems:
        print(f"  {problem}")
    if size_mib > GOAL_MIB:
        print(f"Over the goal of {GOAL_MIB} MiB.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
