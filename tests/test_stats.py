import json

from PIL import Image

from pipeline.stats import run_stats
from tests.helpers import run_cli, write_json


def sample(index, short, material, source):
    return {
        "id": str(index),
        "image": f"x/{index}.png",
        "url": f"https://s/{index}.jpg",
        "label_short": short,
        "label_long": f"{short} for machines",
        "description": None,
        "material": material,
        "material_finish": None,
        "source": source,
    }


def test_stats_counts_plots_and_funnel(tmp_path):
    dataset = write_json(
        tmp_path / "dataset.json",
        [
            sample(0, "ball bearing", "steel", "maedler"),
            sample(1, "ball bearing", "steel", "maedler"),
            sample(2, "spur gear", None, "rs_online"),
        ],
    )
    for stage, read, kept in (("prefilter", 10, 8), ("postfilter", 8, 3), ("crawl shop", 12, 10)):
        dropped = {"label_too_short": 4, "not_labeled": 1} if stage == "postfilter" else {}
        (tmp_path / f"{stage}.json.stats.json").write_text(
            json.dumps({"stage": stage, "read": read, "kept": kept, "dropped": dropped})
        )
    manifest = [{"id": "0", "width": 600, "height": 300}, {"id": "1", "width": 300, "height": 300}]
    (tmp_path / "dataset.json.manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in manifest))
    stats = run_stats(dataset, tmp_path / "stats")
    assert stats["samples"] == 3 and stats["sources"] == {"maedler": 2, "rs_online": 1}
    assert stats["unique"]["label_short"] == 2 and stats["missing"]["material"] == 1
    assert stats["top_words"]["label_short"][:2] == [("ball", 2), ("bearing", 2)]
    long_words = dict(stats["top_words"]["label_long"])
    assert long_words["machines"] == 3 and "for" not in long_words  # a stopword
    assert stats["top_values"]["material"] == [("steel", 2)]
    assert stats["funnel"] == [
        {"stage": "crawl", "read": 12, "kept": 10, "dropped": {}},
        {"stage": "prefilter", "read": 10, "kept": 8, "dropped": {}},
        {"stage": "postfilter", "read": 8, "kept": 3, "dropped": {"label_too_short": 4, "not_labeled": 1}},
    ]
    assert stats["aspect_ratio"] == {"images": 2, "median": 1.5, "wider than 2:1": 0, "taller than 1:2": 0}
    plots = ("words_label_short", "words_label_long", "values_material", "values_material_finish", "funnel")
    for plot in (*plots, "aspect_ratio"):
        with Image.open(tmp_path / "stats" / f"{plot}.png") as image:
            assert image.format == "PNG" and image.width >= 600
    assert json.loads((tmp_path / "stats" / "stats.json").read_text())["samples"] == 3


def test_stats_cli_without_stage_files_has_no_funnel(tmp_path):
    dataset = write_json(tmp_path / "d" / "ilid.json", [sample(0, "hinge", "brass", "maedler")])
    result = run_cli("stats", "--dataset", dataset, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (
        not (tmp_path / "out" / "funnel.png").exists() and (tmp_path / "out" / "values_material.png").exists()
    )
    assert not (tmp_path / "out" / "aspect_ratio.png").exists()  # no manifest, no source sizes
    assert "stats: 1 samples (maedler 1)" in result.stderr
