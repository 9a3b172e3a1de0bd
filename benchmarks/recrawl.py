"""Re-crawling a 5,000-product shop served on 127.0.0.1 whose sitemaps give each page's `<lastmod>`.

A first crawl, then a re-crawl with nothing changed, then one after 50 products changed, each with
`--since` the previous raw file; side by side, the re-crawl the HTTP cache gives (`--cache`, which
revalidates every page). Product-page requests are counted by the server.
Goal: the unchanged re-crawl requests at most 1% of the first crawl's product pages, the changed one
about 50.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.crawl import COUNT, SETTINGS, product_page, sitemaps
from pipeline.testing import structured_crawl
from pipeline.testing.server import LocalServer, Reply

ROOT = Path(__file__).resolve().parents[1]

CHANGED = 50
FIRST = "2026-01-01"


def publish(server: LocalServer, lastmods: list[str]) -> None:
    """The sitemap index, five gzipped sitemaps of 1,000 products with their `lastmod`, the pages."""
    sitemaps(server, lastmods)
    html = {"Content-Type": "text/html; charset=utf-8"}
    for index in range(COUNT):
        body = product_page(index)
        if lastmods[index] != FIRST:  # a revised product: its schema.org description says so
            body = body.replace(b'"description": "', f'"description": "Revised {lastmods[index]}. '.encode())
        etag = f'"{index}-{lastmods[index]}"'
        server.routes[f"/product/{index}"] = lambda handler, body=body, etag=etag: (
            Reply(304, headers={"ETag": etag})
            if handler.headers.get("If-None-Match") == etag
            else Reply(body=body, headers={**html, "ETag": etag})
        )


def crawl(server: LocalServer, output: Path, *extra: str) -> tuple[int, float]:
    """(product-page requests, wall seconds) of one `ilid crawl structured`."""
    server.requests.clear()
    started = time.perf_counter()
    subprocess.run(
        structured_crawl(
            f"{server.base}/sitemap.xml", output, *SETTINGS, *extra, "--product-url", "/product/"
        ),
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    return sum(path.startswith("/product/") for path in server.requests), wall


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ilid-bench-recrawl-"))
    lastmods = [FIRST] * COUNT
    with LocalServer() as server:
        publish(server, lastmods)
        first = crawl(server, work / "first.json", "--cache")
        cached = crawl(server, work / "cached.json", "--cache")
        unchanged = crawl(server, work / "unchanged.json", "--since", str(work / "first.json"))
        for index in range(COUNT - CHANGED, COUNT):
            lastmods[index] = "2026-02-01"
        publish(server, lastmods)
        changed = crawl(server, work / "changed.json", "--since", str(work / "unchanged.json"))
    stats = json.loads((work / "changed.json.stats.json").read_text())
    assert (stats["kept"], stats["changed"], stats["unchanged"]) == (COUNT, CHANGED, COUNT - CHANGED), stats
    for name, (requests, wall) in (
        ("first crawl", first),
        ("re-crawl, HTTP cache (--cache)", cached),
        ("re-crawl, unchanged (--since)", unchanged),
        (f"re-crawl, {CHANGED} changed (--since)", changed),
    ):
        print(f"{name:36s} {requests:6,} product-page requests {wall:6.1f} s")
    print(
        f"recrawl: unchanged {unchanged[0] / first[0]:.2%} of the first crawl's product pages "
        f"(target <= 1%), {changed[0]} for {CHANGED} changed (target about {CHANGED}); "
        f"the HTTP cache's re-crawl {cached[0] / first[0]:.0%} ({cached[1] / unchanged[1]:.1f}x the time)"
    )


if __name__ == "__main__":
    main()
