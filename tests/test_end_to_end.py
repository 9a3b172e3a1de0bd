"""`ilid demo` and `ilid run` from the command line, as a new user runs them (each in its own process)."""

import subprocess
import sys

import pytest
from PIL import Image

from pipeline.demo.catalog import PRODUCTS, serve_catalog
from pipeline.jsonio import read_valid
from pipeline.records import Sample
from pipeline.testing.server import LocalServer
from tests.helpers import read_json

FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING"]


def ilid(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_leaves_a_valid_dataset_images_plots_and_report(tmp_path):
    workdir = tmp_path / "demo"
    done = ilid("demo", "--workdir", workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    # The title that is nothing but the trade name is emptied by the demo's --regex.
    assert len(read_json(workdir / "dataset.json")) == len(PRODUCTS) - 1
    samples = list(read_valid(workdir / "dataset_curated.json", Sample))
    assert not any("progrip" in sample.label_long for sample in samples)
    curated = read_json(workdir / "dataset_curated.json.stats.json")
    assert curated["read"] == len(PRODUCTS) - 2  # and the dead image link is not downloaded
    assert curated["dropped"] == {
        "placeholder": 3,
        "near_duplicate": 1,
        "duplicate_image": 1,
        "too_small": 1,
        "aspect": 1,
    }
    assert len(samples) == len(PRODUCTS) - 2 - 7
    for sample in samples:
        with Image.open(workdir / "images" / sample.image) as image:
            assert (image.size, image.mode) == ((512, 512), "RGB")
        assert sample.source == "demo" and sample.label_short
    for plot in ("words_label_short", "words_label_long", "values_material", "funnel", "aspect_ratio"):
        with Image.open(workdir / "stats" / f"{plot}.png") as image:
            assert image.width > 300 and len(image.getcolors(100_000) or range(2)) > 1  # drawn, not blank
    assert (workdir / "report.html").stat().st_size > 50_000  # thumbnails embedded
    assert "rules backend, the deterministic no-GPU fallback" in done.stderr
    assert f"open {(workdir / 'report.html').resolve().as_uri()}" in done.stderr
    again = ilid("demo", "--workdir", workdir)  # a second demo empties its own folder and runs afresh
    assert again.returncode == 0
    assert len(read_json(workdir / "dataset_curated.json")) == len(samples)


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    done = ilid("demo", "--workdir", tmp_path)
    assert done.returncode == 2 and "not empty and not a demo folder" in done.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.fixture
def catalog():
    with LocalServer() as server:
        sitemap = serve_catalog(server)
        yield server, sitemap


def run_catalog(workdir, sitemap, *extra):
    """`ilid run` of the demo catalog's products as the shop `shop`, labeled by the rules backend."""
    return ilid(
        "run",
        "structured",
        "--workdir",
        workdir,
        "--source-tag",
        "shop",
        "-a",
        f"sitemap={sitemap}",
        "-a",
        "product_url=/product/",
        "--backend",
        "rules",
        *extra,
        *FAST,
    )


def test_run_chains_every_stage_with_ilid_file_names_and_resumes(catalog, tmp_path):
    server, sitemap = catalog
    first = run_catalog(tmp_path, sitemap, "--regex", "heavy")
    assert first.returncode == 0, first.stderr[-3000:]
    for name in (
        "shop_raw.json",
        "shop_prefiltered.json",
        "shop_processed.json",
        "shop_postfiltered.json",
        "dataset.json",
        "ilid.json",
        "dataset_curated.json",
        "dataset_curated.json.clusters.jsonl",
    ):
        assert (tmp_path / name).exists(), name
    dataset = read_json(tmp_path / "dataset.json")
    assert len(dataset) == len(PRODUCTS) and {s["source"] for s in dataset} == {"shop"}
    assert not any("heavy" in s["label_long"] for s in dataset)  # the pre-filter's regex was applied
    downloaded = read_json(tmp_path / "ilid.json")
    assert len(downloaded) == len(PRODUCTS) - 1  # the dead image link
    assert all((tmp_path / "images" / s["image"]).exists() for s in downloaded)
    assert len(read_json(tmp_path / "dataset_curated.json")) == len(downloaded) - 7
    image_requests = sum(path.startswith("/img/") for path in server.requests)

    second = run_catalog(tmp_path, sitemap, "--regex", "heavy")
    assert second.returncode == 0, second.stderr[-3000:]
    for stage in ("crawl", "prefilter", "label", "postfilter"):
        assert f"{stage}: " in second.stderr and "is up to date, skipped" in second.stderr
    # Nothing fetched again but the dead link, which a rerun tries once more.
    assert sum(path.startswith("/img/") for path in server.requests) == image_requests + 1
    assert read_json(tmp_path / "dataset.json") == dataset
