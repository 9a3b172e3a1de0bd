"""The catalog spider every shop extends.

A shop declares `sitemap_urls`, a `product_url` regex for its product pages, and, if its pages need
more than structured data, overrides `parse_page` (HTML in, raw record or a skip reason out). Pages
that are skipped are counted by reason (`ilid/skipped/<reason>` in the crawl stats).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar

from lxml import etree
from parsel import Selector
from scrapy import Request
from scrapy.http import Response
from scrapy.spiders import SitemapSpider

from pipeline.records import RawItem, WebText
from spiders.extract import PageProduct, extract_product
from spiders.settings import POLITE_SETTINGS

IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap_images(body: bytes) -> dict[str, str]:
    """Page URL -> its first `image:loc`, which Scrapy's sitemap parser drops."""
    images: dict[str, str] = {}
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return images
    if root is None:
        return images
    for url in root.iter(f"{{{SITEMAP_NS}}}url", "url"):
        loc = url.findtext(f"{{{SITEMAP_NS}}}loc") or url.findtext("loc")
        image = url.findtext(f".//{{{IMAGE_NS}}}loc")
        if loc and image:
            images[loc.strip()] = image.strip()
    return images


class CatalogSpider(SitemapSpider):
    name: ClassVar[str] = ""
    source: ClassVar[str | None] = None  # the dataset's `source` tag; the spider's name when unset
    product_url: ClassVar[str] = r"."
    custom_settings: ClassVar[dict[str, Any]] = dict(POLITE_SETTINGS)

    def __init__(self, *args: Any, **kwargs: Any):
        self.sitemap_rules = [(self.product_url, "parse_product")]
        super().__init__(*args, **kwargs)

    @property
    def source_tag(self) -> str:
        return self.source or self.name

    def count(self, key: str) -> None:
        if getattr(self, "crawler", None):
            self.crawler.stats.inc_value(key)

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Drops entries whose `loc` is not an absolute http(s) URL instead of failing the sitemap."""
        for entry in entries:
            if re.match(r"https?://[^/\s]+", entry.get("loc", "")):
                yield entry
            else:
                self.count("ilid/skipped/bad_sitemap_entry")

    def _get_urls_and_callbacks_from_urlset(
        self, entries: Iterable[dict[str, Any]]
    ) -> Iterator[tuple[str, Any]]:
        """Scrapy's own, counting the sitemap entries that are not product pages."""
        yield from super()._get_urls_and_callbacks_from_urlset(self._counting_locs(entries))

    def _counting_locs(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        pattern = re.compile(self.product_url)
        for entry in entries:
            if not pattern.search(entry["loc"]):
                self.count("ilid/skipped/not_a_product_url")
            yield entry

    def _parse_sitemap(self, response: Response) -> Iterable[Request]:
        requests = list(super()._parse_sitemap(response))
        body = self._get_sitemap_body(response)
        if body and IMAGE_NS.encode() in body:
            images = sitemap_images(body)
            for request in requests:
                if request.url in images:
                    request.meta["sitemap_image"] = images[request.url]
        return requests

    def parse_page(self, selector: Selector, url: str, sitemap_image: str | None = None) -> RawItem | str:
        """The page's raw record, or the reason it has none. Shops override this."""
        return self.record(extract_product(selector, url, sitemap_image), url)

    def record(self, product: PageProduct, url: str) -> RawItem | str:
        if not product.label:
            return "no_title"
        if not product.image:
            return "no_image"
        return RawItem(
            url=product.image,
            web=WebText(label=product.label, data=product.data),
            page=url,
            source=self.source_tag,
        )

    def parse_product(self, response: Response) -> Iterator[dict[str, Any]]:
        if not hasattr(response, "selector"):
            self.count("ilid/skipped/not_html")
            return
        result = self.parse_page(response.selector, response.url, response.meta.get("sitemap_image"))
        if isinstance(result, str):
            self.count(f"ilid/skipped/{result}")
            return
        result.crawled_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        yield result.to_json()

    def closed(self, reason: str) -> None:
        stats = self.crawler.stats.get_stats() if getattr(self, "crawler", None) else {}
        self.logger.info(crawl_summary(self.name, stats, reason))


def crawl_summary(name: str, stats: dict[str, Any], reason: str) -> str:
    """One line: products found, pages skipped by reason, HTTP errors and robots.txt refusals."""
    skipped = {
        key.removeprefix("ilid/skipped/"): value
        for key, value in stats.items()
        if key.startswith("ilid/skipped/")
    }
    errors = {
        key.rsplit("/", 1)[-1]: value
        for key, value in stats.items()
        if key.startswith("httperror/response_ignored_status_count/")
    }
    parts = [f"crawl {name}: {stats.get('item_scraped_count', 0):,} products"]
    if skipped:
        parts.append("skipped " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
    if errors:
        parts.append("HTTP errors " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))
    if stats.get("robotstxt/forbidden"):
        parts.append(f"forbidden by robots.txt {stats['robotstxt/forbidden']}")
    return "; ".join(parts) + f" (finished: {reason})"
