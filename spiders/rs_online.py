"""RS Online UK (uk.rs-online.com): electronic, electrical and industrial components, one of ILID's sources.

What the selectors assume (the shop cannot be reached from where this was written):
- the sitemap index at https://uk.rs-online.com/sitemap.xml leads to product pages whose URLs look like
  `/web/p/<category-slug>/<stock-number>`;
- product pages publish schema.org `Product` as JSON-LD (name, image, description), which is preferred;
- the specifications table holds attribute rows (`tr` with a `th`/`td` or two `td` cells), within an
  element whose `data-testid` contains `specification`; rows such as Material, Finish and Colour are kept
  as "name: value" snippets, the rest of the page's text is not needed;
- without JSON-LD, the title is the page's `h1` and the image is `og:image`.
"""

from __future__ import annotations

from parsel import Selector

from pipeline.records import RawItem
from spiders.base import CatalogSpider
from spiders.extract import PageProduct, clean_text, extract_product


class RSOnlineSpider(CatalogSpider):
    name = "rs_online"
    allowed_domains = ["uk.rs-online.com"]
    sitemap_urls = ["https://uk.rs-online.com/sitemap.xml"]
    product_url = r"/web/p/[^/]+/\d+"

    def parse_page(self, selector: Selector, url: str, sitemap_image: str | None = None) -> RawItem | str:
        product = extract_product(selector, url, sitemap_image)
        specifications = []
        for row in selector.css('[data-testid*="specification"] tr'):
            if not row.css("td"):
                continue  # a header row
            cells = [clean_text(" ".join(cell.css("::text").getall())) for cell in row.css("th, td")]
            if len(cells) >= 2 and cells[0] and cells[1]:
                specifications.append(f"{cells[0]}: {cells[1]}")
        return self.record(
            PageProduct(product.label, product.image, product.data + specifications, product.found_by), url
        )
