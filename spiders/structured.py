"""Any shop without code: products from schema.org data (JSON-LD, microdata), OpenGraph, then HTML.

    ilid crawl structured -a sitemap=https://shop.example/sitemap.xml -a product_url=/product/ -o raw.json

Without `product_url`, every sitemap page is read and only pages that declare a product (schema.org
`Product`, or `og:type` product) become items; with it, pages whose URL matches are taken as products.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from pipeline.errors import IlidError
from pipeline.records import RawItem
from spiders.base import CatalogSpider
from spiders.extract import extract_product


class StructuredDataSpider(CatalogSpider):
    name = "structured"

    def __init__(self, sitemap: str = "", product_url: str = "", source: str = "", **kwargs: Any):
        if not sitemap.startswith(("http://", "https://")):
            raise IlidError(
                "the structured spider needs -a sitemap=URL (an http(s) sitemap or sitemap index)"
            )
        self.sitemap_urls = [sitemap]
        self.allowed_domains = [urlsplit(sitemap).hostname or ""]
        self.trust_url = bool(product_url)
        self.product_url = product_url or r"."
        if source:
            self.source = source
        super().__init__(**kwargs)

    @property
    def source_tag(self) -> str:
        return self.source or self.allowed_domains[0]

    def parse_page(self, selector: Selector, url: str, sitemap_image: str | None = None) -> RawItem | str:
        product = extract_product(selector, url, sitemap_image)
        declared = product.found_by in ("json-ld", "microdata") or (
            (selector.xpath('//meta[@property="og:type"]/@content').get() or "").lower().startswith("product")
        )
        if not (declared or self.trust_url):
            return "not_a_product"
        return self.record(product, url)
