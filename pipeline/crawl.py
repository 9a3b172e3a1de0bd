"""`ilid crawl`: run one spider with Scrapy's AsyncCrawlerProcess and write validated raw items.

Items stream to `<output>.partial.jsonl` as they are scraped; when the crawl ends they are validated,
de-duplicated by page and written atomically to the output. With `--resume DIR` Scrapy keeps its
request queue and seen-set in DIR, and the partial file is appended to, so an interrupted crawl goes
on where it stopped without duplicates. With `--cache` responses are kept in an RFC 2616 HTTP cache,
so a re-crawl revalidates (ETag / Last-Modified) instead of downloading pages again.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from pipeline.errors import IlidError
from pipeline.jsonio import RecordWriter, read_records
from pipeline.lock import OutputLock, remove_stale_temp_files
from pipeline.records import RawItem
from pipeline.stage import StageSummary, fail_if_nothing_kept, finish, stats_path


def parse_assignments(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    """`key=value` pairs of `-a` or `-s` flags."""
    values = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise IlidError(f"{flag} {pair!r}: expected key=value")
        values[key] = value
    return values


def crawl_settings(
    output: Path, resume: Path | None, cache: bool, max_items: int | None, overrides: dict[str, str]
) -> dict[str, Any]:
    partial = Path(f"{output}.partial.jsonl").resolve()
    settings: dict[str, Any] = {
        "FEEDS": {str(partial): {"format": "jsonlines", "encoding": "utf8", "overwrite": resume is None}},
    }
    if resume is not None:
        settings["JOBDIR"] = str(resume.resolve())
    if cache:
        settings["HTTPCACHE_ENABLED"] = True
        settings["HTTPCACHE_DIR"] = str((output.parent / ".httpcache").resolve())
    if max_items:
        settings["CLOSESPIDER_ITEMCOUNT"] = max_items
    settings.update(overrides)
    return settings


def run_crawl(
    spider_name: str,
    output: Path,
    arguments: dict[str, str],
    overrides: dict[str, str],
    resume: Path | None = None,
    cache: bool = False,
    max_items: int | None = None,
) -> StageSummary:
    """The crawl under the stage runner's rules: its output locked, stale temporary files removed,
    exit code 1 when items were scraped and none kept."""
    with OutputLock(output):
        for path in (output, stats_path(output)):
            remove_stale_temp_files(path)
        summary = _crawl(spider_name, output, arguments, overrides, resume, cache, max_items)
    fail_if_nothing_kept(summary, summary.kept)
    return summary


def _crawl(
    spider_name: str,
    output: Path,
    arguments: dict[str, str],
    overrides: dict[str, str],
    resume: Path | None,
    cache: bool,
    max_items: int | None,
) -> StageSummary:
    from scrapy.crawler import AsyncCrawlerProcess
    from scrapy.settings import Settings

    from spiders import discover

    spiders = discover()
    if spider_name not in spiders:
        raise IlidError(f"no spider named {spider_name!r}; `ilid spiders` lists them: {', '.join(spiders)}")
    spider = spiders[spider_name]
    if spider_name == "structured" and not arguments.get("sitemap", "").startswith(("http://", "https://")):
        raise IlidError("the structured spider needs -a sitemap=URL (an http(s) sitemap or sitemap index)")
    started = time.monotonic()
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    settings.setdict(crawl_settings(output, resume, cache, max_items, overrides), priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler, **arguments)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    summary = write_crawl_output(spider_name, output, stats)
    if stats.get("finish_reason") == "finished":
        # A complete crawl leaves nothing to resume: the next one must start afresh, not find every
        # URL already seen in the job folder.
        Path(f"{output}.partial.jsonl").unlink(missing_ok=True)
        if resume is not None:
            shutil.rmtree(resume, ignore_errors=True)
    return finish(summary, started)


def write_crawl_output(spider_name: str, output: Path, stats: dict[str, Any]) -> StageSummary:
    """Validated, page-unique items of the partial file, written atomically to `output`."""
    summary = StageSummary(f"crawl {spider_name}", "(web)", str(output))
    partial = Path(f"{output}.partial.jsonl")
    seen: set[str] = set()
    with RecordWriter(output) as writer:
        if partial.exists():
            for item in read_records(partial, RawItem, skip_invalid=True):
                summary.read += 1
                if not isinstance(item, RawItem):
                    summary.dropped["invalid_record"] += 1
                    continue
                key = item.page or item.url
                if key in seen:
                    summary.dropped["duplicate_page"] += 1
                    continue
                seen.add(key)
                writer.write(item)
                summary.kept += 1
    for key, value in stats.items():
        if key.startswith("ilid/skipped/"):
            summary.notes[f"skipped {key.removeprefix('ilid/skipped/')}"] = value
        elif key.startswith("httperror/response_ignored_status_count/"):
            summary.notes[f"HTTP {key.rsplit('/', 1)[-1]}"] = value
    if stats.get("robotstxt/forbidden"):
        summary.notes["forbidden by robots.txt"] = stats["robotstxt/forbidden"]
    summary.notes["finish reason"] = stats.get("finish_reason", "unknown")
    return summary
