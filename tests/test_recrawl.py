"""Incremental re-crawls (`ilid crawl --since PREVIOUS_RAW`): only new and changed product pages are
fetched; the sitemap's `lastmod` decides, and conditional requests where it has none."""

import json
import subprocess
from pathlib import Path

import pytest

from pipeline.testing import structured_crawl
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import read_json
from tests.test_crawl import FAST, HTML, XML


def sitemap(base: str, entries: dict[str, str | None]) -> Reply:
    urls = "".join(
        f"<url><loc>{base}{path}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>"
        for path, lastmod in entries.items()
    )
    return Reply(
        headers=XML,
        body=f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode(),
    )


def page(name: str) -> bytes:
    document = json.dumps({"@type": "Product", "name": name, "image": f"/img/{name.replace(' ', '-')}.jpg"})
    return f'<html><script type="application/ld+json">{document}</script></html>'.encode()


class Shop:
    """Products with a sitemap `lastmod`, and one (/p/etag) without, served with an ETag."""

    def __init__(self, server: LocalServer):
        self.server = server
        self.lastmods: dict[str, str | None] = {
            "/p/gear": "2026-01-01",
            "/p/hinge": "2026-01-01",
            "/p/washer": "2026-01-01",
            "/p/etag": None,
        }
        self.names = {path: path.rsplit("/", 1)[1] for path in self.lastmods}
        self.etag_version = 1
        server.routes["/p/etag"] = self.conditional
        self.publish()

    def conditional(self, handler) -> Reply:
        etag = f'"v{self.etag_version}"'
        if handler.headers.get("If-None-Match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(headers={**HTML, "ETag": etag}, body=page(self.names["/p/etag"]))

    def publish(self) -> None:
        self.server.routes["/sitemap.xml"] = sitemap(self.server.base, self.lastmods)
        for path, name in self.names.items():
            if path != "/p/etag":
                self.server.routes[path] = Reply(headers=HTML, body=page(name))

    def product_requests(self) -> list[str]:
        requests = [path for path in self.server.requests if path.startswith("/p/")]
        self.server.requests.clear()
        return sorted(requests)


def crawl(shop: Shop, output, *extra) -> dict:
    done = subprocess.run(
        structured_crawl(f"{shop.server.base}/sitemap.xml", output, *FAST, *extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return read_json(Path(f"{output}.stats.json"))


@pytest.fixture
def shop():
    with LocalServer() as server:
        yield Shop(server)


def labels(path) -> dict[str, str]:
    return {item["page"].rsplit("/", 1)[1]: item["web"]["label"] for item in read_json(path)}


def test_unchanged_shop_fetches_no_product_page_and_keeps_every_product(shop, tmp_path):
    crawl(shop, tmp_path / "first.json")
    assert shop.product_requests() == ["/p/etag", "/p/gear", "/p/hinge", "/p/washer"]
    first = read_json(tmp_path / "first.json")
    assert {item["page"].rsplit("/", 1)[1]: item.get("lastmod") for item in first} == {
        "gear": "2026-01-01",
        "hinge": "2026-01-01",
        "washer": "2026-01-01",
        "etag": None,
    }
    assert next(item["etag"] for item in first if item["page"].endswith("/p/etag")) == '"v1"'

    stats = crawl(shop, tmp_path / "second.json", "--since", tmp_path / "first.json")
    assert shop.product_requests() == ["/p/etag"]  # no lastmod: asked conditionally, answered 304
    assert [status for path, status in shop.server.served if path == "/p/etag"] == [200, 304]
    assert (stats["unchanged"], stats["changed"], stats["new"], stats["gone"]) == (4, 0, 0, 0)
    by_page = sorted(read_json(tmp_path / "second.json"), key=lambda item: item["page"])
    assert by_page == sorted(first, key=lambda item: item["page"])  # the same records, carried over


def test_changed_new_and_gone_products(shop, tmp_path):
    crawl(shop, tmp_path / "first.json")
    shop.product_requests()
    shop.lastmods["/p/gear"] = "2026-02-01"
    shop.names["/p/gear"] = "gear v2"
    del shop.lastmods["/p/hinge"]
    shop.lastmods["/p/washer"] = "2026-02-01"  # a new lastmod, the same product: fetched, unchanged
    shop.lastmods["/p/spring"] = "2026-02-01"
    shop.names["/p/spring"] = "spring"
    shop.etag_version = 2
    shop.names["/p/etag"] = "etag v2"
    shop.publish()

    stats = crawl(shop, tmp_path / "second.json", "--since", tmp_path / "first.json")
    assert shop.product_requests() == ["/p/etag", "/p/gear", "/p/spring", "/p/washer"]
    assert (stats["unchanged"], stats["changed"], stats["new"], stats["gone"]) == (1, 2, 1, 1)
    assert labels(tmp_path / "second.json") == {
        "gear": "gear v2",
        "washer": "washer",
        "etag": "etag v2",
        "spring": "spring",
    }
    gone = [json.loads(line) for line in (tmp_path / "second.json.gone.jsonl").read_text().splitlines()]
    assert [item["page"].rsplit("/", 1)[1] for item in gone] == ["hinge"]
