from pipeline.prefilter import Prefilter, PrefilterConfig
from pipeline.records import RawItem
from pipeline.stage import Rejected
from tests.helpers import raw, read_json, run_cli, write_json


def run_prefilter(items, **config):
    results = list(Prefilter(PrefilterConfig(**config))(RawItem.model_validate(i) for i in items))
    kept = [r.to_json() for r in results if not isinstance(r, Rejected)]
    reasons = [(r.reason, r.record.url) for r in results if isinstance(r, Rejected)]
    return kept, reasons


def test_steps_in_order_with_reasons():
    kept, reasons = run_prefilter(
        [
            raw("u1", "Hinge\n 42 \t", "Steel\t hinge", "\r\n", " 12 mm"),
            raw("u1", "Duplicate", "x"),
            raw("u2", "   ", "x"),
            raw("u3", "Clamp", "\r\n", "\t"),
            raw("u4", "123", "text"),
            raw("u5", "Gear", "42", "7"),
        ]
    )
    assert kept == [raw("u1", "Hinge", "Steel hinge", "mm")]
    assert reasons == [
        ("duplicate_url", "u1"),
        ("empty_label", "u2"),
        ("empty_data", "u3"),
        ("label_emptied_by_cleaning", "u4"),
        ("data_emptied_by_cleaning", "u5"),
    ]


def test_regex_removes_trade_name_at_word_boundary_only():
    kept, _ = run_prefilter(
        [raw("u", "AMEISE Hubwagen", "Ameise Gabelhubwagen aus Stahl", "Ameisensäure-fest")],
        regex=r"\bameise\b",
    )
    assert kept[0]["web"] == {"label": "Hubwagen", "data": ["Gabelhubwagen aus Stahl", "Ameisensäure-fest"]}


def test_removals_collapse_spaces_and_keep_numbers_flag():
    kept, _ = run_prefilter([raw("u", "Proline Scharnier 40 x 40 mm", "Edelstahl V2A")], regex="proline")
    assert kept[0]["web"] == {"label": "Scharnier x mm", "data": ["Edelstahl VA"]}
    kept, _ = run_prefilter([raw("u", "Scharnier 40 mm", "x")], keep_numbers=True)
    assert kept[0]["web"]["label"] == "Scharnier 40 mm"


def test_non_ascii_survives():
    kept, _ = run_prefilter([raw("u", "Flügelschraube Größe", "Messing, verchromt – glänzend", "Ø mm")])
    assert kept[0]["web"] == {
        "label": "Flügelschraube Größe",
        "data": ["Messing, verchromt – glänzend", "Ø mm"],
    }


def test_provenance_and_unknown_fields_pass_through():
    item = {**raw("u", "Hinge", "x"), "page": "https://shop/p", "source": "shop", "brand": "ACME"}
    kept, _ = run_prefilter([item])
    assert kept[0] == item


def test_cli_writes_output_stats_and_rejects(tmp_path):
    source = write_json(tmp_path / "raw.json", [raw("u1", "Hinge 2", "steel"), raw("u1", "Hinge", "x")])
    result = run_cli(
        "prefilter",
        "--file",
        source,
        "--output",
        tmp_path / "out" / "pre.json",
        "--rejects",
        tmp_path / "rej.jsonl",
    )
    assert result.exit_code == 0, result.output
    assert read_json(tmp_path / "out" / "pre.json") == [raw("u1", "Hinge", "steel")]
    stats = read_json(tmp_path / "out" / "pre.json.stats.json")
    assert (stats["read"], stats["kept"], stats["dropped"]) == (2, 1, {"duplicate_url": 1})
    assert read_json(tmp_path / "rej.jsonl") == [
        {"reason": "duplicate_url", "record": raw("u1", "Hinge", "x")}
    ]
    assert "prefilter: read 2, kept 1, dropped 1 (duplicate_url 1)" in result.stderr


def test_cli_bad_regex_is_one_line(tmp_path):
    source = write_json(tmp_path / "raw.json", [raw("u1", "Hinge", "steel")])
    result = run_cli("prefilter", "-i", source, "-o", tmp_path / "o.json", "--regex", "(unclosed")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "not a valid regular expression" in result.stderr


def test_skip_invalid_sends_bad_records_to_rejects(tmp_path):
    source = write_json(
        tmp_path / "raw.json", [raw("u1", "Hinge", "steel"), {"url": "u2", "web": {"label": 3}}]
    )
    result = run_cli(
        "prefilter",
        "-i",
        source,
        "-o",
        tmp_path / "o.json",
        "--skip-invalid",
        "--rejects",
        tmp_path / "r.json",
    )
    assert result.exit_code == 0
    (rejected,) = read_json(tmp_path / "r.json")
    assert rejected["reason"] == "invalid: web.label: Input should be a valid string"
    assert len(read_json(tmp_path / "o.json")) == 1
