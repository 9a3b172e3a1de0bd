"""Golden records: what a spider makes of a saved product page, as `tests/golden/<spider>/<case>.json`
holds it and `ilid new-spider` writes it for a new shop's example page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parsel import Selector

import spiders
from spiders.base import CatalogSpider

GOLDEN_URL = "https://{domain}/product/example"


def golden_record(
    spider_name: str, page: Path, spider: type[CatalogSpider] | None = None
) -> dict[str, Any] | str:
    """The spider's raw record of a saved page without `crawled_at`, or the reason it skips the page.
    The page's URL is read from `<link rel="canonical">`, else the example URL of its shop. The spider
    is built as `ilid crawl NAME -a sitemap=URL` builds it, with its shop's sitemap (a shop spider keeps
    its own; the structured spider reads its domain from it). `spider` is the class, when it is not
    one of the spiders package's own (a module just written elsewhere)."""
    html = page.read_text(encoding="utf-8")
    selector = Selector(text=html)
    spider = spider or spiders.discover()[spider_name]
    domain = (getattr(spider, "allowed_domains", None) or ["shop.example"])[0]
    url = selector.xpath('//link[@rel="canonical"]/@href').get() or GOLDEN_URL.format(domain=domain)
    result = spider(sitemap=f"https://{domain}/sitemap.xml").parse_page(selector, url)
    return result if isinstance(result, str) else result.to_json()
