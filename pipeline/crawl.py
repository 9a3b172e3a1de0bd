"""`ilid crawl`: run shops' spiders with Scrapy's AsyncCrawlerProcess and write validated raw items.

Several shops run in one process, each its own crawler (`run_crawls`), its own output and summary;
`finish_shop` does one shop's output. Items stream to `<output>.partial.jsonl` as they are scraped
(dropped pages to `<output>.rejects.partial.jsonl`); when the crawl ends they are validated,
de-duplicated by page and written atomically to the output. With `--resume DIR` Scrapy keeps its
request queue and seen-set in DIR, and the partial file is appended to, so an interrupted crawl goes
on where it stopped without duplicates. With `--cache` responses are kept in an RFC 2616 HTTP cache,
so a re-crawl revalidates (ETag / Last-Modified) instead of downloading pages again; with `--since`
the previous raw file decides which product pages are fetched at all (spiders/recrawl.py).
"""

from __future__ import annotations

import shutil
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import IlidError
from pipeline.jsonio import InvalidRecord, RecordWriter, journal_entries, read_records
from pipeline.lock import OutputLock, remove_stale_temp_files
from pipeline.records import RawItem
from pipeline.stage import Rejected, RejectSink, StageSummary, fail_if_nothing_kept, finish, stats_path


def parse_assignments(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    """`key=value` pairs of `-a` or `-s` flags."""
    values = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise IlidError(f"{flag} {pair!r}: expected key=value")
        values[key] = value
    return values


def partial_rejects(output: Path) -> Path:
    """Where the spider appends the pages it drops, while it crawls."""
    return Path(f"{output}.rejects.partial.jsonl")


def crawl_settings(
    output: Path, resume: Path | None, cache: bool, max_items: int | None, overrides: dict[str, str]
) -> dict[str, Any]:
    partial = Path(f"{output}.partial.jsonl").resolve()
    settings: dict[str, Any] = {
        "FEEDS": {str(partial): {"format": "jsonlines", "encoding": "utf8", "overwrite": resume is None}},
        "ILID_REJECTS": str(partial_rejects(output).resolve()),
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


@dataclass
class ShopCrawl:
    """One shop of a crawl: its spider, the spider's arguments and where its files go."""

    name: str  # the spider's name, or `structured:<host>`
    spider: type[Any]
    output: Path
    arguments: dict[str, str] = field(default_factory=dict)
    resume: Path | None = None
    rejects: Path | None = None
    since: Path | None = None


def shop_crawl(spec: str, output: Path, arguments: dict[str, str] | None = None, **files: Any) -> ShopCrawl:
    """A shop from its command-line spelling: a spider's name, or `structured:<sitemap URL>`."""
    from spiders import discover

    spiders = discover()
    name, _, sitemap = spec.partition(":")
    if name not in spiders:
        raise IlidError(f"no spider named {name!r}; `ilid spiders` lists them: {', '.join(spiders)}")
    arguments = dict(arguments or {})
    if sitemap:
        arguments["sitemap"] = sitemap
    if name == "structured":
        if not arguments.get("sitemap", "").startswith(("http://", "https://")):
            raise IlidError(
                "the structured spider needs a sitemap: structured:URL, --sitemap URL or -a sitemap=URL "
                "(an http(s) sitemap or sitemap index)"
            )
        if sitemap:
            where = urlsplit(sitemap)
            name = f"structured:{where.hostname}" + (f"_{where.port}" if where.port else "")
    return ShopCrawl(name, spiders[name.partition(":")[0]], output, arguments, **files)


def gone_file(output: Path) -> Path:
    """Where an incremental re-crawl lists the previous records no sitemap lists any more."""
    return Path(f"{output}.gone.jsonl")


def shop_state(shop: ShopCrawl) -> dict[str, Any]:
    """The settings of an incremental re-crawl: the previous raw file, and where the gone go."""
    if shop.since is None:
        return {}
    if not shop.since.is_file():
        raise IlidError(f"--since {shop.since}: no such file (the previous crawl's raw output)")
    gone_file(shop.output).unlink(missing_ok=True)
    return {"ILID_SINCE": str(shop.since.resolve()), "ILID_GONE": str(gone_file(shop.output).resolve())}


def run_crawls(
    shops: list[ShopCrawl], overrides: dict[str, str], cache: bool = False, max_items: int | None = None
) -> list[StageSummary]:
    """The crawl under the stage runner's rules: every shop's output locked for the whole crawl and its
    stale temporary files removed."""
    with ExitStack() as locks:
        for shop in shops:
            locks.enter_context(OutputLock(shop.output))
            for path in (shop.output, stats_path(shop.output)):
                remove_stale_temp_files(path)
        return crawl_shops(shops, overrides, cache, max_items)


def crawl_shops(
    shops: list[ShopCrawl], overrides: dict[str, str], cache: bool, max_items: int | None
) -> list[StageSummary]:
    """Every shop in one Scrapy process, each its own crawler (so politeness is per shop and domain), its
    own output and summary. A shop whose spider fails to start is reported; the others go on."""
    from scrapy.crawler import AsyncCrawlerProcess
    from scrapy.settings import Settings

    started = time.monotonic()
    settings = Settings()
    settings.setdict(dict(overrides), priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    failures: dict[str, str] = {}
    crawlers = []
    for shop in shops:
        shop.output.parent.mkdir(parents=True, exist_ok=True)
        if shop.resume is None:
            partial_rejects(shop.output).unlink(missing_ok=True)
        crawler = process.create_crawler(shop.spider)
        crawler.settings.setdict(
            {**crawl_settings(shop.output, shop.resume, cache, max_items, overrides), **shop_state(shop)},
            priority="cmdline",
        )
        task = process.crawl(crawler, **shop.arguments)
        task.add_done_callback(partial(note_failure, name=shop.name, failures=failures))
        crawlers.append(crawler)
    process.start()
    summaries = [
        finish_shop(shop, crawler, failures.get(shop.name), started)
        for shop, crawler in zip(shops, crawlers, strict=True)
    ]
    return summaries


def note_failure(task: Any, *, name: str, failures: dict[str, str]) -> None:
    """Keeps why a shop's crawl task failed (which also keeps asyncio from printing it as unretrieved)."""
    error = task.exception() if not task.cancelled() else None
    if error is not None:
        failures[name] = str(error) or type(error).__name__


def finish_shop(shop: ShopCrawl, crawler: Any, failure: str | None, started: float) -> StageSummary:
    """The shop's output, rejects and summary; a finished crawl clears what it kept for resuming."""
    try:
        stats = crawler.stats.get_stats()
    except RuntimeError:  # the crawl never started
        stats = {}
    summary = write_crawl_output(shop.name, shop.output, stats, shop.rejects)
    if failure:
        summary.notes["failed"] = failure
    elif stats.get("finish_reason") == "finished":
        # A complete crawl leaves nothing to resume: the next one must start afresh, not find every
        # URL already seen in the job folder.
        Path(f"{shop.output}.partial.jsonl").unlink(missing_ok=True)
        partial_rejects(shop.output).unlink(missing_ok=True)
        if shop.resume is not None:
            shutil.rmtree(shop.resume, ignore_errors=True)
    return finish(summary, started)


def run_crawl(
    shop: ShopCrawl, overrides: dict[str, str], cache: bool = False, max_items: int | None = None
) -> StageSummary:
    """One shop; its spider failing to start is an error."""
    summary = run_crawls([shop], overrides, cache, max_items)[0]
    if "failed" in summary.notes:
        raise IlidError(f"crawl {shop.name}: {summary.notes['failed']}")
    fail_if_nothing_kept(summary, summary.kept)
    return summary


def write_crawl_output(
    spider_name: str, output: Path, stats: dict[str, Any], rejects: Path | None = None
) -> StageSummary:
    """Validated, page-unique items of the partial file, written atomically to `output`.

    `read` counts the product pages fetched: each is kept, or dropped with its reason (the spider's
    `ilid/dropped/<reason>` counts, then invalid and duplicate records), and with `rejects` the dropped
    pages are written there."""
    summary = StageSummary(f"crawl {spider_name}", "(web)", str(output))
    partial = Path(f"{output}.partial.jsonl")
    seen: set[str] = set()
    with RejectSink(rejects) as sink, RecordWriter(output) as writer:
        if partial.exists():
            for item in read_records(partial, RawItem, skip_invalid=True):
                summary.read += 1
                if isinstance(item, InvalidRecord):
                    summary.dropped["invalid_record"] += 1
                    sink.write(Rejected(item.reason, item.value))
                    continue
                key = item.page or item.url
                if key in seen:
                    summary.dropped["duplicate_page"] += 1
                    sink.write(Rejected("duplicate_page", item))
                    continue
                seen.add(key)
                writer.write(item)
                summary.kept += 1
        if partial_rejects(output).exists():
            for entry in journal_entries(partial_rejects(output)):
                sink.write(Rejected(entry["reason"], entry["record"]))
    for key, value in stats.items():
        if key.startswith("ilid/dropped/"):
            summary.dropped[key.removeprefix("ilid/dropped/")] += value
            summary.read += value
        elif key.startswith("ilid/cut/"):
            summary.notes[f"cut {key.removeprefix('ilid/cut/')}"] = value
        elif key.startswith("ilid/skipped/"):
            summary.notes[f"skipped {key.removeprefix('ilid/skipped/')}"] = value
        elif key.startswith("httperror/response_ignored_status_count/"):
            summary.notes[f"HTTP {key.rsplit('/', 1)[-1]}"] = value
    if any(key.startswith("ilid/recrawl/") for key in stats):
        for name in ("unchanged", "changed", "new", "gone"):
            summary.notes[name] = stats.get(f"ilid/recrawl/{name}", 0)
    if stats.get("robotstxt/forbidden"):
        summary.notes["forbidden by robots.txt"] = stats["robotstxt/forbidden"]
    summary.notes["finish reason"] = stats.get("finish_reason", "unknown")
    return summary


def crawl_command(
    specs: list[str],
    every: bool,
    output: Path,
    arguments: dict[str, str],
    overrides: dict[str, str],
    *,
    resume: Path | None = None,
    cache: bool = False,
    max_items: int | None = None,
    rejects: Path | None = None,
    since: Path | None = None,
) -> int:
    """`ilid crawl`: one shop into the file `output`, or several (or `--all`) into the folder `output` as
    `SHOP_raw.json`, with `resume`, `rejects` and `since` as folders of per-shop files. Returns how many
    shops failed or kept nothing."""
    from spiders import discover

    if every:
        specs = [*specs, *(name for name in discover() if name != "structured" and name not in specs)]
    if not specs:
        raise IlidError("name the spiders to run (`ilid spiders` lists them), or --all")
    if len(specs) == 1 and not every:
        shop = shop_crawl(specs[0], output, arguments, resume=resume, rejects=rejects, since=since)
        run_crawl(shop, overrides, cache, max_items)
        return 0
    if output.suffix in (".json", ".jsonl"):
        raise IlidError(f"-o {output}: with several shops, -o names a folder for their SHOP_raw.json files")
    shops: dict[str, ShopCrawl] = {}
    for spec in specs:
        shop = shop_crawl(spec, output, arguments)
        tag = shop.name.replace("structured:", "")
        if tag in shops:
            raise IlidError(f"{spec}: a second crawl of {tag}")
        shop.output = output / f"{tag}_raw.json"
        shop.resume = resume / tag if resume else None
        shop.rejects = rejects / f"{tag}_rejects.jsonl" if rejects else None
        previous = since / f"{tag}_raw.json" if since else None
        shop.since = previous if previous and previous.is_file() else None
        shops[tag] = shop
    summaries = run_crawls(list(shops.values()), overrides, cache, max_items)
    failed = [
        summary.stage.removeprefix("crawl ")
        for summary in summaries
        if "failed" in summary.notes or not summary.kept
    ]
    if failed:
        print(
            f"crawl: {len(failed)} of {len(summaries)} shops failed or kept nothing: {', '.join(failed)}",
            file=sys.stderr,
        )
    return len(failed)
