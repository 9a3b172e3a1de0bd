"""A parser for unconstrained answers in the numbered style Llama-3 gave ILID's original pipeline:

    (1) Long label: Stainless steel hinge with removable pin
    2. Short label: Steel hinge
    **(3) Description:** A hinge for doors ...
    Material: not specified

Each field is found by its number or its name; "none", "not specified", "N/A", "unknown" as a whole
answer mean null (matched whole, so "notched washer" survives).
"""

from __future__ import annotations

import re

FIELD_NAMES = {
    "label_long": r"long\s+(?:label|name)",
    "label_short": r"short\s+(?:label|name)",
    "description": r"description",
    "material_finish": r"(?:material\s+)?(?:finish|colou?r)(?:\s*/\s*colou?r)?",
    "material": r"material",
}
FIELD_NUMBERS = {"label_long": 1, "label_short": 2, "description": 3, "material": 4, "material_finish": 5}
NULL_WORDS = {
    "none",
    "null",
    "n/a",
    "na",
    "not specified",
    "not given",
    "not mentioned",
    "not provided",
    "unknown",
    "not available",
    "not applicable",
    "-",
    "",
}

_LINE = re.compile(
    r"^\s*[*_]*\s*(?:\(?(?P<number>[1-5])[).:]|[-*•])?"  # "(1)", "1.", "1:" or a bullet
    r"\s*[*_]*\s*(?P<name>[A-Za-z][A-Za-z /]*?)?\s*[*_]*\s*:"  # "Long label:", bold or not
    r"\s*[*_]*\s*(?P<value>.*?)\s*[*_]*\s*$"
)


def field_for(number: str | None, name: str | None) -> str | None:
    if name:
        for field, pattern in FIELD_NAMES.items():
            if re.fullmatch(pattern, name.strip(), re.IGNORECASE):
                return field
    if number:
        return next(field for field, n in FIELD_NUMBERS.items() if n == int(number))
    return None


def null_if_unknown(value: str) -> str | None:
    """The answer without quotes and a final full stop; null when it says the text does not tell."""
    value = value.strip().strip("\"'").rstrip(".").strip()
    return None if value.lower() in NULL_WORDS else value


def parse_numbered_answer(text: str) -> dict[str, str | None] | None:
    """The five fields, or None when no line of the answer names one."""
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())  # a long run of blanks would make it backtrack for ages
        if not match:
            continue
        field = field_for(match.group("number"), match.group("name"))
        if field and field not in found:
            found[field] = null_if_unknown(match.group("value"))
    if not found:
        return None
    return {field: found.get(field) for field in FIELD_NUMBERS}
