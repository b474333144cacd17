"""What a builder raises for raw files it cannot use; the message names the file and the fix.

ProjectErrors: `affect_jax.build` prints them as one line (no traceback).
"""

from affect_jax.runtime import ProjectError


class RawDataError(ProjectError, ValueError):
    """A raw file that is malformed (an annotation line, an image that does not decode)."""


class RawDataMissingError(ProjectError, FileNotFoundError):
    """A raw file or folder that the release layout needs is not there."""
