"""`ilid run`: crawl -> prefilter -> label -> postfilter -> assemble -> download -> curate for one shop.

Files keep ILID's names in the working folder: `<shop>_raw.json`, `<shop>_prefiltered.json`,
`<shop>_processed.json`, `<shop>_postfiltered.json`, the dataset, `images/` and `ilid.json` (the
samples whose image is on disk, beside `images/` as industrial-clip reads them), then the curated
dataset. A stage whose output is newer than its input is skipped unless `force`; assemble, download and
curate always run (each is idempotent and skips what is done), and every stage resumes what an
interrupted run left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.assemble import Assemble, AssembleConfig
from pipeline.curate.config import CurateConfig, CurateRules
from pipeline.curate.stage import run_curate
from pipeline.download.config import DownloadConfig, FetchConfig
from pipeline.download.layout import check_keeps_dataset, default_downloaded
from pipeline.download.stage import run_download
from pipeline.label.config import LabelConfig
from pipeline.postfilter import Postfilter, PostfilterConfig
from pipeline.prefilter import Prefilter, PrefilterConfig
from pipeline.records import LabeledItem, PostfilteredItem, RawItem
from pipeline.stage import StageSummary, run_file_stage


@dataclass
class RunPlan:
    spider: str
    workdir: Path
    dataset: Path | None = None
    source_tag: str | None = None
    spider_arguments: dict[str, str] = field(default_factory=dict)
    scrapy_settings: dict[str, Any] = field(default_factory=dict)
    max_items: int | None = None
    prefilter: PrefilterConfig = field(default_factory=PrefilterConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    postfilter: PostfilterConfig = field(default_factory=PostfilterConfig)
    width: int = DownloadConfig.model_fields["width"].default
    height: int = DownloadConfig.model_fields["height"].default
    fetch: FetchConfig = field(default_factory=FetchConfig)
    curate: CurateRules = field(default_factory=CurateRules)
    force: bool = False

    @property
    def shop(self) -> str:
        return self.source_tag or self.spider

    def file(self, stage: str) -> Path:
        return self.workdir / f"{self.shop}_{stage}.json"

    @property
    def dataset_file(self) -> Path:
        return self.dataset or self.workdir / "dataset.json"

    @property
    def images(self) -> Path:
        return self.workdir / "images"

    @property
    def downloaded(self) -> Path:
        return default_downloaded(self.images)

    @property
    def curated(self) -> Path:
        return self.dataset_file.with_name(self.dataset_file.stem + "_curated.json")


def up_to_date(output: Path, source: Path | None) -> bool:
    if not output.exists():
        return False
    return source is None or output.stat().st_mtime >= source.stat().st_mtime


def run_pipeline(plan: RunPlan) -> list[StageSummary]:
    from pipeline.crawl import run_crawl, shop_crawl
    from pipeline.label.stage import run_label

    plan.workdir.mkdir(parents=True, exist_ok=True)
    check_keeps_dataset(plan.dataset_file, plan.downloaded)
    raw, prefiltered = plan.file("raw"), plan.file("prefiltered")
    processed, postfiltered = plan.file("processed"), plan.file("postfiltered")
    steps: list[tuple[str, Path | None, Path, Callable[[], StageSummary]]] = [
        (
            "crawl",
            None,
            raw,
            lambda: run_crawl(
                shop_crawl(plan.spider, raw, plan.spider_arguments, resume=plan.workdir / ".crawl-job"),
                plan.scrapy_settings,
                max_items=plan.max_items,
            ),
        ),
        (
            "prefilter",
            raw,
            prefiltered,
            lambda: run_file_stage("prefilter", Prefilter(plan.prefilter), raw, RawItem, prefiltered),
        ),
        (
            "label",
            prefiltered,
            processed,
            # after a re-crawl, only new and changed products are labeled (--force labels them all)
            lambda: run_label(prefiltered, processed, plan.label, reuse=None if plan.force else processed),
        ),
        (
            "postfilter",
            processed,
            postfiltered,
            lambda: run_file_stage(
                "postfilter", Postfilter(plan.postfilter), processed, LabeledItem, postfiltered
            ),
        ),
    ]
    summaries = []
    for name, source, output, step in steps:
        if not plan.force and up_to_date(output, source):
            print(f"{name}: {output} is up to date, skipped (--force reruns it)", file=sys.stderr)
            continue
        summaries.append(step())
    assemble = Assemble(AssembleConfig(dataset=plan.dataset_file, source_tag=plan.shop))
    summaries.append(
        run_file_stage(
            "assemble", assemble, postfiltered, PostfilteredItem, plan.dataset_file, notes=assemble.notes
        )
    )
    summaries.append(
        run_download(
            DownloadConfig(
                dataset=plan.dataset_file,
                folder=plan.images,
                downloaded=plan.downloaded,
                width=plan.width,
                height=plan.height,
                fetch=plan.fetch,
            )
        )
    )
    summaries.append(
        run_curate(
            CurateConfig(dataset=plan.downloaded, images=plan.images, output=plan.curated, rules=plan.curate)
        )
    )
    return summaries
