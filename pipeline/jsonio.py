"""Streaming, validated, atomic JSON I/O.

`.jsonl` (and `.jl`, as Scrapyd writes) files hold one record per line; any other suffix is a JSON
array. Arrays are read element by element (never the whole file at once) and written one record per
line, so both formats stream and stay readable by `json.load`, orjson and ILID's tools.

Both formats accept the same JSON: strict (no NaN or Infinity), valid UTF-8 without lone surrogates,
nested at most as deep as the parser allows, one record at most `MAX_RECORD_CHARS` long. Anything
else stops the read with one line naming the file and the record (numbered from 1).
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
JSONL_SUFFIXES = (".jsonl", ".jl")

M = TypeVar("M", bound=BaseModel)
_NOT_WHITESPACE = re.compile(r"[^ \t\r\n]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def is_jsonl(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(JSONL_SUFFIXES)


def record_cap() -> str:
    return f"larger than the cap on one record ({MAX_RECORD_CHARS:,} characters)"


class _NotJson(ValueError):
    """What the standard parser lets through and JSON (and orjson) do not."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not valid JSON")


def _strict_decoder() -> json.JSONDecoder:
    return json.JSONDecoder(parse_constant=_reject_constant)


def _check_strings(text: str, value: Any) -> None:
    """Raises `_NotJson` when `value`, decoded from `text`, holds a lone surrogate (`\\ud800`):
    such a string cannot be written as UTF-8 by any later stage."""
    if not _SURROGATE_ESCAPE.search(text):
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise _NotJson(f"a string holds a lone surrogate ({error.object[error.start]!r})") from None


def decode_problem(text: str) -> str | None:
    """Why the standard parser, made as strict as orjson, refuses `text` (None when it accepts it)."""
    try:
        value = _strict_decoder().decode(text)
        _check_strings(text, value)
    except _NotJson as error:
        return str(error)
    except RecursionError:
        return "nested too deeply"
    except json.JSONDecodeError as error:
        return error.msg
    return None


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
        limit = MAX_RECORD_CHARS * 4  # bytes: up to four a character
        with self.path.open("rb") as handle:
            line_number = 0
            while line := handle.readline(limit + 1):
                line_number += 1
                offset = self.bytes_read
                self.bytes_read += len(line)
                if len(line) > limit:
                    raise IlidError(f"{self.path}: record {index + 1} (line {line_number}): {record_cap()}")
                if not line.strip():
                    continue
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    problem = self._line_problem(line, offset, error.msg)
                    raise IlidError(
                        f"{self.path}: record {index + 1} (line {line_number}): {problem}"
                    ) from None
                self.last_text = line.decode().strip()
                if len(line) > MAX_RECORD_CHARS and len(self.last_text) > MAX_RECORD_CHARS:
                    raise IlidError(f"{self.path}: record {index + 1} (line {line_number}): {record_cap()}")
                yield index, value
                index += 1

    @staticmethod
    def _line_problem(line: bytes, offset: int, message: str) -> str:
        """The same words for a bad line as for a bad record of a JSON array."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            return f"not valid UTF-8 (byte 0x{line[error.start]:02x} at offset {offset + error.start})"
        if message == "depth limit exceeded":
            return "nested too deeply"
        return f"invalid JSON: {decode_problem(text) or message}"

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
        decoder = _strict_decoder()
        with self.path.open("rb") as handle:
            chunks = self._chunks(handle)
            buffer = ""
            position = 0
            lines_before = 0  # newlines in the text already dropped from the buffer
            column_base = 0  # characters after the last dropped newline
            at_end = False

            def fail(message: str, at: int, record: int | None = None) -> IlidError:
                line = lines_before + buffer.count("\n", 0, at) + 1
                last_newline = buffer.rfind("\n", 0, at)
                column = at - last_newline if last_newline >= 0 else column_base + at + 1
                where = f"line {line}, column {column}"
                if record is not None:
                    where = f"record {record} ({where})"
                return IlidError(f"{self.path}: {where}: {message}")

            def fill(at_least: int = 1) -> bool:
                """Appends chunks, `at_least` characters' worth; False at the end of the file."""
                nonlocal buffer, at_end
                if at_end:
                    return False
                added: list[str] = []
                size = 0
                while size < at_least:
                    try:
                        added.append(next(chunks))
                    except StopIteration:
                        at_end = True
                        break
                    size += len(added[-1])
                buffer += "".join(added)
                return bool(added)

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
                    found = _NOT_WHITESPACE.search(buffer, position)
                    position = found.start() if found else len(buffer)
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
                            unparsed = len(buffer) - position
                            if unparsed > MAX_RECORD_CHARS:
                                raise fail(record_cap(), position, index + 1) from None
                            if fill(unparsed):  # doubling what is buffered keeps a long record linear
                                continue
                            raise fail(error.msg, error.pos, index + 1) from None
                        except _NotJson as error:
                            raise fail(f"invalid JSON: {error}", position, index + 1) from None
                        except RecursionError:
                            raise fail("nested too deeply", position, index + 1) from None
                        if end == len(buffer) and fill():
                            continue  # a number cut at the chunk's end would decode short
                        break
                    if end - position > MAX_RECORD_CHARS:
                        raise fail(record_cap(), position, index + 1)
                    self.last_text = text = buffer[position:end]
                    # Per record, so the cheapest test first: one character is found at memchr's speed.
                    if "\\" in text and "\\u" in text:
                        try:
                            _check_strings(text, value)
                        except _NotJson as error:
                            raise fail(f"invalid JSON: {error}", position, index + 1) from None
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
        self.index = index  # from 0; messages number records from 1
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
            raise IlidError(
                f"{reader.path}: record {index + 1}: {describe_validation_error(error)}"
            ) from None


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
