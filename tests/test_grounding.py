"""Grounding: materials and finishes the product's own text does not support become null."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.label.config import LabelConfig
from pipeline.label.grounding import ProductText, supported
from pipeline.label.stage import run_label
from pipeline.records import RawItem
from pipeline.stats import run_stats
from pipeline.testing.server import LocalServer
from tests.helpers import raw, read_json, run_cli, write_json
from tests.test_label import completion


def text(label: str, *data: str) -> ProductText:
    return ProductText(RawItem.model_validate(raw("u", label, *data)))


@pytest.mark.parametrize(
    ("value", "label", "data"),
    [
        ("brass", "Stirnrad aus Messing", ""),
        ("stainless steel", "Rillenkugellager aus Edelstahl", ""),
        ("stainless steel", "Scharnier", "Werkstoff: rostfrei"),
        ("brass", "Messingmutter", ""),  # a German compound holds the word
        ("zinc plated", "Schraube", "galvanisch verzinkt"),
        ("galvanised", "Toggle clamp, zinc-plated", ""),
        ("black oxide", "Gewindestift brüniert", ""),
        ("burnished", "Gewindestift, brueniert", ""),
        ("anodized", "Profil", "eloxiert"),
        ("chrome plated", "Griff verchromt", ""),
        ("aluminium", "Hinge", "aluminum die-cast"),
        ("polyamide", "Spur gear", "PA 6, black"),
        ("nylon", "Spur gear", "Polyamide"),
        ("plastic", "Sterngriff", "Kunststoff"),
        ("black", "Sterngriff schwarz", ""),
        ("stainless steels", "Hinge", "steel"),
        ("polished", "Hinge, Polishing", ""),
    ],
)
def test_values_the_text_names_or_translates_are_supported(value, label, data):
    assert supported(value, text(label, data))


@pytest.mark.parametrize(
    ("value", "label", "data"),
    [
        ("titanium", "Hinge", "steel, brushed"),
        ("nylon", "Knob", "plastic"),  # a kind of plastic is not what the text says
        ("blue", "Clamp", "red handle"),
        ("nickel plated", "Handle", "chrome"),
        ("pa", "Spur gear", "Spannung"),  # short words count only whole
    ],
)
def test_values_the_text_does_not_support_are_not(value, label, data):
    assert not supported(value, text(label, data))


# Chosen answers of the served "model", by product title.
ANSWERS = {
    "Lift-off hinge": ("stainless steel", "brushed"),  # both in the text
    "Ball bearing": ("titanium", None),  # a material the text lacks
    "Stirnrad aus Messing": ("brass", None),  # a German synonym
    "Sterngriff schwarz": ("plastic", "black"),  # the finish only as a colour word in the title
}
ITEMS = [
    raw("http://shop/0.jpg", "Lift-off hinge", "Stainless steel, brushed finish"),
    raw("http://shop/1.jpg", "Ball bearing", "Deep groove, sealed, chrome steel"),
    raw("http://shop/2.jpg", "Stirnrad aus Messing", "Modul 1, mit Nabe"),
    raw("http://shop/3.jpg", "Sterngriff schwarz", "Kunststoff, mit Gewindebuchse"),
]


def chosen_answer(handler):
    prompt = handler.json_body()["messages"][1]["content"]
    title = re.search(r"^Label: (.*)$", prompt, re.M).group(1)
    material, finish = ANSWERS[title]
    answer = {
        "label_long": f"{title} for machines",
        "label_short": title,
        "description": None,
        "material": material,
        "material_finish": finish,
    }
    return completion(json.dumps(answer))


def label_with_server(tmp_path: Path, *flags: str) -> tuple[list[dict], dict]:
    source = write_json(tmp_path / "pre.json", ITEMS)
    output = tmp_path / "labeled.json"
    with LocalServer() as server:
        server.routes["/v1/chat/completions"] = chosen_answer
        result = run_cli(
            "label",
            "-i",
            source,
            "-o",
            output,
            "--backend",
            "openai",
            "--base-url",
            f"{server.base}/v1",
            *flags,
        )
    assert result.exit_code == 0, result.output
    return read_json(output), read_json(Path(f"{output}.stats.json"))


def test_openai_answers_keep_only_what_the_product_text_supports(tmp_path):
    labeled, summary = label_with_server(tmp_path)
    by_title = {item["web"]["label"]: item for item in labeled}
    assert by_title["Lift-off hinge"]["material"] == "stainless steel"
    assert by_title["Lift-off hinge"]["material_finish"] == "brushed"
    assert by_title["Ball bearing"]["material"] is None
    assert by_title["Ball bearing"]["grounding"] == {"material": "titanium"}
    assert by_title["Stirnrad aus Messing"]["material"] == "brass"
    assert (
        by_title["Sterngriff schwarz"]["material"],
        by_title["Sterngriff schwarz"]["material_finish"],
    ) == (
        "plastic",
        "black",
    )
    assert [item for item in labeled if "grounding" in item] == [by_title["Ball bearing"]]
    assert all(item["label_method"] == "openai:json" for item in labeled)
    assert (summary["material kept"], summary["material nulled"]) == (3, 1)
    assert (summary["material_finish kept"], summary["material_finish nulled"]) == (2, 0)


def test_no_grounding_keeps_the_model_answer(tmp_path):
    labeled, summary = label_with_server(tmp_path, "--no-grounding")
    assert [item["material"] for item in labeled] == ["stainless steel", "titanium", "brass", "plastic"]
    assert not any("grounding" in item for item in labeled)
    assert "material nulled" not in summary


def test_rules_answers_are_grounded_too(tmp_path):
    source = write_json(tmp_path / "pre.json", ITEMS)
    summary = run_label(source, tmp_path / "labeled.json", LabelConfig(backend="rules"))
    assert summary.notes["material kept"] >= 2 and summary.notes["material nulled"] == 0


def test_grounding_reaches_the_dataset_and_stats_shows_its_rate_per_source(tmp_path, capsys):
    label_with_server(tmp_path)
    postfiltered, dataset = tmp_path / "post.json", tmp_path / "dataset.json"
    assert run_cli("postfilter", "--file", tmp_path / "labeled.json", "--output", postfiltered).exit_code == 0
    result = run_cli("assemble", "--file", postfiltered, "--dataset", dataset, "--source-tag", "maedler")
    assert result.exit_code == 0, result.output
    samples = read_json(dataset)
    assert [sample.get("grounding") for sample in samples].count({"material": "titanium"}) == 1
    assert sum("grounding" in sample for sample in samples) == 1  # absent, not null, where nothing was
    capsys.readouterr()
    stats = run_stats(dataset, tmp_path / "stats")
    assert stats["grounding"] == {"maedler": {"material": 0.75, "material_finish": 1.0}}
    assert "grounded (values the product text supports): maedler material 75%, material_finish 100%" in (
        capsys.readouterr().err
    )
