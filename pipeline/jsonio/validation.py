"""Records read as validated models: the first problem named by field, or set aside for the rejects."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.errors import IlidError
from pipeline.jsonio.reader import JsonReader

M = TypeVar("M", bound=BaseModel)


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
