"""What benchmarks/gpu_check.py reports with: the machine line, budgets per step, markdown.

The check must end by itself on a machine lent for minutes, so each step runs
under a budget (`run_step`): the step skips what is left once its budget is
spent, an alarm stops it a little later if one measurement runs on, and a
watchdog thread ends the process if a call never returns (a hung GPU call
cannot be interrupted from Python). The report is rewritten after every step,
so a run stopped from outside still leaves what it measured.
"""

import collections
import dataclasses
import datetime
import importlib.metadata
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

# CPU features that decide how fast XLA:CPU runs the project's float32 and
# bfloat16 work; the machine line names which of them the host has.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
VERSIONED = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "grain", "numpy")


def cpu_line() -> str:
    """'CPU "model", N cores (flags: ...; not: ...)' from /proc/cpuinfo where there is one."""
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            if key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    count = f"{cores} cores" + (f" ({usable} usable)" if usable != cores else "")
    have = [flag for flag in CPU_FLAGS if flag in flags]
    lacking = [flag for flag in CPU_FLAGS if flag not in flags] if flags else []
    detail = f"flags: {' '.join(have) or 'none of ' + '/'.join(CPU_FLAGS)}"
    if have and lacking:
        detail += f"; not: {' '.join(lacking)}"
    return f'CPU "{model}", {count} ({detail})'


def accelerator_line(jax) -> str:
    """The devices JAX uses, with the NVIDIA driver and CUDA versions when nvidia-smi answers."""
    if jax.default_backend() == "cpu":
        return f"no GPU (jax backend cpu, {jax.device_count()} device)"
    kinds = collections.Counter(device.device_kind for device in jax.devices())
    line = ", ".join(f"{count} x {kind}" for kind, count in kinds.items())
    try:
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        smi = ""
    found = {
        name: re.search(rf"{name} Version:\s*(\S+)", smi) for name in ("Driver", "CUDA")
    }  # fmt: skip
    details = [f"{name.lower()} {match.group(1)}" for name, match in found.items() if match]
    return f"{line} ({', '.join(details) or 'driver and CUDA versions not visible'})"


def versions_line() -> str:
    """Python and the versions of the packages the figures depend on (and any jax plugin)."""
    names = list(VERSIONED) + sorted(
        {
            dist.metadata["Name"]
            for dist in importlib.metadata.distributions()
            if (dist.metadata["Name"] or "").startswith(("jax-cuda", "jax_cuda"))
        }
    )
    parts = [f"Python {platform.python_version()}"]
    for name in names:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def number(value) -> str:
    """A figure with as many digits as a speed deserves; '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


@dataclasses.dataclass
class Section:
    """One step's part of the report: tables, then notes."""

    title: str
    budget_s: float = 0.0
    used_s: float | None = None
    tables: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    stopped: bool = False  # By the alarm, in the middle of whatever it was doing.

    def table(self, *headers: str) -> list:
        """Adds a table; returns its list of rows to append to."""
        rows: list = []
        self.tables.append((headers, rows))
        return rows

    def markdown(self, number_: int) -> str:
        timing = f"budget {self.budget_s:.0f} s"
        timing += ", not run" if self.used_s is None else f", used {self.used_s:.0f} s"
        lines = [f"### {number_}. {self.title} ({timing})", ""]
        for headers, rows in self.tables:
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "---|" * len(headers))
            lines.extend("| " + " | ".join(number(cell) for cell in row) + " |" for row in rows)
            lines.append("")
        notes = list(self.notes)
        if self.skipped:
            notes.append(f"Not measured, step budget spent: {', '.join(self.skipped)}.")
        lines.extend(f"{note}\n" for note in notes)
        return "\n".join(lines).rstrip() + "\n"


class Report:
    """The one markdown section: heading, machine and version lines, steps, bars."""

    def __init__(self, path: Path, heading: str, lines: list[str]):
        self.path, self.heading, self.lines = path, heading, lines
        self.sections: list[Section] = []
        self.bars: list[tuple[str, str, str]] = []
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def section(self, title: str) -> Section:
        self.sections.append(Section(title))
        return self.sections[-1]

    def markdown(self) -> str:
        elapsed = f"Whole check: {self.elapsed():.0f} s after start-up."
        parts = [f"## {self.heading}", "", *self.lines, elapsed, ""]
        parts += [section.markdown(i) for i, section in enumerate(self.sections, 1)]
        parts += ["### Bars", "", "| bar | measured | verdict |", "|---|---|---|"]
        parts += [f"| {bar} | {measured} | {verdict} |" for bar, measured, verdict in self.bars]
        return "\n".join(parts) + "\n"

    def write(self) -> str:
        """Writes the report as it stands to its file; returns the text."""
        text = self.markdown()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text)
        return text


def today_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class StepStopped(Exception):
    """The step ran on past its budget; raised in the main thread by the alarm."""


class Budget:
    """Seconds a step may take, counted from its start."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return max(0.0, self.seconds - self.elapsed())

    def spent(self) -> bool:
        return self.elapsed() >= self.seconds


def run_step(report: Report, section: Section, seconds: float, function) -> bool:
    """Runs `function(section, budget)`; False when it raised (its error goes in the report)."""
    section.budget_s = seconds
    if seconds <= 0:  # Even a step's set-up (a compile, a data build) would overrun.
        section.notes.append("Not run: no time left before the deadline.")
        report.write()
        return True
    budget = Budget(seconds)
    # One measurement may run on a little past the budget; the deadline keeps
    # 20 s (gpu_check.sh) for the last step's grace.
    grace = 5 + 0.1 * seconds

    def stop(signum, frame):
        raise StepStopped

    def hung():
        section.notes.append(
            f"Stopped: a call did not return {grace + 60:.0f} s past the budget; the process "
            "ended here and the later steps did not run."
        )
        section.used_s = budget.elapsed()
        print(report.write(), flush=True)
        os._exit(3)

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds + grace)
    watchdog = threading.Timer(seconds + grace + 60, hung)
    watchdog.daemon = True
    watchdog.start()
    ok = True
    try:
        function(section, budget)
    except Exception as error:  # noqa: BLE001 (one step's failure must not end the check)
        if _stopped(error):
            section.stopped = True
            section.notes.append(
                f"Stopped {grace:.0f} s past its budget; what it measured is above."
            )
        else:
            ok = False
            traceback.print_exc()
            lines = str(error).strip().splitlines() or [""]
            section.notes.append(f"Failed: {type(error).__name__}: {lines[0][:300]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        watchdog.cancel()
        section.used_s = budget.elapsed()
        report.write()
    print(f"[gpu_check] {section.title}: {section.used_s:.1f} s", file=sys.stderr, flush=True)
    return ok


def _stopped(error: BaseException | None) -> bool:
    """Whether the alarm's StepStopped is this error or behind it (code that wraps errors)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, StepStopped):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def run_bounded(command: list[str], seconds: float, env: dict) -> tuple[int | None, str, float]:
    """(exit code or None when stopped at `seconds`, output, seconds) of a subprocess.

    The command gets its own process group, so the programs it started go too.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=max(1.0, seconds))
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        code = None
    return code, output or "", time.perf_counter() - start
