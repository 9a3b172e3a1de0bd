"""Item pipelines of the spiders' project: whatever runs the spiders (`ilid crawl`, `scrapy crawl`,
Scrapyd) writes only records the next stage reads."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from pipeline.records import RawItem


class ValidRawItems:
    """Drops an item that is not a valid raw record, counted as `ilid/dropped/invalid_record` (and kept
    in `ILID_REJECTS` when set), so that a feed holds no record `ilid prefilter` would refuse."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidRawItems:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        data = ItemAdapter(item).asdict()
        try:
            RawItem.model_validate(data)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "record"
            reason = f"{where}: {problem['msg']}"
            spider = self.crawler.spider
            page = str(data.get("page") or data.get("url") or "")
            if hasattr(spider, "drop"):
                spider.drop(page, "invalid_record", reason)
            raise DropItem(f"invalid raw record from {page}: {reason}") from None
        return item
