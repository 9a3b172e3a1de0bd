"""Mädler (maedler.de): drive technology and standard parts, one of ILID's sources.

What the selectors assume (the shop cannot be reached from where this was written; the layout is the
one ILID's published example spider targets):
- the sitemap at https://www.maedler.de/sitemap.xml lists product pages, whose URLs contain `/Article/`;
- a product page has `div.page.articlepage`; its title is `div.pageheader > h1`;
- the product image is the first `div.gallery img` whose `src` ends in `.jpg` (relative to the site);
- the description is the text of the paragraphs of `div.content.description`.
Structured data (schema.org `Product`, OpenGraph) is used where the page has it and fills any gap.
"""

from __future__ import annotations

from parsel import Selector

from pipeline.records import RawItem
from spiders.base import CatalogSpider
from spiders.extract import PageProduct, absolute_image, clean_text, extract_product


class MaedlerSpider(CatalogSpider):
    name = "maedler"
    allowed_domains = ["maedler.de", "www.maedler.de"]
    sitemap_urls = ["https://www.maedler.de/sitemap.xml"]
    product_url = r"/Article/"

    def parse_page(self, selector: Selector, url: str, sitemap_image: str | None = None) -> RawItem | str:
        page = selector.css("div.page.articlepage")
        structured = extract_product(selector, url, sitemap_image)
        if not page:
            return (
                self.record(structured, url)
                if structured.found_by in ("json-ld", "microdata")
                else "not_a_product"
            )
        images = [
            src for src in page.css("div.gallery img::attr(src)").getall() if src.lower().endswith(".jpg")
        ]
        title = clean_text(" ".join(selector.css("div.pageheader > h1 ::text").getall()))
        paragraphs = [
            clean_text(" ".join(p.css("::text").getall())) for p in page.css("div.content.description p")
        ]
        product = PageProduct(
            label=title or structured.label,
            image=absolute_image(images[0], url) if images else structured.image,
            data=[text for text in paragraphs if text] or structured.data,
            found_by="html",
        )
        return self.record(product, url)
