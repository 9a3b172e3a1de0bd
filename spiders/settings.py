"""Polite crawling defaults shared by every spider (also under `scrapy runspider`)."""

from pipeline import __version__

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

# For a catalog served on this machine (tests, the demo, benchmarks): no delays, no throttling.
LOCAL_SETTINGS: dict[str, object] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "LOG_LEVEL": "WARNING",
}
