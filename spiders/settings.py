"""The spiders' Scrapy project settings (scrapy.cfg, Scrapyd), and the polite crawling defaults every
spider also carries as its `custom_settings`, so `scrapy runspider`, `ilid crawl` and Scrapyd crawl
alike: politeness, the raw-record validation pipeline, the reactor."""

from pipeline import __version__

BOT_NAME = "ilid"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = f"ilid/{__version__} (+https://github.com/ilid-project/ilid; open research dataset crawler)"

POLITE_SETTINGS: dict[str, object] = {
    "ROBOTSTXT_OBEY": True,
    "USER_AGENT": USER_AGENT,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.5,
    "DOWNLOAD_DELAY": 0.5,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "RETRY_TIMES": 3,
    "DOWNLOAD_TIMEOUT": 30,
    "DEFAULT_REQUEST_HEADERS": {
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en,de;q=0.8",
    },
    "FEED_EXPORT_ENCODING": "utf-8",
    "ITEM_PIPELINES": {"spiders.pipelines.ValidRawItems": 100},
    "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "LOG_LEVEL": "INFO",
}

globals().update(POLITE_SETTINGS)  # the project's settings too

# For a catalog served on this machine (tests, the demo, benchmarks): no delays, no throttling.
LOCAL_SETTINGS: dict[str, object] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "LOG_LEVEL": "WARNING",
}
