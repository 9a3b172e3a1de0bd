"""Captions from sample fields: one field (`label_long`) or a template (`{label_short} made of {material}`).

Several captions may be given; a sample takes the first one whose fields are all non-empty, and is
dropped (reason `no_caption`) when none is: a caption with a hole ("bolt made of") teaches a model
nothing it should learn. A field that no record has is a mistake in the flag, told in one line.
"""

from __future__ import annotations

import re
import string
from typing import Any

from pipeline.errors import IlidError

FIELD_NAME = re.compile(r"^[A-Za-z_]\w*$")


class Caption:
    """One `--caption` value: a field name or a `str.format` template of plain `{field}` parts."""

    def __init__(self, spec: str):
        self.spec = spec
        if "{" not in spec and "}" not in spec:
            spec = "{" + spec.strip() + "}"
        self.template = spec
        try:
            parts = list(string.Formatter().parse(spec))
        except ValueError as error:
            raise IlidError(f"--caption {self.spec!r}: {error}") from None
        fields: list[str] = []
        for _, name, format_spec, conversion in parts:
            if name is None:
                continue
            if not FIELD_NAME.match(name) or format_spec or conversion:
                raise IlidError(f"--caption {self.spec!r}: {{{name}}} is not a plain field name")
            fields.append(name)
        if not fields:
            raise IlidError(f"--caption {self.spec!r}: names no field, e.g. '{{label_long}}'")
        self.fields = tuple(fields)

    def render(self, record: dict[str, Any], where: str) -> str | None:
        values: dict[str, str] = {}
        for name in self.fields:
            if name not in record:
                known = ", ".join(sorted(record))
                raise IlidError(f"{where}: --caption field {name!r} is not a field of the samples ({known})")
            value = record[name]
            text = "" if value is None else " ".join(str(value).split())
            if not text:
                return None
            values[name] = text
        caption = " ".join(self.template.format(**values).split())
        return caption or None


class Captioner:
    """The first of the captions that a sample fills completely."""

    def __init__(self, specs: tuple[str, ...] | list[str]):
        self.captions = [Caption(spec) for spec in (specs or ["label_long"])]

    def caption(self, record: dict[str, Any], where: str) -> str | None:
        for caption in self.captions:
            text = caption.render(record, where)
            if text is not None:
                return text
        return None
