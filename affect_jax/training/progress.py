"""Rate and ETA for long loops (training, builds, feature extraction)."""

import time


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RateMeter:
    """Counts items done toward a total; reports items/s and the time left.

    The rate is measured since the last report, so a slow first step (XLA
    compilation) does not depress it for the rest of the run.
    """

    def __init__(self, total: int, done: int = 0):
        self.total = total
        self.done = done
        self._mark_time = time.perf_counter()
        self._mark_done = done

    def update(self, count: int = 1) -> None:
        self.done += count

    def report(self) -> tuple[float, str]:
        """Returns (items per second since the last report, ETA as h:mm:ss)."""
        now = time.perf_counter()
        elapsed = max(now - self._mark_time, 1e-9)
        rate = (self.done - self._mark_done) / elapsed
        self._mark_time, self._mark_done = now, self.done
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = format_duration(remaining) if remaining != float("inf") else "?"
        return rate, eta
