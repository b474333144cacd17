"""Keeps library chatter out of the progress lines of the command-line tools."""

import logging as python_logging

from absl import logging


class QuietLibraries(python_logging.Filter):
    """Drops Orbax's per-save and per-restore INFO lines (warnings still show)."""

    def filter(self, record: python_logging.LogRecord) -> bool:
        from_orbax = "/orbax/" in record.pathname
        if from_orbax and record.levelno < python_logging.WARNING:
            return False
        # Saves between evaluations carry no validation loss, by design.
        return not (from_orbax and "did not provide metrics" in record.getMessage())


def install() -> None:
    """Adds the filter to absl's handler (call once, from a main)."""
    logging.get_absl_handler().addFilter(QuietLibraries())
