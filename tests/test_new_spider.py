import importlib.resources
import json
import shutil

import pytest

import spiders
from pipeline.newspider import golden_folder, golden_record
from tests.helpers import run_cli


@pytest.fixture
def cleanup():
    written = []
    yield written
    for path in written:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def test_new_spider_is_found_and_passes_its_golden_page(cleanup):
    module = importlib.resources.files(spiders) / "acme_parts.py"
    cleanup += [module, golden_folder() / "acme_parts"]
    result = run_cli(
        "new-spider",
        "acme_parts",
        "--sitemap",
        "https://www.acme-parts.example/sitemap.xml",
        "--product-url",
        r"/p/\d+",
    )
    assert result.exit_code == 0, result.output
    found = spiders.discover()
    assert "acme_parts" in found
    spider = found["acme_parts"]
    assert spider.allowed_domains == ["www.acme-parts.example"] and spider.product_url == r"/p/\d+"
    expected = json.loads((golden_folder() / "acme_parts" / "example.json").read_text())
    assert expected["url"] == "https://www.acme-parts.example/images/example.jpg"
    assert golden_record("acme_parts", golden_folder() / "acme_parts" / "example.html") == expected
    assert "acme_parts" in run_cli("spiders").output
    again = run_cli("new-spider", "acme_parts", "--sitemap", "https://www.acme-parts.example/sitemap.xml")
    assert again.exit_code == 2 and "use --force" in again.stderr


@pytest.mark.parametrize(
    ("name", "sitemap", "message"),
    [
        ("Bad-Name", "https://x.example/s.xml", "use lower-case letters"),
        ("structured", "https://x.example/s.xml", "reserved name"),
        ("shop", "ftp://x.example/s.xml", "expected an http(s) URL"),
    ],
)
def test_new_spider_refuses_bad_input(name, sitemap, message):
    result = run_cli("new-spider", name, "--sitemap", sitemap)
    assert result.exit_code == 2 and message in result.stderr
