from pipeline.postfilter import Postfilter, PostfilterConfig, folder_name_for
from pipeline.records import LabeledItem
from pipeline.stage import Rejected
from tests.helpers import labeled, read_json, run_cli, write_json


def run_postfilter(items, **config):
    results = list(Postfilter(PostfilterConfig(**config))(LabeledItem.model_validate(i) for i in items))
    kept = [r.to_json() for r in results if not isinstance(r, Rejected)]
    return kept, [(r.reason, r.record.url) for r in results if isinstance(r, Rejected)]


def test_cleans_lowercases_and_derives_folder_name():
    (item,), _ = run_postfilter(
        [
            labeled(
                "u",
                "Ball Bearing (6204)!",
                "Deep-Groove Ball Bearing, sealed",
                description="Runs smoothly.",
                material="Chrome Steel",
                material_finish="Polished / Oiled",
            )
        ]
    )
    assert item["label_short"] == "ball bearing 6204"
    assert item["label_long"] == "deep-groove ball bearing sealed"
    assert item["description"] == "Runs smoothly."  # ILID does not lower-case descriptions
    assert (item["material"], item["material_finish"]) == ("chrome steel", "polished oiled")
    assert item["folder_name"] == "ball_bearing_6204"


def test_short_fields_become_null_and_short_labels_are_dropped_not_crashed():
    kept, reasons = run_postfilter(
        [
            labeled("u1", "Gear wheel", "Spur gear wheel", material="PA", material_finish="n/a"),
            labeled("u2", "Nut", "Hexagon nut"),
            labeled("u3", None, None),
            {**labeled("u4", None, None), "response": None, "label_error": "invalid_json"},
            {"url": "u5", "web": {"label": "x", "data": ["y"]}},
        ]
    )
    assert [(k["material"], k["material_finish"]) for k in kept] == [(None, None)]
    assert reasons == [
        ("label_too_short", "u2"),
        ("label_failed", "u3"),
        ("label_failed", "u4"),
        ("not_labeled", "u5"),
    ]


def test_folder_name_keeps_umlauts_and_drops_dots():
    assert folder_name_for("flügel mutter m.8") == "flügel_mutter_m8"


def test_cli_accepts_original_flag_spelling(tmp_path):
    source = write_json(
        tmp_path / "p.json", [labeled("u", "abcdef", "abcdefgh"), labeled("v", "abc", "abcdefgh")]
    )
    result = run_cli(
        "postfilter", "--file", source, "--output", tmp_path / "o.json", "--min_field_length", "6"
    )
    assert result.exit_code == 0, result.output
    assert [i["url"] for i in read_json(tmp_path / "o.json")] == ["u"]
