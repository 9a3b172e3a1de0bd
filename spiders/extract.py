"""From a product page's HTML to what ILID needs: title, image URL and description snippets.

Pure functions over a parsel `Selector`, so they are golden-tested on saved pages without crawling.
Sources, in order of trust: schema.org `Product` in JSON-LD (also inside `@graph` or `mainEntity`,
`@type` as a string or a list), schema.org microdata, OpenGraph, then `<h1>`/`<title>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin

from parsel import Selector
from w3lib.html import remove_tags, replace_entities

from pipeline.text import squash_spaces


@dataclass
class PageProduct:
    """What a page says about its product; any field may be missing."""

    label: str | None = None
    image: str | None = None
    data: list[str] = field(default_factory=list)
    found_by: str = ""


T = TypeVar("T")


def first_leaf(value: Any, leaf: Callable[[Any], T | None]) -> T | None:
    """The first non-empty `leaf(x)` of the non-list values in `value`, depth first, walked with a stack
    of its own (a page can nest lists deeper than Python's recursion limit)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif (found := leaf(node)) not in (None, ""):
            return found
    return None


def literal(value: Any) -> Any:
    """A JSON-LD value object (`{"@value": ..., "@language": ...}`) as its value; a list of them (one per
    language, say) as the first that has one; any other object as nothing rather than its repr."""

    def scalar(node: Any) -> Any:
        return first_leaf(node.get("@value"), scalar) if isinstance(node, dict) else node

    return first_leaf(value, scalar)


def clean_text(value: Any) -> str:
    """Text without markup, entities or runs of whitespace."""
    value = literal(value)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return squash_spaces(replace_entities(remove_tags(value)))


def absolute_image(value: str | None, page_url: str) -> str | None:
    """An http(s) URL for an image reference: relative and protocol-relative URLs resolved."""
    if not value:
        return None
    url = urljoin(page_url, value.strip())
    return url if url.startswith(("http://", "https://")) else None


def has_type(node: dict[str, Any], wanted: str) -> bool:
    kinds = node.get("@type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(kind, str) and kind.rsplit("/", 1)[-1] == wanted for kind in kinds)


def json_ld_nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document, depth first: `@graph`, `mainEntity` and lists included.
    Walked with a stack of its own, so no nesting depth a page can hold reaches Python's recursion limit."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            yield node
            keys = ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "item")
            stack.extend(node[key] for key in reversed(keys) if key in node)


def image_of(value: Any) -> str | None:
    """`image` as a string, a list (first entry) or an ImageObject (`contentUrl` or `url`)."""

    def url(node: Any) -> str | None:
        if isinstance(node, dict):
            return first_leaf(node.get("contentUrl") or node.get("url"), url)
        return node if isinstance(node, str) and node.strip() else None

    return first_leaf(value, url)


def property_snippets(node: dict[str, Any]) -> list[str]:
    """Description, material, colour and `additionalProperty` pairs as 'name: value' snippets."""
    snippets = [clean_text(node.get("description"))]
    for name in ("material", "color", "pattern"):
        if node.get(name):
            snippets.append(f"{name.title()}: {clean_text(node[name])}")
    properties = node.get("additionalProperty") or []
    for entry in properties if isinstance(properties, list) else [properties]:
        if isinstance(entry, dict) and entry.get("name") and entry.get("value") not in (None, ""):
            snippets.append(f"{clean_text(entry['name'])}: {clean_text(entry['value'])}")
    return [snippet for snippet in snippets if snippet]


def from_json_ld(selector: Selector) -> PageProduct | None:
    for script in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            document = json.loads(script, strict=False)
        except (ValueError, RecursionError):
            # broken, a number too long to convert, or nested deeper than the parser goes: the page's
            # other sources remain
            continue
        for node in json_ld_nodes(document):
            if has_type(node, "Product") or has_type(node, "ProductGroup"):
                return PageProduct(
                    clean_text(node.get("name")) or None,
                    image_of(node.get("image")),
                    property_snippets(node),
                    "json-ld",
                )
    return None


def microdata_value(element: Selector) -> str:
    for attribute in ("content", "src", "href"):
        if (value := element.attrib.get(attribute)) is not None:
            return value
    return " ".join(element.xpath(".//text()").getall())


def from_microdata(selector: Selector) -> PageProduct | None:
    scopes = selector.xpath('//*[@itemscope][contains(@itemtype, "schema.org/Product")]')
    if not scopes:
        return None
    scope = scopes[0]
    # itemprops of this scope only, not of nested scopes such as offers or brand
    own = (
        './/*[@itemprop="{0}"]'
        '[not(ancestor::*[@itemscope][1][not(contains(@itemtype, "schema.org/Product"))])]'
    )

    def first(name: str) -> str | None:
        found = scope.xpath(own.format(name))
        return microdata_value(found[0]) if found else None

    node: dict[str, Any] = {name: first(name) for name in ("description", "material", "color")}
    node["additionalProperty"] = [
        {
            "name": microdata_value(p.xpath('.//*[@itemprop="name"]')[0]),
            "value": microdata_value(p.xpath('.//*[@itemprop="value"]')[0]),
        }
        for p in scope.xpath('.//*[@itemprop="additionalProperty"][@itemscope]')
        if p.xpath('.//*[@itemprop="name"]') and p.xpath('.//*[@itemprop="value"]')
    ]
    return PageProduct(
        clean_text(first("name")) or None, first("image"), property_snippets(node), "microdata"
    )


def meta(selector: Selector, key: str) -> str | None:
    value = selector.xpath(f'//meta[@property="{key}" or @name="{key}"]/@content').get()
    return clean_text(value) or None


def from_opengraph(selector: Selector) -> PageProduct | None:
    title, image = meta(selector, "og:title"), meta(selector, "og:image")
    if not (title or image):
        return None
    description = meta(selector, "og:description") or meta(selector, "description")
    return PageProduct(title, image, [description] if description else [], "opengraph")


def from_html(selector: Selector) -> PageProduct:
    title = clean_text(" ".join(selector.css("h1 ::text").getall())) or clean_text(
        selector.css("title::text").get()
    )
    description = meta(selector, "description")
    return PageProduct(title or None, None, [description] if description else [], "html")


def extract_product(selector: Selector, page_url: str, sitemap_image: str | None = None) -> PageProduct:
    """The best the page offers; missing fields are filled from the next source in line. An image the
    sitemap lists for the page ranks below schema.org's and above OpenGraph's."""
    found = [product for source in (from_json_ld, from_microdata) if (product := source(selector))]
    if sitemap_image:
        found.append(PageProduct(image=sitemap_image, found_by="sitemap"))
    found += [product for product in (from_opengraph(selector), from_html(selector)) if product]
    best = found[0]
    label = next((product.label for product in found if product.label), None)
    image = next((product.image for product in found if product.image), None)
    data = next((product.data for product in found if product.data), [])
    return PageProduct(label, absolute_image(image, page_url), data, best.found_by)
