"""The floor for benchmarks/crawl.py: a plain SitemapSpider that yields each product page's URL."""

from scrapy.spiders import SitemapSpider


class FloorSpider(SitemapSpider):
    name = "floor"
    sitemap_rules = [("/product/", "parse")]

    def __init__(self, sitemap: str = "", **kwargs):
        self.sitemap_urls = [sitemap]
        super().__init__(**kwargs)

    def parse(self, response):
        yield {"url": response.url}
