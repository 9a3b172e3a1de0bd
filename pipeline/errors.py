"""Errors a user can act on: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

from typing import Any


class IlidError(Exception):
    """A problem with the input or the flags, told in one line that names the file, record and field."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise `KeyboardInterrupt`, so that both end alike: finished
    work kept, temporary files removed, exit code 143 instead of 130."""


class NothingKept(Exception):
    """A stage read records and kept none: its summary is printed, and the CLI exits with code 1."""

    def __init__(self, summary: Any):
        super().__init__(f"{summary.stage}: kept nothing of {summary.read:,} records")
        self.summary = summary
