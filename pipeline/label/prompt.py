"""ILID's labeling prompt, asking for a JSON answer."""

from __future__ import annotations

from pipeline.records import RawItem

SYSTEM = (
    "You are a helpful assistant for a company that sells industrial products.\n"
    "Do not ask for further details or state additional questions.\n"
    "Do not add additional information or details that are not given by the user.\n"
    "Answer with one JSON object and nothing else."
)

# The task comes before the product text, so that every prompt starts with the same tokens: backends
# compute that shared head once (a prefix cache) instead of once per item.
TASK = (
    "Summarize the product text below, returning the following information as a JSON object with the "
    "keys label_long, label_short, description, material and material_finish:\n"
    "(1) label_long: a long label or name of the product without ids, numbers, codes, or sizes\n"
    "(2) label_short: a short label or name of the product with a maximum of 4 words and shorter than "
    "the long label\n"
    "(3) description: a description of the product with a maximum of 30 words without ids, numbers, "
    "codes, or sizes\n"
    "(4) material: the material with a maximum of 5 words\n"
    "(5) material_finish: the material finish or color with a maximum of 5 words\n"
    "Use null for anything the text does not say."
)


def messages(item: RawItem) -> list[dict[str, str]]:
    text = ", ".join(item.web.data)
    user = f"{TASK}\n\nLabel: {item.web.label}\nText: {text}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
