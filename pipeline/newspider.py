"""`ilid new-spider`: a shop's spider module and a golden test page, written from templates."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import spiders
from pipeline.errors import IlidError
from pipeline.testing.golden import golden_record
from spiders.base import CatalogSpider

TEMPLATES = Path(spiders.__file__).parent / "templates"


def project_root() -> Path:
    """The folder holding the spiders package (the repository root in a development install)."""
    return Path(spiders.__file__).resolve().parent.parent


def golden_folder(root: Path | None = None) -> Path:
    """`tests/golden` of the project at `root`."""
    return (root or project_root()) / "tests" / "golden"


def write_spider(
    name: str, sitemap: str, product_url: str, force: bool = False, root: Path | None = None
) -> list[Path]:
    """Writes `spiders/<name>.py` and `tests/golden/<name>/example.{html,json}` into the project at
    `root` (by default the one ilid runs from); the golden record is made by the spider just written."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in (*spiders.NOT_SPIDERS, "structured"):
        raise IlidError(f"spider name {name!r}: use lower-case letters, digits and _, not a reserved name")
    domain = urlsplit(sitemap).hostname
    if not sitemap.startswith(("http://", "https://")) or not domain:
        raise IlidError(f"--sitemap {sitemap!r}: expected an http(s) URL")
    try:
        re.compile(product_url)
    except re.error as error:
        raise IlidError(f"--product-url {product_url!r}: not a valid regular expression: {error}") from None
    root = root or project_root()
    module = root / "spiders" / f"{name}.py"
    if not module.parent.is_dir():
        raise IlidError(f"{module.parent}: no such folder; the project root must hold the spiders package")
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

    folder = golden_folder(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "example.html"
    page.write_text(
        Template((TEMPLATES / "golden.html.tmpl").read_text()).substitute(values), encoding="utf-8"
    )
    expected = folder / "example.json"
    record = golden_record(name, page, written_spider(module, name))
    expected.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [module, page, expected]


def written_spider(module: Path, name: str) -> type[CatalogSpider]:
    """The spider class named `name` in the module file just written, wherever its project lies."""
    spec = importlib.util.spec_from_file_location(f"spiders.{name}", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return next(
        value
        for value in vars(loaded).values()
        if isinstance(value, type) and issubclass(value, CatalogSpider) and value.name == name
    )
