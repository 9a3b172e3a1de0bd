"""Crawl a generated 5,000-product catalog on 127.0.0.1 with politeness delays off.

`ilid crawl structured` (JSON-LD parsing, validation, provenance, the atomic output) against a plain
SitemapSpider that only yields each page's URL (the floor). Each crawl runs in its own process; its CPU
time is read from the kernel's accounting of that child.
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import MATERIALS, PARTS
from pipeline.testing import structured_crawl
from pipeline.testing.server import LocalServer, Reply

ROOT = Path(__file__).resolve().parents[1]

COUNT = 5_000
SETTINGS = [
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "LOG_LEVEL=WARNING",
    "-s",
    "CONCURRENT_REQUESTS=32",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=32",
]


def product_page(index: int) -> bytes:
    part, material = PARTS[index % len(PARTS)], MATERIALS[index % len(MATERIALS)]
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": f"{part.title()} {index}",
        "image": f"/img/{index}.jpg",
        "description": f"{part.title()} made of {material}. " * 5,
        "material": material,
        "additionalProperty": [{"@type": "PropertyValue", "name": "Finish", "value": "zinc plated"}],
    }
    navigation = "".join(f'<li><a href="/category/{n}">Category {n}</a></li>' for n in range(40))
    return (
        f'<!doctype html><html><head><title>{part}</title><script type="application/ld+json">'
        f"{json.dumps(product)}</script></head><body><nav><ul>{navigation}</ul></nav><h1>{part}</h1>"
        f"<p>{'Lorem ipsum dolor sit amet. ' * 40}</p></body></html>"
    ).encode()


def sitemaps(server: LocalServer, lastmods: list[str] | None = None) -> None:
    """robots.txt, the sitemap index and its gzipped sitemaps of 1,000 products each (with their
    `lastmod` when given)."""
    chunks = [range(start, min(start + 1000, COUNT)) for start in range(0, COUNT, 1000)]
    server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nAllow: /\n")
    server.routes["/sitemap.xml"] = Reply(
        headers={"Content-Type": "application/xml"},
        body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(
                f"<sitemap><loc>{server.base}/sitemap-{n}.xml.gz</loc></sitemap>" for n in range(len(chunks))
            )
            + "</sitemapindex>"
        ).encode(),
    )
    for n, chunk in enumerate(chunks):
        urls = "".join(
            f"<url><loc>{server.base}/product/{i}</loc>"
            + (f"<lastmod>{lastmods[i]}</lastmod>" if lastmods else "")
            + "</url>"
            for i in chunk
        )
        server.routes[f"/sitemap-{n}.xml.gz"] = Reply(
            headers={"Content-Type": "application/x-gzip"},
            body=gzip.compress(
                f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}'
                "</urlset>".encode()
            ),
        )


def catalog(server: LocalServer) -> None:
    sitemaps(server)
    html = {"Content-Type": "text/html; charset=utf-8"}
    for index in range(COUNT):
        server.routes[f"/product/{index}"] = Reply(body=product_page(index), headers=html)


def measure(command: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ilid-bench-crawl-"))
    with LocalServer() as server:
        catalog(server)
        scrapy = str(Path(sys.executable).parent / "scrapy")
        floor = measure(
            [
                scrapy,
                "runspider",
                str(ROOT / "benchmarks" / "floor_spider.py"),
                "-O",
                str(work / "floor.jsonl"),
                "-a",
                f"sitemap={server.base}/sitemap.xml",
                *SETTINGS,
            ],
            cwd=work,  # outside the repository's Scrapy project (scrapy.cfg): Scrapy's plain defaults
        )
        ours = measure(
            structured_crawl(
                f"{server.base}/sitemap.xml", work / "raw.json", "--product-url", "/product/", *SETTINGS
            )
        )
    found = len(json.loads((work / "raw.json").read_text()))
    assert found == COUNT, f"the structured spider found {found} of {COUNT} products"
    for name, (wall, cpu) in (("floor (SitemapSpider, URL only)", floor), ("ilid crawl structured", ours)):
        print(f"{name:34s} {COUNT / wall:7.0f} pages/s, {cpu / COUNT * 1000:5.2f} CPU ms/page")
    ratio = (ours[1] / COUNT) / (floor[1] / COUNT)
    print(
        f"crawl: CPU per page {ratio:.2f}x the floor, pages/s {ours[0] / floor[0]:.2f}x its time "
        f"(target: within 2x)"
    )


if __name__ == "__main__":
    main()
