"""The model's answer: a pydantic model whose JSON schema constrains decoding, and its parsing.

Word limits are written as `pattern`s (not minLength/maxLength, which grammar engines handle
poorly): words of letters and punctuation without digits, so no ids, numbers, codes or sizes can
be generated at all.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.label.freetext import null_if_unknown, parse_numbered_answer

WORD = r'[^\s"\\0-9]{1,30}'


def words(most: int) -> str:
    return rf"^{WORD}( {WORD}){{0,{most - 1}}}$"


class LabelAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label_long: str | None = Field(
        description="long label or name, no ids, numbers, codes or sizes", pattern=words(12)
    )
    label_short: str | None = Field(description="short label, at most 4 words", pattern=words(4))
    description: str | None = Field(
        description="at most 30 words, no ids, numbers, codes or sizes", pattern=words(30)
    )
    material: str | None = Field(description="material, at most 5 words", pattern=words(5))
    material_finish: str | None = Field(description="finish or colour, at most 5 words", pattern=words(5))


def answer_schema() -> dict[str, Any]:
    return LabelAnswer.model_json_schema()


def answer_schema_json() -> str:
    return json.dumps(answer_schema())


class ParsedAnswer(BaseModel):
    fields: dict[str, str | None] | None
    method: str | None  # "json" or "fallback"
    error: str | None


def parse_answer(text: str) -> ParsedAnswer:
    """The five fields from a model's answer: strict JSON first, then the numbered free-text style."""
    start, end = text.find("{"), text.rfind("}")
    json_error = "no JSON object in the answer"
    if start >= 0 and end < start:
        json_error = "truncated JSON (no closing brace)"
    elif start >= 0:
        try:
            data = orjson.loads(text[start : end + 1])
        except orjson.JSONDecodeError:
            json_error = "malformed JSON"
        else:
            if not isinstance(data, dict):
                json_error = "the JSON answer is not an object"
            else:
                data = {
                    key: null_if_unknown(value) if isinstance(value, str) else value
                    for key, value in data.items()
                }
                try:
                    answer = LabelAnswer.model_validate(data)
                except ValidationError as error:
                    first = error.errors()[0]
                    json_error = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
                else:
                    return ParsedAnswer(fields=answer.model_dump(), method="json", error=None)
    fields = parse_numbered_answer(text)
    if fields is not None and fields.get("label_long") and fields.get("label_short"):
        return ParsedAnswer(fields=fields, method="fallback", error=None)
    return ParsedAnswer(fields=None, method=None, error=json_error)
