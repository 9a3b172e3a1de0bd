"""`ilid demo`: the whole pipeline on the bundled sample catalog, offline, on a CPU, in one folder.

The catalog is served on 127.0.0.1 and crawled by the structured-data spider. Labels come from the
deterministic extractive labeler (`rules`, the no-GPU fallback) unless a model is given.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from pipeline.demo.catalog import PRODUCTS, TRADE_NAMES, serve_catalog
from pipeline.download.config import FetchConfig
from pipeline.errors import IlidError
from pipeline.label.config import LabelConfig
from pipeline.prefilter import PrefilterConfig
from pipeline.report.build import build_report
from pipeline.run import RunPlan, run_pipeline
from pipeline.stats import run_stats
from pipeline.testing.server import LocalServer
from spiders.settings import LOCAL_SETTINGS

MARKER = ".ilid-demo"


def prepare_folder(workdir: Path) -> None:
    """A fresh demo folder: an earlier demo's is emptied, anything else must be empty or missing."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise IlidError(f"{workdir}: not empty and not a demo folder; choose another --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `ilid demo`; it empties this folder when it runs again\n")


def run_demo(workdir: Path, model: str | None = None, backend: str | None = None) -> Path:
    started = time.monotonic()
    prepare_folder(workdir)
    chosen = backend or ("transformers" if model else "rules")
    label = LabelConfig(backend=chosen, model=model) if model else LabelConfig(backend=chosen)
    if label.backend == "rules":
        print(
            "demo: labeling with the rules backend, the deterministic no-GPU fallback "
            "(give --model to use an LLM)",
            file=sys.stderr,
        )
    with LocalServer() as server:
        sitemap = serve_catalog(server)
        plan = RunPlan(
            spider="structured",
            source_tag="demo",
            workdir=workdir,
            spider_arguments={"sitemap": sitemap, "product_url": "/product/", "source": "demo"},
            scrapy_settings=dict(LOCAL_SETTINGS),
            prefilter=PrefilterConfig(regex=TRADE_NAMES),
            label=label,
            fetch=FetchConfig(timeout=10, retries=1, backoff=0.1),
            force=True,
        )
        run_pipeline(plan)
    run_stats(plan.curated, workdir / "stats")
    report = workdir / "report.html"
    build_report(
        plan.curated,
        plan.images,
        report,
        embed=True,
        title="ilid demo: sample industrial catalog",
        plots=workdir / "stats",
    )
    print(
        f"demo: {len(PRODUCTS)} catalog products -> {workdir} in {time.monotonic() - started:.0f}s; "
        f"open {report.resolve().as_uri()}",
        file=sys.stderr,
    )
    return report
