import json
import sys

import pytest

import spiders
from pipeline.newspider import golden_folder
from pipeline.testing.golden import golden_record
from tests.helpers import run_cli


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project checkout in tmp_path whose spiders package is the one ilid loads (as in a real
    checkout), so that nothing is written into the source tree."""
    (tmp_path / "spiders").mkdir()
    monkeypatch.setattr(spiders, "__path__", [*spiders.__path__, str(tmp_path / "spiders")])
    yield tmp_path
    sys.modules.pop("spiders.acme_parts", None)


def test_new_spider_is_found_and_passes_its_golden_page(project):
    result = run_cli(
        "new-spider",
        "acme_parts",
        "--sitemap",
        "https://www.acme-parts.example/sitemap.xml",
        "--product-url",
        r"/p/\d+",
        "--root",
        project,
    )
    assert result.exit_code == 0, result.output
    assert (project / "spiders" / "acme_parts.py").is_file()
    found = spiders.discover()
    assert "acme_parts" in found
    spider = found["acme_parts"]
    assert spider.allowed_domains == ["www.acme-parts.example"] and spider.product_url == r"/p/\d+"
    golden = golden_folder(project) / "acme_parts"
    expected = json.loads((golden / "example.json").read_text())
    assert expected["url"] == "https://www.acme-parts.example/images/example.jpg"
    assert golden_record("acme_parts", golden / "example.html") == expected
    assert "acme_parts" in run_cli("spiders").output
    again = run_cli(
        "new-spider",
        "acme_parts",
        "--sitemap",
        "https://www.acme-parts.example/sitemap.xml",
        "--root",
        project,
    )
    assert again.exit_code == 2 and "use --force" in again.stderr


@pytest.mark.parametrize(
    ("name", "sitemap", "message"),
    [
        ("Bad-Name", "https://x.example/s.xml", "use lower-case letters"),
        ("structured", "https://x.example/s.xml", "reserved name"),
        ("shop", "ftp://x.example/s.xml", "expected an http(s) URL"),
    ],
)
def test_new_spider_refuses_bad_input(name, sitemap, message, tmp_path):
    result = run_cli("new-spider", name, "--sitemap", sitemap, "--root", tmp_path)
    assert result.exit_code == 2 and message in result.stderr
