"""The streaming parser: a JSON array or JSON Lines file, value by value, never the whole file at once.

Both formats accept the same JSON: strict (no NaN or Infinity), valid UTF-8 without lone surrogates,
nested at most as deep as the parser allows, one record at most `MAX_RECORD_CHARS` long. Anything
else stops the read with one line naming the file and the record (numbered from 1).
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from pipeline.errors import IlidError
from pipeline.jsonio.formats import is_jsonl

CHUNK_CHARS = 1 << 16
MAX_RECORD_CHARS = 16 << 20  # a single record larger than this is treated as a broken file

_NOT_WHITESPACE = re.compile(r"[^ \t\r\n]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
