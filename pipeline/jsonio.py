"""Streaming, validated, atomic JSON I/O.

`.jsonl` files hold one record per line; any other suffix is a JSON array. Arrays are read
element by element (never the whole file at once) and written one record per line, so both
formats stream and stay readable by `json.load`, orjson and ILID's tools.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from pipeline.errors import IlidError
from pipeline.records import Record

CHUNK_CHARS = 1 << 16
MAX_RECORD_CHARS = 16 << 20  # a single record larger than this is treated as a broken file

M = TypeVar("M", bound=BaseModel)
_WHITESPACE = re.compile(r"[ \t\r\n]*")


def is_jsonl(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(".jsonl")


class JsonReader:
    """Iterates over the values of a JSON array or JSON Lines file as `(index, value)` pairs.

    `bytes_read` and `size` let a progress bar show an ETA while the file streams.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.bytes_read = 0
        self.last_text = ""  # the JSON text of the value yielded last, as it stands in the file
        try:
            self.size = self.path.stat().st_size
        except FileNotFoundError:
            raise IlidError(f"{self.path}: no such file") from None
        if self.path.is_dir():
            raise IlidError(f"{self.path}: is a folder, not a JSON file")

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return self._iter_lines() if is_jsonl(self.path) else self._iter_array()

    def _iter_lines(self) -> Iterator[tuple[int, Any]]:
        index = 0
        with self.path.open("rb") as handle:
            for line_number, line in enumerate(handle, start=1):
                self.bytes_read += len(line)
                if not line.strip():
                    continue
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise IlidError(f"{self.path}: line {line_number}: invalid JSON: {error.msg}") from None
                self.last_text = line.decode().strip()
                yield index, value
                index += 1

    def _chunks(self, handle: IO[bytes]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        while True:
            raw = handle.read(CHUNK_CHARS)
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as error:
                raise IlidError(
                    f"{self.path}: not valid UTF-8 (byte 0x{error.object[error.start]:02x} at offset "
                    f"{offset + error.start})"
                ) from None
            offset += len(raw)
            self.bytes_read = offset
            if text:
                yield text
            if not raw:
                return

    def _iter_array(self) -> Iterator[tuple[int, Any]]:
        decoder = json.JSONDecoder()
        with self.path.open("rb") as handle:
            chunks = self._chunks(handle)
            buffer = ""
            position = 0
            lines_before = 0  # newlines in the text already dropped from the buffer
            column_base = 0  # characters after the last dropped newline
            at_end = False

            def fail(message: str, at: int) -> IlidError:
                line = lines_before + buffer.count("\n", 0, at) + 1
                last_newline = buffer.rfind("\n", 0, at)
                column = at - last_newline if last_newline >= 0 else column_base + at + 1
                return IlidError(f"{self.path}: line {line}, column {column}: {message}")

            def fill() -> bool:
                """Appends the next chunk; False at the end of the file."""
                nonlocal buffer, at_end
                if at_end:
                    return False
                try:
                    buffer += next(chunks)
                except StopIteration:
                    at_end = True
                    return False
                return True

            def compact() -> None:
                """Drops the text already parsed, remembering its lines for error positions."""
                nonlocal buffer, position, lines_before, column_base
                dropped = buffer[:position]
                newlines = dropped.count("\n")
                if newlines:
                    lines_before += newlines
                    column_base = len(dropped) - dropped.rfind("\n") - 1
                else:
                    column_base += len(dropped)
                buffer = buffer[position:]
                position = 0

            def skip_space() -> str:
                nonlocal position
                while True:
                    position = _WHITESPACE.match(buffer, position).end()
                    if position < len(buffer):
                        return buffer[position]
                    if not fill():
                        return ""

            first = skip_space()
            if first == "":
                raise fail("empty file: expected a JSON array", position)
            if first != "[":
                raise fail("expected a JSON array of records ('[' first)", position)
            position += 1
            index = 0
            if skip_space() == "]":
                position += 1
            else:
                while True:
                    skip_space()
                    while True:
                        try:
                            value, end = decoder.raw_decode(buffer, position)
                        except json.JSONDecodeError as error:
                            if len(buffer) - position < MAX_RECORD_CHARS and fill():
                                continue
                            raise fail(error.msg, error.pos) from None
                        if end == len(buffer) and fill():
                            continue  # a number cut at the chunk's end would decode short
                        break
                    self.last_text = buffer[position:end]
                    position = end
                    if position > CHUNK_CHARS:
                        compact()
                    yield index, value
                    index += 1
                    separator = skip_space()
                    if separator == ",":
                        position += 1
                    elif separator == "]":
                        position += 1
                        break
                    elif separator == "":
                        raise fail("unexpected end of file: the array is not closed", position)
                    else:
                        raise fail("expected ',' or ']' after a record", position)
            if skip_space() != "":
                raise fail("extra data after the array", position)


def first_problem(error: ValidationError) -> tuple[str, str]:
    """The field (`web.data[2]`) and message of a record's first validation problem."""
    first = error.errors()[0]
    where = ""
    for part in first["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "record", first["msg"]


def describe_validation_error(error: ValidationError) -> str:
    """`web.label: Input should be a valid string` for the first problem of a record."""
    return ": ".join(first_problem(error))


class InvalidRecord:
    """A record that failed validation, kept so that `--skip-invalid` can send it to the rejects."""

    def __init__(self, index: int, value: Any, field: str, message: str):
        self.index = index
        self.value = value
        self.field = field
        self.message = message

    @property
    def problem(self) -> str:
        return f"{self.field}: {self.message}"

    @property
    def reason(self) -> str:
        """The rejects file's reason."""
        return f"invalid: {self.problem}"


def read_records(
    path: str | os.PathLike[str],
    model: type[M],
    *,
    skip_invalid: bool = False,
    reader: JsonReader | None = None,
) -> Iterator[M | InvalidRecord]:
    """Validated records of `path`; an invalid one raises a one-line error, or is yielded as
    `InvalidRecord` when `skip_invalid` is set."""
    reader = reader or JsonReader(path)
    if not skip_invalid:
        yield from read_valid(path, model, reader)
        return
    for index, value in reader:
        try:
            yield model.model_validate(value)
        except ValidationError as error:
            yield InvalidRecord(index, value, *first_problem(error))


def read_valid_with_text(
    path: str | os.PathLike[str], model: type[M], reader: JsonReader | None = None
) -> Iterator[tuple[M, str]]:
    """Validated records of `path` beside their JSON text as it stands in the file; stops with a
    one-line error at the first invalid one."""
    reader = reader or JsonReader(path)
    for index, value in reader:
        try:
            yield model.model_validate(value), reader.last_text
        except ValidationError as error:
            raise IlidError(f"{reader.path}: record {index}: {describe_validation_error(error)}") from None


def read_valid(path: str | os.PathLike[str], model: type[M], reader: JsonReader | None = None) -> Iterator[M]:
    """Validated records of `path`, stopping with a one-line error at the first invalid one."""
    for record, _ in read_valid_with_text(path, model, reader):
        yield record


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


def open_journal(path: str | os.PathLike[str]) -> IO[bytes]:
    """An append-only JSON Lines journal (a checkpoint, a manifest), opened on a fresh line even
    after a line torn by a killed run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = path.open("ab+")
    if journal.tell():
        journal.seek(-1, os.SEEK_END)
        if journal.read(1) != b"\n":
            journal.write(b"\n")
    return journal


def journal_entries(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The objects of a journal; a line torn by a killed run is skipped."""
    path = Path(path)
    if not path.exists():
        return
    for line in path.read_bytes().splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            yield entry


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
