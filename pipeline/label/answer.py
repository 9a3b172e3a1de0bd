"""The model's answer: the JSON schema that constrains decoding, and the parsing of what came back.

Budget rule: every answer the schema allows finishes within `--max-new-tokens`. A generated token
holds at least one byte (stop tokens aside, and added special tokens are never generated), so the
longest valid answer, in bytes, plus its stop token must fit the budget. Field values are therefore
ASCII letters and punctuation (no digits, so no ids, numbers, codes or sizes) up to a character limit:
`FULL_LIMITS` when the budget holds them, else limits shrunk in proportion, and a budget too small
for `FLOOR_LIMITS` is refused. Limits are written as `pattern`s: xgrammar ignores maxLength next to
a pattern.

Parsing is more lenient than generation (any letters, not only ASCII; runs of spaces collapsed), so
everything a grammar allows validates, as do the answers of servers that ignore the schema.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import IlidError
from pipeline.label.freetext import null_if_unknown, parse_numbered_answer

FIELDS = ("label_long", "label_short", "description", "material", "material_finish")
REQUIRED = ("label_long", "label_short")
FULL_LIMITS = {"label_long": 80, "label_short": 36, "description": 220, "material": 40, "material_finish": 40}
FLOOR_LIMITS = {"label_long": 6, "label_short": 4, "description": 3, "material": 3, "material_finish": 3}
DEFAULT_BUDGET = 512
DESCRIPTIONS = {
    "label_long": "long label or name, no ids, numbers, codes or sizes",
    "label_short": "short label, at most 4 words",
    "description": "at most 30 words, no ids, numbers, codes or sizes",
    "material": "material, at most 5 words",
    "material_finish": "finish or colour, at most 5 words",
}
# Separators of compact JSON as xgrammar writes it without free whitespace (vLLM's too).
SEPARATORS = (", ", ": ")
GENERATED_CHAR = r"[A-Za-z&'(),./:;+-]"  # one byte each in UTF-8
GENERATED_OR_SPACE = r"[A-Za-z&'(),./:;+ -]"
REPEAT_MOST = 128
PARSED_WORD = r'[^\s"\\0-9]+'


def longest_answer_tokens(limits: dict[str, int]) -> int:
    """Tokens of the longest answer `limits` allow, its stop token included (a token >= a byte)."""
    frame = len(json.dumps(dict.fromkeys(FIELDS, ""), separators=SEPARATORS))
    values = sum(max(limits[name], 0 if name in REQUIRED else len("null") - 2) for name in FIELDS)
    return frame + values + 1


def shrunk_limits(budget: int) -> dict[str, int]:
    """The full limits shrunk in proportion until the longest answer fits `budget` (may be < floor)."""
    if longest_answer_tokens(FULL_LIMITS) <= budget:
        return dict(FULL_LIMITS)
    room = max(budget - longest_answer_tokens(dict.fromkeys(FIELDS, 0)), 0)
    total = sum(FULL_LIMITS.values())
    return {name: FULL_LIMITS[name] * room // total for name in FIELDS}


def fits(limits: dict[str, int]) -> bool:
    return all(limits[name] >= FLOOR_LIMITS[name] for name in FIELDS)


def minimum_budget() -> int:
    budget = longest_answer_tokens(FLOOR_LIMITS)
    while not fits(shrunk_limits(budget)):
        budget += 1
    return budget


def field_limits(budget: int) -> dict[str, int]:
    """Each field's character limit under `budget` tokens; one line naming the minimum if too small."""
    limits = shrunk_limits(budget)
    if not fits(limits):
        raise IlidError(
            f"--max-new-tokens {budget} is too small for the answer schema: use at least {minimum_budget()}"
        )
    return limits


def up_to(characters: str, most: int) -> str:
    """`characters{0,most}`, with no count above xgrammar's largest (its compiler fails past 128)."""
    if most <= REPEAT_MOST:
        return f"{characters}{{0,{most}}}"
    rest = up_to(characters, most - REPEAT_MOST)
    return f"({characters}{{{REPEAT_MOST}}}{rest}|{characters}{{0,{REPEAT_MOST - 1}}})"


def generated_pattern(limit: int) -> str:
    """Letters and punctuation, single or double spaces between, at most `limit` characters."""
    return rf"^{GENERATED_CHAR}({up_to(GENERATED_OR_SPACE, limit - 2)}{GENERATED_CHAR})?$"


def answer_schema(budget: int = DEFAULT_BUDGET) -> dict[str, Any]:
    """The JSON schema that constrains decoding under `budget` new tokens."""
    limits = field_limits(budget)
    properties: dict[str, Any] = {}
    for name in FIELDS:
        text = {"type": "string", "pattern": generated_pattern(limits[name])}
        schema = text if name in REQUIRED else {"anyOf": [text, {"type": "null"}]}
        properties[name] = {**schema, "description": DESCRIPTIONS[name], "title": name}
    return {
        "title": "LabelAnswer",
        "type": "object",
        "properties": properties,
        "required": list(FIELDS),
        "additionalProperties": False,
    }


def answer_schema_json(budget: int = DEFAULT_BUDGET) -> str:
    return json.dumps(answer_schema(budget))


def parsed_field(name: str, required: bool) -> Any:
    pattern = rf"^{PARSED_WORD}( {PARSED_WORD})*$"
    if required:
        return Field(pattern=pattern, max_length=FULL_LIMITS[name])
    return Field(default=None, pattern=pattern, max_length=FULL_LIMITS[name])


class LabelAnswer(BaseModel):
    """What a parsed answer must hold: both labels; description, material and finish may be null."""

    model_config = ConfigDict(extra="forbid")

    label_long: str = parsed_field("label_long", True)
    label_short: str = parsed_field("label_short", True)
    description: str | None = parsed_field("description", False)
    material: str | None = parsed_field("material", False)
    material_finish: str | None = parsed_field("material_finish", False)


class ParsedAnswer(BaseModel):
    fields: dict[str, str | None] | None
    method: str | None  # "json" or "fallback"
    error: str | None


def object_end(text: str, start: int) -> int | None:
    """The index of the brace that closes the object opened at `start`; None if the text ends first.

    Braces inside strings do not count."""
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def cleaned(value: Any) -> Any:
    """Runs of whitespace collapsed; "N/A", "unknown" and the like as null."""
    return null_if_unknown(" ".join(value.split())) if isinstance(value, str) else value


def parse_json_answer(text: str) -> tuple[dict[str, str | None] | None, str]:
    """The fields of the JSON object in `text`, or None and why not."""
    start = text.find("{")
    if start < 0:
        return None, "no JSON object in the answer"
    end = object_end(text, start)
    if end is None:
        return None, "truncated JSON (the answer ends inside the object)"
    try:
        data = orjson.loads(text[start : end + 1])
    except orjson.JSONDecodeError:
        return None, "malformed JSON"
    if not isinstance(data, dict):
        return None, "the JSON answer is not an object"
    try:
        answer = LabelAnswer.model_validate({key: cleaned(value) for key, value in data.items()})
    except ValidationError as error:
        first = error.errors()[0]
        return None, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return answer.model_dump(), ""


def parse_answer(text: str) -> ParsedAnswer:
    """The five fields from a model's answer: strict JSON first, then the numbered free-text style."""
    fields, json_error = parse_json_answer(text)
    if fields is not None:
        return ParsedAnswer(fields=fields, method="json", error=None)
    fallback = parse_numbered_answer(text)
    if fallback is not None and fallback.get("label_long") and fallback.get("label_short"):
        return ParsedAnswer(fields=fallback, method="fallback", error=None)
    return ParsedAnswer(fields=None, method=None, error=json_error)
