"""One writer per output: an advisory lock file beside it, named after the process that holds it.

The lock is `flock` on `.<name>.lock`, so the kernel releases it when its holder dies however it dies
(a lock left by a killed run is simply taken over). The file names the holder's pid, which the second
run quotes when it refuses to start. The file is removed on release; a run that locked a file another
run had just removed sees that the path no longer leads to its file and locks afresh.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.errors import IlidError

# What a lock does when another run holds it: `--wait` sets it for the whole command.
WAIT_FOR_LOCKS: contextvars.ContextVar[bool] = contextvars.ContextVar("wait_for_locks", default=False)


def lock_path(target: str | os.PathLike[str]) -> Path:
    target = Path(target)
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return "another run"
    return f"pid {pid}" if pid.isdigit() else "another run"


class OutputLock:
    """An exclusive lock on `target` (a file or a folder) for the life of a `with` block."""

    def __init__(self, target: str | os.PathLike[str]):
        self.target = Path(target)
        self.path = lock_path(self.target)
        self.wait = WAIT_FOR_LOCKS.get()
        self._descriptor: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise IlidError(f"{self.target}: cannot write: {error.strerror}") from None
        while True:
            try:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise IlidError(f"{self.target}: cannot lock: {error.strerror}") from None
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(descriptor)
                raise IlidError(
                    f"{self.target}: in use by another run ({_holder(self.path)}); "
                    "wait for it to finish, or pass --wait"
                ) from None
            except BaseException:
                os.close(descriptor)
                raise
            if self._still_ours(descriptor):
                break
            os.close(descriptor)  # the holder removed the file as we waited: lock the new one
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._descriptor = descriptor
        return self

    def _still_ours(self, descriptor: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            return False

    def __exit__(self, *exc_info: object) -> None:
        if self._descriptor is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._descriptor)
        self._descriptor = None


@contextlib.contextmanager
def locked(targets: Iterable[str | os.PathLike[str]]) -> Iterator[None]:
    """Locks every target, in the order given (every stage locks its output first)."""
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(OutputLock(target))
        yield


def leftovers(path: str | os.PathLike[str], suffix: str) -> list[Path]:
    """`.<name>.XXXXXXXX.<suffix>` beside `path`: what a killed writer of `path` left there (`tmp`: a
    temporary file or folder; `old`: an earlier folder output moved aside)."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.{suffix}")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / name for name in names if pattern.fullmatch(name)]


def remove_stale_temp_files(path: str | os.PathLike[str]) -> None:
    """Removes `.<name>.XXXXXXXX.tmp`, the temporary files (or folders, when `path` is a folder built
    whole) a killed writer of `path` left; call it only while holding `path`'s lock."""
    for leftover in leftovers(path, "tmp"):
        _remove(leftover)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


_ANY_TEMP_FILE = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


def remove_stale_temp_files_within(folder: str | os.PathLike[str]) -> None:
    """Removes the temporary files a killed run left anywhere in `folder` (an images folder, whose
    files are each written atomically); call it only while holding the folder's lock."""
    for directory, _, names in os.walk(folder):
        for name in names:
            if _ANY_TEMP_FILE.fullmatch(name):
                Path(directory, name).unlink(missing_ok=True)
