"""An output folder written whole: built in a temporary folder beside it and renamed into place, so
the folder is either the previous complete output or the new one, never half of one.

A folder already there is replaced only when it is empty or an earlier output of the same command (its
stats file says so); an earlier output is first moved aside into `.<name>.XXXXXXXX.old`, which a run
killed mid-replace leaves behind and the next run puts back or removes. Call these only while holding
the folder's lock (the stage runner does).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson

from pipeline.errors import IlidError
from pipeline.lock import leftovers


def command_of(stage: str) -> str:
    """`mvtec-layout visa` -> `mvtec-layout`: outputs of one command may replace each other."""
    return stage.split(" ", 1)[0]


def check_replaceable(out: Path, stats: Path, stage: str) -> None:
    """Refuses a non-empty `out` that is not an earlier output of `stage`'s command."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    try:
        previous = orjson.loads(stats.read_bytes()).get("stage") if stats.is_file() else None
    except (orjson.JSONDecodeError, AttributeError, OSError):
        previous = None
    command = command_of(stage)
    if not isinstance(previous, str) or command_of(previous) != command:
        raise IlidError(f"{out}: exists and is not an earlier {command} output; choose a new folder")


def restore_moved_aside(out: Path) -> None:
    """Puts back an earlier output a killed run had moved aside before its new one was in place, and
    removes the ones whose replacement is in place."""
    for aside in leftovers(out, "old"):
        with contextlib.suppress(FileNotFoundError):
            if not out.exists() and (aside / out.name).exists():
                os.rename(aside / out.name, out)
            shutil.rmtree(aside, ignore_errors=True)


def move_into_place(temporary: Path, out: Path) -> None:
    """Renames the finished folder to `out`; an earlier output there is moved aside, then removed."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    try:
        os.rename(temporary, out)
        return
    except OSError as error:  # `out` is there
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            raise
    aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
    os.rename(out, aside / out.name)
    try:
        os.rename(temporary, out)
    except BaseException:  # Ctrl-C or SIGTERM just now: the earlier output goes back
        os.rename(aside / out.name, out)
        raise
    shutil.rmtree(aside)


@contextlib.contextmanager
def building(out: Path) -> Iterator[Path]:
    """Yields a temporary folder beside `out`; the caller moves it into place. It is removed if the
    block fails or leaves it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    temporary.chmod(0o755)  # as a folder made the usual way: mkdtemp's is private
    try:
        yield temporary
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
