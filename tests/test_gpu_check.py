"""benchmarks/gpu_check.py cannot rot before a GPU is lent: its CPU smoke run.

The smoke run goes through every step at tiny sizes and checks the report's
shape (speed on this CPU says nothing). benchmarks/gpu_check.sh's install and
arguments are checked in test_launch_scripts.py.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEADINGS = [
    "### 1. Tests on the device",
    "### 2. Matmul ceiling",
    "### 3. CNN train step",
    "### 4. GRU train step",
    "### 5. Feature extraction",
    "### 6. Grain loader against the CNN step",
    "### 7. Quickstart end to end",
    "### Bars",
]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    pytest.skip("no /proc/cpuinfo model name")


def _tables(markdown: str) -> list[list[list[str]]]:
    """Each markdown table as rows of cells, header row first, separator dropped."""
    tables, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("|-"):
                current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


@pytest.mark.long(43)
@pytest.mark.timeout(240)
def test_cpu_smoke_run_writes_every_section_with_figures(tmp_path):
    out = tmp_path / "report.md"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--cpu_smoke", f"--out={out}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=220,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    # ~45 s on an idle 2-core CI machine; the margin is for a loaded one.
    assert elapsed < 180, f"the smoke run took {elapsed:.0f} s"
    report = out.read_text()
    assert report.startswith("## ") and report.count("\n## ") == 0  # One section.
    assert report in result.stdout  # Printed too.
    positions = [report.find(heading) for heading in HEADINGS]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "Failed:" not in report and "Stopped" not in report, report
    machine = next(line for line in report.splitlines() if line.startswith("Machine:"))
    assert _cpu_model() in machine and "cores" in machine and "flags:" in machine
    assert "jax 0." in report and "flax 0." in report
    tables = _tables(report)
    assert len(tables) == 9  # Steps 1-6 one each, the quickstart two, the bars.
    for table in tables[:-1]:
        for row in table[1:]:
            assert any(re.fullmatch(r"-?[\d,.]+%?", cell) for cell in row), row
    bars = tables[-1]
    assert [row[0].split()[0] for row in bars[1:]] == ["CNN", "Grain", "quickstart"]


def test_the_gpu_test_list_leaves_out_what_holds_on_a_cpu_only():
    # gpu_check defines absl flags that other benchmarks define too: asked in a process of its own.
    script = "import json, gpu_check; print(json.dumps(gpu_check.SIZES['gpu']))"
    sizes = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO / "benchmarks",
        capture_output=True,
        text=True,
        check=True,
    )
    size = json.loads(sizes.stdout.splitlines()[-1])
    command = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
    command += [*size["test_paths"], "-m", size["test_marks"]]
    listed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    # oneDNN is registered for the CPU, and on a GPU `auto` means XLA and the plain block.
    for cpu_only in (
        "test_extension_loads",
        "test_backend_choice_and_fallback",
        "test_auto_is_fused_on_cpu",
        "test_two_devices_match_one",
        "[onednn",
    ):
        assert cpu_only not in listed, cpu_only
    assert "test_fused_and_plain_cnn_share_parameters_outputs_and_gradients[xla]" in listed
    assert "tests/training/test_crash_safety.py::" in listed


def _bars_module():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_check_bars  # A module beside the benchmark scripts, not a package.
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return gpu_check_bars


def test_bars_give_their_verdicts_from_the_figures():
    gpu_check_bars = _bars_module()
    batch, bar = gpu_check_bars.BAR_BATCH, gpu_check_bars.BAR_FRAMES_PER_S
    tolerance = gpu_check_bars.CCC_TOLERANCE
    quickstart = {"preset": "quickstart", "train_steps": 0}

    def verdicts(rate, loader, gaps, size=quickstart):
        cnn = {} if rate is None else {(batch, "bfloat16"): rate}
        found = {"cnn": cnn, "ccc_gap": gaps, **({"loader": loader} if loader else {})}
        return [row[2] for row in gpu_check_bars.bars(found, size)]

    # On the bar counts as met: >= for speeds, <= for the CCC gap.
    assert verdicts(bar, (8_000, 8_000, 4), [0.0, tolerance]) == ["met"] * 3
    assert verdicts(bar * 2, (9_000, 8_000, 4), [0.001, 0.002]) == ["met"] * 3
    assert verdicts(bar - 1, (7_999, 8_000, 4), [0.001, tolerance + 0.001]) == ["missed"] * 3
    assert verdicts(None, None, []) == ["not measured"] * 3
    assert verdicts(bar, (8_000, 8_000, 4), [0.001])[2] == "not measured"  # One CCC only.
    other = verdicts(bar, None, [0.5, 0.5], {"preset": "tiny", "train_steps": 0})
    assert other[2].startswith("not compared")
