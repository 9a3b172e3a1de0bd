"""Hostile catalogs: pages and sitemaps that must not end a crawl, nor vanish from its summary."""

import gzip
import itertools
import json
import subprocess
import sys
import zlib
from pathlib import Path

import scrapy.spiders.sitemap
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from pipeline.testing import structured_crawl
from pipeline.testing.server import LocalServer, Reply
from spiders.structured import StructuredDataSpider
from tests.helpers import read_json
from tests.test_crawl import FAST, HTML, XML, urlset

DEEP = "[" * 10_000 + "]" * 10_000


def json_ld(document: str, head: str = "", body: str = "") -> Reply:
    script = f'<script type="application/ld+json">{document}</script>'
    html = f"<html><head>{head}{script}</head><body>{body}</body></html>"
    return Reply(body=html.encode("utf-8", "surrogatepass"), headers=HTML)


IMAGES = itertools.count()


def product(**fields: object) -> str:
    return json.dumps({"@type": "Product", "image": f"/img/{next(IMAGES)}.jpg", **fields})


HOSTILE = {
    # JSON-LD nested 10,000 levels: its parser gives up; OpenGraph still names the product
    "/product/deep": json_ld(
        DEEP,
        head='<meta property="og:title" content="Deep gear"><meta property="og:image" content="/img/d.jpg">',
    ),
    "/product/deep-no-image": json_ld(DEEP, body="<h1>Deep, no image</h1>"),
    # a lone surrogate, as JSON escapes it: no UTF-8 file can hold it
    "/product/surrogate": json_ld(product(name="Gear \ud800 wheel", description="Hub \udfff bore")),
    "/product/language": json_ld(product(name={"@value": "Spur gear", "@language": "en"})),
    "/product/languages": json_ld(
        product(name=[{"@value": "Stirnrad", "@language": "de"}, {"@value": "Spur gear", "@language": "en"}])
    ),
    "/product/huge": json_ld(product(name="Huge gear", description="steel " * 3_000_000)),  # 18 MB
    "/product/long-number": json_ld(
        '{"@type": "Product", "name": ' + "9" * 5000 + "}", body="<h1>Long number</h1>"
    ),
}


def crawl(base: str, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        structured_crawl(f"{base}/sitemap.xml", output, "--product-url", "/product/", *FAST, *extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_hostile_page_lands_in_one_bucket_and_the_next_stage_reads_the_output(tmp_path):
    with LocalServer() as server:
        server.routes.update(HOSTILE)
        server.routes["/sitemap.xml"] = Reply(headers=XML, body=urlset(server.base, list(HOSTILE)))
        done = crawl(server.base, tmp_path / "raw.json", "--rejects", str(tmp_path / "rejects.jsonl"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    items = {item["page"].rsplit("/", 1)[-1]: item for item in read_json(tmp_path / "raw.json")}
    stats = read_json(tmp_path / "raw.json.stats.json")
    assert stats["read"] == len(HOSTILE) == stats["kept"] + sum(stats["dropped"].values())
    assert stats["dropped"] == {"no_image": 2}  # deep-no-image and long-number: a title, no image
    rejected = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert sorted(entry["record"]["page"].rsplit("/", 1)[-1] for entry in rejected) == [
        "deep-no-image",
        "long-number",
    ]
    assert items["deep"]["web"]["label"] == "Deep gear"
    assert items["surrogate"]["web"] == {"label": "Gear \ufffd wheel", "data": ["Hub \ufffd bore"]}
    assert items["language"]["web"]["label"] == "Spur gear"
    assert items["languages"]["web"]["label"] == "Stirnrad"  # the first language given
    assert len(items["huge"]["web"]["data"][0]) == 10_000 and stats["cut data"] == 1
    prefiltered = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "prefilter",
            "-i",
            tmp_path / "raw.json",
            "-o",
            tmp_path / "pre.json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert prefiltered.returncode == 0, prefiltered.stderr[-2000:]
    assert read_json(tmp_path / "pre.json.stats.json")["read"] == 5  # every record read, none refused


FRAGILE_SPIDER = """
from spiders.structured import StructuredDataSpider

class FragileSpider(StructuredDataSpider):
    name = "fragile"

    def parse_page(self, selector, url, sitemap_image=None):
        if url.endswith("/product/language"):
            raise KeyError("price")  # a shop spider's bug, met on one page
        return super().parse_page(selector, url, sitemap_image)
"""


def test_a_page_the_spider_fails_on_is_counted_as_extract_error_with_its_url(tmp_path):
    """A shop spider raising on one page: the crawl goes on, the page is counted and kept in the rejects."""
    (tmp_path / "fragile.py").write_text(FRAGILE_SPIDER)
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from fragile import FragileSpider; from pipeline.crawl import ShopCrawl, run_crawls;"
        "shop = ShopCrawl('fragile', FragileSpider, Path(sys.argv[2]), {'sitemap': sys.argv[3]},"
        " rejects=Path(sys.argv[4]));"
        "run_crawls([shop], {'AUTOTHROTTLE_ENABLED': False, 'DOWNLOAD_DELAY': 0, 'LOG_LEVEL': 'WARNING'})"
    )
    with LocalServer() as server:
        pages = {path: HOSTILE[path] for path in ("/product/language", "/product/surrogate")}
        server.routes.update(pages)
        server.routes["/sitemap.xml"] = Reply(headers=XML, body=urlset(server.base, list(pages)))
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                tmp_path,
                tmp_path / "raw.json",
                f"{server.base}/sitemap.xml",
                tmp_path / "rejects.json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    stats = read_json(tmp_path / "raw.json.stats.json")
    assert (stats["read"], stats["kept"], stats["dropped"]) == (2, 1, {"extract_error": 1})
    [rejected] = read_json(tmp_path / "rejects.json")
    assert rejected["reason"] == "extract_error"
    assert rejected["record"] == {"page": f"{server.base}/product/language", "error": "KeyError: 'price'"}
    assert "Traceback" not in done.stderr


def gzip_bomb(size: int) -> bytes:
    """`size` bytes of zeros, gzipped (about a thousandth of that on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(size >> 20)) + compressor.flush()


def test_a_gzipped_sitemap_bomb_is_left_at_the_size_cap_and_the_other_sitemaps_are_read(tmp_path):
    with LocalServer() as server:
        base = server.base
        server.routes.update(
            {
                "/sitemap.xml": Reply(
                    headers=XML,
                    body=(
                        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        f"<sitemap><loc>{base}/bomb.xml.gz</loc></sitemap>"
                        f"<sitemap><loc>{base}/products.xml</loc></sitemap></sitemapindex>"
                    ).encode(),
                ),
                "/bomb.xml.gz": Reply(headers={"Content-Type": "application/gzip"}, body=gzip_bomb(64 << 20)),
                "/products.xml": Reply(headers=XML, body=urlset(base, ["/product/language"])),
                "/product/language": HOSTILE["/product/language"],
            }
        )
        done = crawl(base, tmp_path / "raw.json")
    assert done.returncode == 0, done.stderr[-3000:]
    stats = read_json(tmp_path / "raw.json.stats.json")
    assert stats["kept"] == 1 and stats["skipped sitemap_too_large"] == 1  # over the 50 MB default cap


def test_a_gzipped_sitemap_is_decompressed_once(monkeypatch):
    """Scrapy's parser and the `image:loc` reader share one decompression of each sitemap."""
    calls = []

    def counting_gunzip(data, *, max_size=0):
        calls.append(max_size)
        return gunzip(data, max_size=max_size)

    gunzip = scrapy.spiders.sitemap.gunzip
    monkeypatch.setattr(scrapy.spiders.sitemap, "gunzip", counting_gunzip)
    base = "http://127.0.0.1:9"
    spider = StructuredDataSpider.from_crawler(get_crawler(StructuredDataSpider), sitemap=f"{base}/s.xml.gz")
    body = urlset(base, ["/product/a", "/product/b"], {"/product/a": f"{base}/img/a.jpg"})
    request = spider.sitemap_request(Request(f"{base}/s.xml.gz"))
    response = Response(request.url, body=gzip.compress(body), request=request)
    requests = list(spider._parse_sitemap(response))
    assert [r.url for r in requests] == [f"{base}/product/a", f"{base}/product/b"]
    assert requests[0].meta["sitemap_image"] == f"{base}/img/a.jpg"
    assert calls == [50 << 20]  # once, with the sitemap cap
