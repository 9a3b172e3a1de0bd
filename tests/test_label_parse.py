import pytest

from pipeline.label.answer import answer_schema, parse_answer
from pipeline.label.freetext import parse_numbered_answer

LLAMA_STYLE = """Here is the summarized information:

(1) Long label: Stainless Steel Hinge with Removable Pin
(2) Short label: Steel Hinge
(3) Description: A durable hinge for doors and flaps, with a pin that can be removed for easy mounting.
(4) Material: Stainless steel
(5) Material finish/color: Not specified"""

DOTTED_BOLD = """**1. Long label:** Notched washer for shaft nuts
**2. Short label:** Notched washer
**3. Description:** Secures shaft nuts against loosening.
**4. Material:** Knotted steel wire
**5. Material finish/color:** N/A"""

NAMES_ONLY = """Long name: Ball bearing, deep groove
Short name: Ball bearing
Description: none
Material: unknown
Color: Black"""


def test_numbered_llama_answer():
    assert parse_numbered_answer(LLAMA_STYLE) == {
        "label_long": "Stainless Steel Hinge with Removable Pin",
        "label_short": "Steel Hinge",
        "description": (
            "A durable hinge for doors and flaps, with a pin that can be removed for easy mounting"
        ),
        "material": "Stainless steel",
        "material_finish": None,
    }


def test_null_words_match_whole_answers_only():
    fields = parse_numbered_answer(DOTTED_BOLD)
    assert fields["label_long"] == "Notched washer for shaft nuts"  # ILID lost these: "not" in "notched"
    assert fields["material"] == "Knotted steel wire"
    assert fields["material_finish"] is None


def test_field_names_without_numbers():
    assert parse_numbered_answer(NAMES_ONLY) == {
        "label_long": "Ball bearing, deep groove",
        "label_short": "Ball bearing",
        "description": None,
        "material": None,
        "material_finish": "Black",
    }


def test_prose_without_fields_is_none():
    assert parse_numbered_answer("I cannot help with that.") is None


def test_json_answer_validates_and_unknowns_become_null():
    parsed = parse_answer(
        '{"label_long": "hinge with pin", "label_short": "hinge", "description": "A hinge.", '
        '"material": "N/A", "material_finish": "not specified"}'
    )
    assert parsed.method == "json" and parsed.error is None
    assert parsed.fields == {
        "label_long": "hinge with pin",
        "label_short": "hinge",
        "description": "A hinge",
        "material": None,
        "material_finish": None,
    }


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            '{"label_long": "hinge", "label_short": "' + "hinge " * 7 + '", "description": null, '
            '"material": null, "material_finish": null}',
            "label_short: String should have at most 36 characters",
        ),
        (
            '{"label_long": null, "label_short": "hinge", "description": null, "material": null, '
            '"material_finish": null}',
            "label_long: Input should be a valid string",
        ),
        (
            '{"label_long": "hinge", "label_short": "N/A", "description": null, "material": null, '
            '"material_finish": null}',
            "label_short: Input should be a valid string",
        ),
        ('{"label_long": "hinge {with} pin}", "label_short": "hi', "truncated JSON"),
        (
            '{"label_long": "hinge M8", "label_short": "hinge", "description": null, "material": null, '
            '"material_finish": null}',
            "label_long: String should match pattern",
        ),
        ('{"label_long": "hinge", "label_short": "hi', "truncated JSON"),
        ('{"label_long": hinge}', "malformed JSON"),
        ('{"label_long": "a", "label_short": "b" "c"}', "malformed JSON"),
        ("", "no JSON object in the answer"),
    ],
)
def test_invalid_answers_name_the_problem(text, error):
    parsed = parse_answer(text)
    assert parsed.fields is None and parsed.error.startswith(error)


def test_free_text_is_the_fallback():
    parsed = parse_answer(LLAMA_STYLE)
    assert parsed.method == "fallback" and parsed.fields["label_short"] == "Steel Hinge"


def test_schema_requires_both_labels_and_bounds_fields_by_pattern():
    properties = answer_schema()["properties"]
    assert set(properties) == {"label_long", "label_short", "description", "material", "material_finish"}
    assert properties["label_long"]["type"] == "string" and "anyOf" not in properties["label_short"]
    assert {"type": "null"} in properties["material"]["anyOf"]
    short = properties["label_short"]
    assert short["pattern"].endswith("{0,34}[A-Za-z&'(),./:;+-])?$") and "maxLength" not in short


def test_a_grammar_valid_answer_with_double_spaces_validates_collapsed():
    parsed = parse_answer(
        '{"label_long": "hinge  with pin", "label_short": "hinge", "description": null, '
        '"material": "stainless   steel", "material_finish": null}'
    )
    assert parsed.fields["label_long"] == "hinge with pin" and parsed.fields["material"] == "stainless steel"
