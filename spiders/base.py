"""The catalog spider every shop extends.

A shop declares `sitemap_urls`, a `product_url` regex for its product pages, and, if its pages need
more than structured data, overrides `parse_page` (HTML in, raw record or a skip reason out).

Every product page fetched lands in one bucket of the crawl stats: an item, or `ilid/dropped/<reason>`
(`extract_error` when parsing raised; the page and the error go to the `ILID_REJECTS` file when set).
Sitemap entries that are not fetched are counted as `ilid/skipped/<reason>`, text cut to
`MAX_TEXT_CHARS` as `ilid/cut/<field>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from lxml import etree
from parsel import Selector
from scrapy import Request
from scrapy.http import Response
from scrapy.spiders import SitemapSpider
from scrapy.utils.gz import gzip_magic_number

from pipeline.internals import require_internals
from pipeline.records import RawItem, WebText
from spiders.extract import PageProduct, extract_product
from spiders.recrawl import PreviousCrawl
from spiders.settings import POLITE_SETTINGS

IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_TEXT_CHARS = 10_000  # a title or snippet longer than this is cut (the rest is boilerplate or junk)
MAX_URL_CHARS = 8_192  # an image URL longer than this is not one
MAX_SNIPPETS = 100  # snippets kept per product, so no record nears the readers' record size cap
MAX_SITEMAP_BYTES = 50 << 20  # the sitemap protocol's own limit, compressed or not (ILID_SITEMAP_MAXSIZE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def bounded(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """`text` without lone surrogates (which no UTF-8 file can hold) and cut to `limit` characters;
    and whether it was cut."""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return (text[:limit], True) if len(text) > limit else (text, False)


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


# Scrapy's private SitemapSpider methods that CatalogSpider overrides and calls
SCRAPY_INTERNALS = ("_parse_sitemap", "_get_sitemap_body", "_get_urls_and_callbacks_from_urlset")


class CatalogSpider(SitemapSpider):
    # Scrapy declares these per instance (a spider's arguments may set them), so no ClassVar.
    name = ""
    source: str | None = None  # the dataset's `source` tag; the spider's name when unset
    product_url = r"."
    custom_settings: dict[str, Any] | None = dict(POLITE_SETTINGS)

    def __init__(self, *args: Any, **kwargs: Any):
        require_internals(SitemapSpider, SCRAPY_INTERNALS, "scrapy", "the spiders' sitemap handling")
        self.sitemap_rules = [(self.product_url, "parse_product")]
        # of the sitemap being parsed: its products' lastmod, and the previous records carried over
        self._lastmods: dict[str, str] = {}
        self._carried: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    @property
    def source_tag(self) -> str:
        return self.source or self.name

    def count(self, key: str) -> None:
        if getattr(self, "crawler", None):
            self.crawler.stats.inc_value(key)

    def drop(self, page: str, reason: str, error: str | None = None) -> None:
        """Counts a fetched page that gives no item and, with `ILID_REJECTS` set, keeps it there."""
        self.count(f"ilid/dropped/{reason}")
        if error:
            error = bounded(error, 500)[0]  # an exception's text may quote the page
            self.logger.warning("%s: %s: %s", reason, page, error)
        settings = getattr(self, "settings", None)
        if settings and (path := settings.get("ILID_REJECTS")):
            record = {"page": page, **({"error": error} if error else {})}
            with open(path, "a", encoding="utf-8") as rejects:
                rejects.write(json.dumps({"reason": reason, "record": record}, ensure_ascii=False) + "\n")

    @property
    def sitemap_maxsize(self) -> int:
        settings = getattr(self, "settings", None)
        return settings.getint("ILID_SITEMAP_MAXSIZE", MAX_SITEMAP_BYTES) if settings else MAX_SITEMAP_BYTES

    def sitemap_request(self, request: Request) -> Request:
        """Sitemaps are downloaded, and gunzipped, up to `sitemap_maxsize` bytes (Scrapy's gunzip and
        download handlers honour `download_maxsize`)."""
        request.meta.setdefault("download_maxsize", self.sitemap_maxsize)
        return request

    async def start(self) -> AsyncIterator[Any]:
        async for request in super().start():
            yield self.sitemap_request(request) if isinstance(request, Request) else request

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Drops entries whose `loc` is not an absolute http(s) URL instead of failing the sitemap."""
        for entry in entries:
            if re.match(r"https?://[^/\s]+", entry.get("loc", "")):
                yield entry
            else:
                self.count("ilid/skipped/bad_sitemap_entry")

    @cached_property
    def previous(self) -> PreviousCrawl | None:
        """The previous crawl (`ILID_SINCE`), for an incremental re-crawl."""
        settings = getattr(self, "settings", None)
        path = settings.get("ILID_SINCE") if settings else None
        return PreviousCrawl(path) if path else None

    def _get_urls_and_callbacks_from_urlset(
        self, entries: Iterable[dict[str, Any]]
    ) -> Iterator[tuple[str, Any]]:
        """Scrapy's own, counting the sitemap entries that are not product pages and, on a re-crawl,
        leaving out (and carrying over) the products whose `lastmod` has not changed."""
        yield from super()._get_urls_and_callbacks_from_urlset(self._product_entries(entries))

    def _product_entries(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        pattern = re.compile(self.product_url)
        for entry in entries:
            loc = entry["loc"]
            if not pattern.search(loc):
                self.count("ilid/skipped/not_a_product_url")
                yield entry
                continue
            lastmod = entry.get("lastmod")
            if lastmod:
                self._lastmods[loc] = lastmod
            if self.previous and (record := self.previous.unchanged(loc, lastmod)) is not None:
                self.count("ilid/recrawl/unchanged")
                self._carried.append(record)
                continue
            yield entry

    def _get_sitemap_body(self, response: Response) -> bytes | None:
        """Scrapy's, decompressing a gzipped sitemap once per response (it is read twice: by Scrapy's
        sitemap parser and for `image:loc`); one over the size cap is counted and left."""
        memo = response.meta.get("_ilid_sitemap_body")
        if memo is not None and memo[0] is response:
            memoized: bytes | None = memo[1]
            return memoized
        body = super()._get_sitemap_body(response)
        if body is None and gzip_magic_number(response):
            self.count("ilid/skipped/sitemap_too_large")
        response.meta["_ilid_sitemap_body"] = (response, body)
        return body

    def _parse_sitemap(self, response: Response) -> Iterable[Any]:  # requests, and carried-over items
        self._carried, self._lastmods = [], {}
        requests = list(super()._parse_sitemap(response))
        body = self._get_sitemap_body(response)
        response.meta.pop("_ilid_sitemap_body", None)
        images = sitemap_images(body) if body and IMAGE_NS.encode() in body else {}
        for request in requests:
            if request.callback == self._parse_sitemap:
                self.sitemap_request(request)
                continue
            request.meta["sitemap_loc"] = request.url
            if request.url in images:
                request.meta["sitemap_image"] = images[request.url]
            if request.url in self._lastmods:
                request.meta["lastmod"] = self._lastmods[request.url]
            elif self.previous and (headers := self.previous.conditional_headers(request.url)):
                request.headers.update(headers)
                request.meta["handle_httpstatus_list"] = [304]
        return [*requests, *self._carried]

    def parse_page(self, selector: Selector, url: str, sitemap_image: str | None = None) -> RawItem | str:
        """The page's raw record, or the reason it has none. Shops override this."""
        return self.record(extract_product(selector, url, sitemap_image), url)

    def record(self, product: PageProduct, url: str) -> RawItem | str:
        if not product.label:
            return "no_title"
        if not product.image:
            return "no_image"
        if len(product.image) > MAX_URL_CHARS:
            return "image_url_too_long"
        return RawItem(
            url=product.image,
            web=WebText(label=product.label, data=product.data),
            page=url,
            source=self.source_tag,
        )

    def parse_product(self, response: Response) -> Iterator[dict[str, Any]]:
        self.count("ilid/pages")
        loc = response.meta.get("sitemap_loc", response.url)
        if self.previous and response.status == 304 and loc in self.previous.records:
            self.count("ilid/recrawl/unchanged")
            yield self.previous.records[loc]
            return
        if not hasattr(response, "selector"):
            self.drop(response.url, "not_html")
            return
        try:
            result = self.parse_page(response.selector, response.url, response.meta.get("sitemap_image"))
            if not isinstance(result, str):
                item = self.finished(result, response)
        except Exception as error:  # one hostile page must not end the crawl, nor vanish uncounted
            self.drop(response.url, "extract_error", f"{type(error).__name__}: {error}")
            return
        if isinstance(result, str):
            self.drop(response.url, result)
            return
        if self.previous:
            self.count(f"ilid/recrawl/{self.previous.compare(loc, item)}")
        yield item

    def finished(self, item: RawItem, response: Response) -> dict[str, Any]:
        """The item as JSON, its text made safe to write and small enough for every later stage to read:
        lone surrogates replaced, each text cut to `MAX_TEXT_CHARS`, at most `MAX_SNIPPETS` snippets.
        What the next re-crawl compares is added: the sitemap's `lastmod` (and `loc` when the page
        moved), the response's ETag and Last-Modified."""
        item.crawled_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        data = item.to_json()
        loc = response.meta.get("sitemap_loc")
        if loc and loc != data.get("page"):
            data["loc"] = loc
        if response.meta.get("lastmod"):
            data["lastmod"] = response.meta["lastmod"]
        for header, name in ((b"ETag", "etag"), (b"Last-Modified", "last_modified")):
            if value := response.headers.get(header):
                data[name] = value.decode("latin-1")
        web = data["web"]
        web["label"], cut = bounded(web["label"])
        if cut:
            self.count("ilid/cut/label")
        if len(web["data"]) > MAX_SNIPPETS:
            web["data"] = web["data"][:MAX_SNIPPETS]
            self.count("ilid/cut/snippets")
        snippets = []
        for snippet in web["data"]:
            text, cut = bounded(snippet)
            snippets.append(text)
            if cut:
                self.count("ilid/cut/data")
        web["data"] = snippets
        data["url"] = _LONE_SURROGATE.sub("\ufffd", data["url"])
        return data

    def closed(self, reason: str) -> None:
        if self.previous and reason == "finished":
            self.report_gone()
        stats = self.crawler.stats.get_stats() if getattr(self, "crawler", None) else {}
        self.logger.info(crawl_summary(self.name, stats, reason))

    def report_gone(self) -> None:
        """Counts the previous products no sitemap lists any more, and writes them to `ILID_GONE`."""
        assert self.previous is not None
        gone = self.previous.gone()
        self.crawler.stats.set_value("ilid/recrawl/gone", len(gone))
        if path := self.settings.get("ILID_GONE"):
            with open(path, "w", encoding="utf-8") as out:
                out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in gone)


def crawl_summary(name: str, stats: dict[str, Any], reason: str) -> str:
    """One line: products found, pages skipped by reason, HTTP errors and robots.txt refusals."""
    skipped = {
        key.split("/", 2)[-1]: value
        for key, value in stats.items()
        if key.startswith(("ilid/skipped/", "ilid/dropped/"))
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
