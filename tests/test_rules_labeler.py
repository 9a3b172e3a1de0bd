from pipeline.label.answer import parse_answer
from pipeline.label.backends.rules import rules_answer, short_label
from pipeline.records import RawItem


def item(label, *data):
    return RawItem.model_validate({"url": "u", "web": {"label": label, "data": list(data)}})


def test_rules_labels_are_extractive_and_schema_valid():
    answer = rules_answer(
        item(
            "Lift-off hinge with removable pin 40x40 mm",
            "Made of stainless steel, brushed finish. Fits doors and flaps.",
        )
    )
    assert answer == {
        "label_long": "Lift-off hinge with removable pin",
        "label_short": "Lift-off hinge",
        "description": "Made of stainless steel, brushed finish",
        "material": "stainless steel",
        "material_finish": "brushed",
    }


def test_rules_answers_always_pass_the_answer_schema():
    import json

    for text in ("Spur gear M1 z=20, C45", 'Knob 1/2" UNC', "x" * 80, "Schraube DIN 912 M8x20 verzinkt"):
        parsed = parse_answer(json.dumps(rules_answer(item(text, "Polyamide, black."))))
        assert parsed.method == "json", (text, parsed.error)


def test_short_label_keeps_the_noun_phrase():
    assert short_label("Deep groove ball bearing, sealed on both sides") == "Deep groove ball bearing"
    assert (
        short_label("Stainless steel spring-loaded cabinet hinge for doors")
        == "steel spring-loaded cabinet hinge"
    )
