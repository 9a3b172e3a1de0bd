"""`ilid new-spider`: a shop's spider module and a golden test page, written from templates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from parsel import Selector

import spiders
from pipeline.errors import IlidError

TEMPLATES = Path(spiders.__file__).parent / "templates"
GOLDEN_URL = "https://{domain}/product/example"


def golden_folder() -> Path:
    """tests/golden beside the spiders package (the repository root in a development install)."""
    return Path(spiders.__file__).resolve().parent.parent / "tests" / "golden"


def write_spider(name: str, sitemap: str, product_url: str, force: bool = False) -> list[Path]:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in (
        "base",
        "extract",
        "pipelines",
        "recrawl",
        "settings",
        "structured",
    ):
        raise IlidError(f"spider name {name!r}: use lower-case letters, digits and _, not a reserved name")
    domain = urlsplit(sitemap).hostname
    if not sitemap.startswith(("http://", "https://")) or not domain:
        raise IlidError(f"--sitemap {sitemap!r}: expected an http(s) URL")
    try:
        re.compile(product_url)
    except re.error as error:
        raise IlidError(f"--product-url {product_url!r}: not a valid regular expression: {error}") from None
    module = Path(spiders.__file__).parent / f"{name}.py"
    if module.exists() and not force:
        raise IlidError(f"{module} exists; use --force to overwrite it")
    values = {
        "name": name,
        "domain": domain,
        "sitemap": sitemap,
        "product_url": product_url.replace('"', '\\"'),
        "class_name": "".join(part.title() for part in name.split("_")) + "Spider",
        "title": f"{name} ({domain})",
    }
    module.write_text(
        Template((TEMPLATES / "spider.py.tmpl").read_text()).substitute(values), encoding="utf-8"
    )

    folder = golden_folder() / name
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "example.html"
    page.write_text(
        Template((TEMPLATES / "golden.html.tmpl").read_text()).substitute(values), encoding="utf-8"
    )
    expected = folder / "example.json"
    expected.write_text(
        json.dumps(golden_record(name, page), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [module, page, expected]


def golden_record(spider_name: str, page: Path) -> dict | str:
    """What the spider makes of a saved page: its raw record without `crawled_at`, or the skip reason.
    The page's URL is read from `<link rel="canonical">`, else the example URL of its shop."""
    html = page.read_text(encoding="utf-8")
    selector = Selector(text=html)
    spider = spiders.discover()[spider_name]
    domain = (getattr(spider, "allowed_domains", None) or ["shop.example"])[0]
    url = selector.xpath('//link[@rel="canonical"]/@href').get() or GOLDEN_URL.format(domain=domain)
    instance = spider(sitemap=f"https://{domain}/sitemap.xml") if spider_name == "structured" else spider()
    result = instance.parse_page(selector, url)
    return result if isinstance(result, str) else result.to_json()
