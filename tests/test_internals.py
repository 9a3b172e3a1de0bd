"""Where ilid overrides a framework's internals, a framework without them is named in one line with
the versions ilid is tested with, at construction, instead of failing deep inside a crawl or a run."""

from importlib.metadata import version
from pathlib import Path

import pytest
from scrapy.spiders import SitemapSpider
from transformers.cache_utils import DynamicLayer

from pipeline.errors import IlidError
from pipeline.internals import TESTED
from pipeline.label.backends.kvcache import growing_cache
from spiders import discover

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_tested_versions_are_the_ones_pyproject_pins():
    text = PYPROJECT.read_text(encoding="utf-8")
    for package, tested in TESTED.items():
        assert f'"{package}{tested}"' in text, package


def test_a_scrapy_without_the_sitemap_internals_is_named_when_a_spider_is_built(monkeypatch):
    discover()["maedler"]()  # the installed Scrapy has them
    monkeypatch.delattr(SitemapSpider, "_get_sitemap_body")
    with pytest.raises(IlidError) as raised:
        discover()["structured"](sitemap="https://shop.example/sitemap.xml")
    message = str(raised.value)
    assert f"scrapy {version('scrapy')} has no SitemapSpider._get_sitemap_body" in message
    assert f"install scrapy{TESTED['scrapy']}" in message and "\n" not in message


def test_a_transformers_without_the_cache_layer_internals_is_named_when_the_cache_is_built(monkeypatch):
    assert growing_cache().layer_class_to_replicate.__name__ == "GrowingLayer"
    monkeypatch.delattr(DynamicLayer, "batch_select_indices")
    with pytest.raises(IlidError) as raised:
        growing_cache()
    message = str(raised.value)
    assert f"transformers {version('transformers')} has no DynamicLayer.batch_select_indices" in message
    assert f"install transformers{TESTED['transformers']}" in message
