"""What the previous crawl of a shop saw, so that a re-crawl fetches only what changed.

Each raw record keeps its product page's sitemap `lastmod` and the page's HTTP validators (`etag`,
`last_modified`), and `loc` when the sitemap's URL redirected elsewhere. A re-crawl (`ILID_SINCE` set
to the previous raw file) carries a record over without a request when the sitemap's `lastmod` is the
one it had; without a `lastmod` it asks conditionally (If-None-Match, If-Modified-Since) and carries
the record over on 304. A page fetched all the same counts as changed only when its record says
something else. Products the sitemaps no longer list are reported as gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.jsonio import read_valid
from pipeline.records import RawItem


def record_key(record: dict[str, Any]) -> str:
    """The sitemap URL a record was found at."""
    return str(record.get("loc") or record.get("page") or record["url"])


class PreviousCrawl:
    def __init__(self, path: str | Path):
        self.records: dict[str, dict[str, Any]] = {}
        for item in read_valid(path, RawItem):
            record = item.to_json()
            self.records[record_key(record)] = record
        self.listed: set[str] = set()  # previous products the sitemaps still list

    def unchanged(self, loc: str, lastmod: str | None) -> dict[str, Any] | None:
        """The previous record of `loc` when the sitemap's `lastmod` says the page has not changed."""
        record = self.records.get(loc)
        if record is not None:
            self.listed.add(loc)
            if lastmod and record.get("lastmod") == lastmod:
                return record
        return None

    def conditional_headers(self, loc: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the previous response, for a page without `lastmod`."""
        record = self.records.get(loc) or {}
        headers = {}
        if record.get("etag"):
            headers["If-None-Match"] = record["etag"]
        if record.get("last_modified"):
            headers["If-Modified-Since"] = record["last_modified"]
        return headers

    def compare(self, loc: str, record: dict[str, Any]) -> str:
        """`new`, `changed` or `unchanged`: a fetched page's record against the previous one (pages
        without `lastmod` or validators are fetched, and most say what they said before)."""
        previous = self.records.get(loc)
        if previous is None:
            return "new"
        same = previous["url"] == record["url"] and previous["web"] == record["web"]
        return "unchanged" if same else "changed"

    def gone(self) -> list[dict[str, Any]]:
        return [record for loc, record in self.records.items() if loc not in self.listed]
