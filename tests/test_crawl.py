"""Real Scrapy crawls of a catalog served on 127.0.0.1 (each in its own process, as a user runs it)."""

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.testing import structured_crawl
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import read_json

GOLDEN = Path(__file__).parent / "golden" / "structured"
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING"]


def urlset(base: str, paths: list[str], images: dict[str, str] | None = None) -> bytes:
    images = images or {}
    entries = []
    for path in paths:
        loc = path if "://" in path or " " in path else base + path
        image = f"<image:image><image:loc>{images[path]}</image:loc></image:image>" if path in images else ""
        entries.append(f"<url><loc>{loc}</loc>{image}</url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">' + "".join(entries) + "</urlset>"
    ).encode()


def page(golden: str) -> Reply:
    return Reply(body=(GOLDEN / f"{golden}.html").read_bytes(), headers=HTML)


PRODUCTS = [
    "/product/jsonld",
    "/product/microdata",
    "/product/og",
    "/product/moved",
    "/product/sitemap-image",
]


@pytest.fixture
def catalog():
    with LocalServer() as server:
        base = server.base
        products = [
            *PRODUCTS,
            "/product/nothing-here",
            "/product/missing",
            "/private/product/secret",
            "not a url",
        ]
        server.routes.update(
            {
                "/robots.txt": Reply(
                    body=f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap_index.xml\n".encode()
                ),
                "/sitemap_index.xml": Reply(
                    headers=XML,
                    body=(
                        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        f"<sitemap><loc>{base}/sitemaps/products.xml.gz</loc></sitemap>"
                        f"<sitemap><loc>{base}/sitemaps/pages.xml</loc></sitemap>"
                        f"<sitemap><loc>{base}/sitemaps/broken.xml</loc></sitemap></sitemapindex>"
                    ).encode(),
                ),
                "/sitemaps/products.xml.gz": Reply(
                    headers={"Content-Type": "application/x-gzip"},
                    body=gzip.compress(
                        urlset(base, products, {"/product/sitemap-image": f"{base}/img/from-sitemap.jpg"})
                    ),
                ),
                "/sitemaps/pages.xml": Reply(headers=XML, body=urlset(base, ["/category/hinges", "/about"])),
                "/sitemaps/broken.xml": Reply(headers=XML, body=b"<html>this is not a sitemap"),
                "/product/jsonld": page("graph_image_object"),
                "/product/microdata": page("microdata"),
                "/product/og": page("opengraph_only"),
                "/product/moved": Reply(301, headers={"Location": f"{base}/product/moved-here"}),
                "/product/moved-here": page("graph_image_object"),
                "/product/sitemap-image": Reply(
                    headers=HTML,
                    body=b"<html><head><script type='application/ld+json'>"
                    b'{"@type": "Product", "name": "Spring washer"}</script></head></html>',
                ),
                "/product/nothing-here": page("nothing"),
                "/private/product/secret": page("microdata"),
                "/category/hinges": page("opengraph_only"),
                "/about": page("nothing"),
            }
        )
        yield server


def crawl(server, output, *extra):
    command = structured_crawl(
        f"{server.base}/robots.txt", output, "-a", "product_url=/product/", *FAST, *extra
    )
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_crawl_finds_every_product_and_nothing_else(catalog, tmp_path):
    done = crawl(catalog, tmp_path / "raw.json")
    assert done.returncode == 0, done.stderr[-3000:]
    items = read_json(tmp_path / "raw.json")
    pages = sorted(item["page"].removeprefix(catalog.base) for item in items)
    assert pages == [
        "/product/jsonld",
        "/product/microdata",
        "/product/moved-here",
        "/product/og",
        "/product/sitemap-image",
    ]
    by_page = {item["page"].removeprefix(catalog.base): item for item in items}
    assert by_page["/product/sitemap-image"]["url"] == f"{catalog.base}/img/from-sitemap.jpg"
    assert by_page["/product/jsonld"]["url"] == f"{catalog.base}/img/6204.webp"
    assert all(item["source"] == "127.0.0.1" and item["crawled_at"].endswith("+00:00") for item in items)
    requested = set(catalog.requests)
    assert "/private/product/secret" not in requested  # robots.txt obeyed
    assert "/category/hinges" not in requested and "/about" not in requested  # not product URLs
    assert "/product/missing" in requested and "/sitemaps/broken.xml" in requested
    stats = read_json(tmp_path / "raw.json.stats.json")
    assert (stats["read"], stats["kept"], stats["dropped"]) == (6, 5, {"no_image": 1})  # every page fetched
    assert (stats["HTTP 404"], stats["forbidden by robots.txt"]) == (1, 1)
    assert stats["skipped not_a_product_url"] == 2 and stats["skipped bad_sitemap_entry"] == 1
    assert "crawl structured: read 6, kept 5, dropped 1 (no_image 1)" in done.stderr


def test_resume_after_an_interrupted_crawl_yields_each_product_once(catalog, tmp_path):
    job = tmp_path / "job"
    first = crawl(
        catalog, tmp_path / "raw.jsonl", "--resume", job, "--max-items", "2", "-s", "CONCURRENT_REQUESTS=1"
    )
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(read_json(tmp_path / "raw.jsonl")) < 5
    second = crawl(catalog, tmp_path / "raw.jsonl", "--resume", job)
    assert second.returncode == 0, second.stderr[-3000:]
    stats = read_json(tmp_path / "raw.jsonl.stats.json")  # the second run reads what both runs scraped
    assert stats["kept"] == 5 and "duplicate_page" not in stats["dropped"]  # no product scraped twice
    assert (
        not (tmp_path / "raw.jsonl.partial.jsonl").exists() and not job.exists()
    )  # finished: nothing to resume
    assert len(read_json(tmp_path / "raw.jsonl")) == 5
    for path in PRODUCTS:
        assert catalog.requests.count(path) == 1, path


def test_cached_recrawl_downloads_no_product_page_again(catalog, tmp_path):
    for path in ("/product/jsonld", "/product/microdata", "/product/og"):
        reply = catalog.routes[path]
        etag = f'"{path}"'

        def conditional(handler, reply=reply, etag=etag):
            if handler.headers.get("If-None-Match") == etag:
                return Reply(304, headers={"ETag": etag})
            return Reply(body=reply.body, headers={**reply.headers, "ETag": etag})

        catalog.routes[path] = conditional
    assert crawl(catalog, tmp_path / "a.json", "--cache").returncode == 0
    first = len(catalog.served)
    assert crawl(catalog, tmp_path / "b.json", "--cache").returncode == 0
    second = catalog.served[first:]
    assert [
        status for path, status in second if path in ("/product/jsonld", "/product/microdata", "/product/og")
    ] == [304, 304, 304]
    webs = [
        sorted((i["page"], i["web"]["label"]) for i in read_json(tmp_path / name))
        for name in ("a.json", "b.json")
    ]
    assert webs[0] == webs[1] and len(webs[0]) == 5


def test_scrapy_runspider_still_works(catalog, tmp_path):
    spider = Path(__file__).parents[1] / "spiders" / "structured.py"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "scrapy"),
            "runspider",
            str(spider),
            "-O",
            str(tmp_path / "out.json"),
            "-a",
            f"sitemap={catalog.base}/robots.txt",
            "-a",
            "product_url=/product/",
            *FAST,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=None,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(read_json(tmp_path / "out.json")) == 5


def test_crawl_cli_errors_are_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "crawl", "nope", "-o", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: no spider named 'nope'")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "crawl", "structured", "-o", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "needs a sitemap" in done.stderr
