"""Atomic writes: records, JSON documents and bytes go to a temporary file beside their path and are
renamed into place, so a reader never sees half a file and a failed write leaves the old one."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson
from pydantic import BaseModel

from pipeline.errors import IlidError
from pipeline.jsonio.formats import is_jsonl
from pipeline.records import Record


def plain(record: BaseModel | dict[str, Any]) -> Any:
    """The JSON-ready form of a record: models become dicts, optional provenance left out when unset."""
    if isinstance(record, Record):
        return record.to_json()
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json")
    return record


def dumps(record: BaseModel | dict[str, Any]) -> bytes:
    return orjson.dumps(plain(record))


class RecordWriter:
    """Writes records to a temporary file beside `path` and renames it into place on success.

    An exception (Ctrl-C included) inside the `with` block removes the temporary file and leaves
    whatever was at `path` before untouched.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.count = 0
        self._jsonl = is_jsonl(self.path)
        self._handle: IO[bytes] | None = None
        self._temp_name = ""

    def __enter__(self) -> RecordWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, self._temp_name = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
            )
        except OSError as error:
            raise IlidError(f"{self.path}: cannot write: {error.strerror}") from None
        self._handle = os.fdopen(descriptor, "wb")
        if not self._jsonl:
            self._handle.write(b"[")
        return self

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        self.write_text(dumps(record))

    def write_text(self, line: bytes) -> None:
        """Writes one record given as JSON text (one line for `.jsonl`)."""
        assert self._handle is not None, "RecordWriter used outside its with block"
        if self._jsonl:
            self._handle.write(line + b"\n")
        else:
            self._handle.write((b",\n" if self.count else b"\n") + line)
        self.count += 1

    def write_all(self, records: Iterable[BaseModel | dict[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._handle is not None
        if kind is None:
            if not self._jsonl:
                self._handle.write(b"\n]\n" if self.count else b"]\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            os.chmod(self._temp_name, 0o644)
            os.replace(self._temp_name, self.path)
        else:
            self._handle.close()
            os.unlink(self._temp_name)


def write_records(path: str | os.PathLike[str], records: Iterable[BaseModel | dict[str, Any]]) -> int:
    with RecordWriter(path) as writer:
        writer.write_all(records)
    return writer.count


def temp_prefix(path: Path) -> str:
    """`.<name>.`: a temporary file's name starts so, and the next run knows it as its own. A name
    too long to take the temporary file's extra 15 bytes gets a digest of itself instead."""
    if len(path.name.encode("utf-8", "surrogatepass")) > 240:
        return f".{hashlib.blake2b(path.name.encode('utf-8', 'surrogatepass'), digest_size=8).hexdigest()}."
    return f".{path.name}."


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, then renames it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Writes one JSON document (a stats file, say) atomically, indented for people."""
    write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
