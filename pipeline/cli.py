"""The `ilid` command: flags -> config -> stage -> one summary line.

Every stage also accepts the flag spellings of ILID's original scripts (`--min_field_length`,
`--source_tag`, ...), so existing commands only change their program name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import click
from pydantic import BaseModel, ValidationError

from pipeline.anomaly.config import ImportConfig, LayoutConfig
from pipeline.curate.config import CurateConfig, CurateRules
from pipeline.download.config import DownloadConfig, FetchConfig
from pipeline.errors import IlidError, NothingKept, Terminated
from pipeline.export.config import ExportConfig
from pipeline.interrupts import sigterm_as_interrupt
from pipeline.jsonio import describe_validation_error
from pipeline.label.config import LabelConfig
from pipeline.lock import WAIT_FOR_LOCKS
from pipeline.postfilter import PostfilterConfig


class IlidGroup(click.Group):
    """Turns an `IlidError` into one line on stderr and exit code 2, a stage that kept nothing of a
    non-empty input into exit code 1 (after its summary), Ctrl-C into 130 and SIGTERM into 143."""

    def invoke(self, ctx: click.Context) -> Any:
        wait = WAIT_FOR_LOCKS.set(False)
        try:
            with sigterm_as_interrupt():
                return super().invoke(ctx)
        except NothingKept:
            sys.exit(1)
        except Terminated:
            click.echo("terminated: finished outputs are kept; rerun to resume", err=True)
            sys.exit(143)
        except IlidError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except ValidationError as error:
            click.echo(f"error: {describe_validation_error(error)}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished outputs are kept; rerun to resume", err=True)
            sys.exit(130)
        finally:
            WAIT_FOR_LOCKS.reset(wait)


@click.group(cls=IlidGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ilid")
def cli() -> None:
    """ilid: turn industrial web catalogs into a language-image dataset (ILID)."""


def default(model: type[BaseModel], name: str) -> Any:
    """The default of a config model's field: a flag passes and shows it, the model alone sets it."""
    return model.model_fields[name].default


def _set_wait(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        WAIT_FOR_LOCKS.set(True)


wait_option = click.option(
    "--wait",
    is_flag=True,
    expose_value=False,
    callback=_set_wait,
    help="When another run holds the output, wait for it instead of failing at once.",
)


def input_output(function: Callable[..., Any]) -> Callable[..., Any]:
    """The flags every file-to-file stage shares."""
    options = [
        wait_option,
        click.option(
            "--file",
            "-i",
            "input_path",
            required=True,
            type=click.Path(path_type=Path),
            help="Input .json array or .jsonl file.",
        ),
        click.option(
            "--output",
            "-o",
            "output_path",
            required=True,
            type=click.Path(path_type=Path),
            help="Output file (.json array, or .jsonl).",
        ),
        click.option(
            "--rejects",
            type=click.Path(path_type=Path),
            help="Keep every dropped record here, with its reason.",
        ),
        click.option(
            "--skip-invalid",
            is_flag=True,
            help="Send invalid input records to the rejects and go on, instead of stopping.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.command()
@input_output
@click.option("--regex", help='Trade names to remove, case-insensitive, e.g. "(ameise|proline|basic)".')
@click.option("--keep-numbers", is_flag=True, help="Keep digit runs (ILID removes them).")
def prefilter(
    input_path: Path,
    output_path: Path,
    rejects: Path | None,
    skip_invalid: bool,
    regex: str | None,
    keep_numbers: bool,
) -> None:
    """Clean raw spider items: duplicates, blank labels and data, whitespace, trade names, numbers."""
    from pipeline.prefilter import Prefilter, PrefilterConfig
    from pipeline.records import RawItem
    from pipeline.stage import run_file_stage

    stage = Prefilter(PrefilterConfig(regex=regex, keep_numbers=keep_numbers))
    run_file_stage(
        "prefilter", stage, input_path, RawItem, output_path, rejects_path=rejects, skip_invalid=skip_invalid
    )


@cli.command()
@input_output
@click.option(
    "--min-field-length",
    "--min_field_length",
    default=default(PostfilterConfig, "min_field_length"),
    show_default=True,
    type=int,
    help="Fields shorter than this become null; items whose labels do are dropped.",
)
def postfilter(
    input_path: Path, output_path: Path, rejects: Path | None, skip_invalid: bool, min_field_length: int
) -> None:
    """Clean and lower-case the labeled fields, drop what is too short, derive folder names."""
    from pipeline.postfilter import Postfilter
    from pipeline.records import LabeledItem
    from pipeline.stage import run_file_stage

    stage = Postfilter(PostfilterConfig(min_field_length=min_field_length))
    run_file_stage(
        "postfilter",
        stage,
        input_path,
        LabeledItem,
        output_path,
        rejects_path=rejects,
        skip_invalid=skip_invalid,
    )


def label_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The flags of the label stage, shared by `label` and `run`."""
    options = [
        click.option(
            "--backend",
            default=default(LabelConfig, "backend"),
            show_default=True,
            help="transformers, vllm, openai (any OpenAI-compatible server) or rules (no model).",
        ),
        click.option(
            "--model",
            default=default(LabelConfig, "model"),
            show_default=True,
            help="Hub id or local folder; the served model's name with --backend openai.",
        ),
        click.option(
            "--batch-size",
            type=int,
            default=default(LabelConfig, "batch_size"),
            help="Items per batch (default: the backend's).",
        ),
        click.option(
            "--max-new-tokens",
            default=default(LabelConfig, "max_new_tokens"),
            show_default=True,
            help="Token budget per answer; the answer schema's field limits shrink to fit a smaller one.",
        ),
        click.option("--temperature", default=default(LabelConfig, "temperature"), show_default=True),
        click.option("--top-p", default=default(LabelConfig, "top_p"), show_default=True),
        click.option("--greedy", is_flag=True, help="Greedy decoding instead of sampling."),
        click.option("--seed", default=default(LabelConfig, "seed"), show_default=True),
        click.option(
            "--dtype",
            type=click.Choice(get_args(LabelConfig.model_fields["dtype"].annotation)),
            default=default(LabelConfig, "dtype"),
            show_default=True,
        ),
        click.option(
            "--debug",
            default=default(LabelConfig, "debug"),
            help="Label only this random fraction of the items, as ILID's --debug.",
        ),
        click.option(
            "--base-url",
            default=default(LabelConfig, "base_url"),
            show_default=True,
            help="The server's OpenAI-compatible API root (--backend openai).",
        ),
        click.option(
            "--api-key-env",
            default=default(LabelConfig, "api_key_env"),
            show_default=True,
            help="The environment variable that holds the server's API key.",
        ),
        click.option(
            "--concurrency",
            default=default(LabelConfig, "concurrency"),
            show_default=True,
            help="Requests in flight (--backend openai).",
        ),
        click.option(
            "--timeout",
            default=default(LabelConfig, "timeout"),
            show_default=True,
            help="Seconds per request (--backend openai).",
        ),
        click.option(
            "--retries",
            default=default(LabelConfig, "retries"),
            show_default=True,
            help="Retries of a request on 429, 5xx and connection errors (--backend openai).",
        ),
        click.option(
            "--grounding/--no-grounding",
            default=default(LabelConfig, "grounding"),
            show_default=True,
            help="Null a material or finish the product's own text does not support.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.command()
@click.option(
    "--file", "-i", "input_path", required=True, type=click.Path(path_type=Path), help="Pre-filtered items."
)
@click.option("--output", "-o", "output_path", required=True, type=click.Path(path_type=Path))
@click.option(
    "--reuse",
    type=click.Path(path_type=Path),
    help="A previous labeled file: products whose text it answered are not labeled again.",
)
@click.option("--rejects", type=click.Path(path_type=Path), help="Keep invalid input records here.")
@click.option("--skip-invalid", is_flag=True, help="Skip invalid input records instead of stopping.")
@wait_option
@label_options
def label(
    input_path: Path,
    output_path: Path,
    reuse: Path | None,
    rejects: Path | None,
    skip_invalid: bool,
    **options: Any,
) -> None:
    """Label each product with an LLM: long and short label, description, material, finish.

    The hub token is read from HF_TOKEN. Finished batches are checkpointed to OUTPUT.partial.jsonl;
    rerunning resumes."""
    from pipeline.label.stage import run_label

    run_label(
        input_path,
        output_path,
        LabelConfig(**options),
        reuse=reuse,
        rejects=rejects,
        skip_invalid=skip_invalid,
    )


@cli.command()
@click.option(
    "--file",
    "-i",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Post-filtered items of one shop.",
)
@click.option(
    "--dataset",
    required=True,
    type=click.Path(path_type=Path),
    help="The combined dataset file; created when missing.",
)
@click.option("--source-tag", "--source_tag", required=True, help="The shop's tag, stored as `source`.")
@click.option(
    "--rejects", type=click.Path(path_type=Path), help="Keep skipped items here, with their reason."
)
@click.option("--skip-invalid", is_flag=True, help="Skip invalid input records instead of stopping.")
@click.option("--drop-gone", is_flag=True, help="Remove this shop's samples that the input no longer holds.")
@wait_option
def assemble(
    input_path: Path,
    dataset: Path,
    source_tag: str,
    rejects: Path | None,
    skip_invalid: bool,
    drop_gone: bool,
) -> None:
    """Merge a shop into the combined dataset: stable ids, image paths, no duplicate URLs; a changed
    product is updated in place."""
    from pipeline.assemble import Assemble, AssembleConfig
    from pipeline.records import PostfilteredItem
    from pipeline.stage import run_file_stage

    stage = Assemble(AssembleConfig(dataset=dataset, source_tag=source_tag, drop_gone=drop_gone))
    run_file_stage(
        "assemble",
        stage,
        input_path,
        PostfilteredItem,
        dataset,
        rejects_path=rejects,
        skip_invalid=skip_invalid,
        notes=stage.notes,
    )


@cli.command()
@click.option(
    "--dataset", required=True, type=click.Path(path_type=Path), help="Dataset file, e.g. ilid.json."
)
@click.option("--folder", required=True, type=click.Path(path_type=Path), help="Where the images go.")
@click.option(
    "--image-width", "--image_width", "width", default=default(DownloadConfig, "width"), show_default=True
)
@click.option(
    "--image-height", "--image_height", "height", default=default(DownloadConfig, "height"), show_default=True
)
@click.option(
    "--dataset-downloaded",
    "--dataset_downloaded",
    "downloaded",
    type=click.Path(path_type=Path),
    help="Samples whose image is on disk (default: ilid.json beside --folder, as industrial-clip reads).",
)
@click.option("--replace", is_flag=True, help="Fetch again images already on disk.")
@click.option(
    "--workers",
    default=default(DownloadConfig, "workers"),
    show_default=True,
    help="Downloads in flight, all hosts together.",
)
@click.option(
    "--per-host",
    default=default(FetchConfig, "per_host"),
    show_default=True,
    help="Downloads in flight to one host.",
)
@click.option(
    "--timeout",
    default=default(FetchConfig, "timeout"),
    show_default=True,
    help="Seconds for a whole request: connect, headers, body.",
)
@click.option(
    "--retries",
    default=default(FetchConfig, "retries"),
    show_default=True,
    help="Retries on 429, 5xx and connection errors.",
)
@click.option(
    "--user-agent", default=default(FetchConfig, "user_agent"), show_default=True, help="User-Agent header."
)
@click.option(
    "--max-bytes",
    default=default(FetchConfig, "max_bytes"),
    show_default=True,
    help="Largest image body accepted.",
)
@click.option(
    "--max-pixels",
    default=default(DownloadConfig, "max_pixels"),
    show_default=True,
    help="Largest image accepted, in pixels.",
)
@click.option(
    "--fallback",
    help="URL template tried when a URL is gone, e.g. 'https://web.archive.org/web/2024id_/{url}'.",
)
@click.option("--ignore-x-robots-tag", is_flag=True, help="Fetch images even when X-Robots-Tag says noai.")
@click.option(
    "--rejects", type=click.Path(path_type=Path), help="Keep every sample that failed here, with its reason."
)
@click.option("--skip-invalid", is_flag=True, help="Skip invalid input records instead of stopping.")
@wait_option
def download(
    dataset: Path,
    folder: Path,
    width: int,
    height: int,
    downloaded: Path | None,
    replace: bool,
    workers: int,
    per_host: int,
    timeout: float,
    retries: int,
    user_agent: str,
    max_bytes: int,
    max_pixels: int,
    fallback: str | None,
    ignore_x_robots_tag: bool,
    rejects: Path | None,
    skip_invalid: bool,
) -> None:
    """Fetch every sample's image, fit it into W x H (padding repeats the edge), write PNGs."""
    from pipeline.download.layout import check_keeps_dataset, default_downloaded
    from pipeline.download.stage import run_download

    downloaded = downloaded or default_downloaded(folder)
    check_keeps_dataset(dataset, downloaded)
    fetch = FetchConfig(
        timeout=timeout,
        retries=retries,
        per_host=per_host,
        max_bytes=max_bytes,
        user_agent=user_agent,
        respect_noai=not ignore_x_robots_tag,
    )
    run_download(
        DownloadConfig(
            dataset=dataset,
            folder=folder,
            width=width,
            height=height,
            replace=replace,
            workers=workers,
            downloaded=downloaded,
            max_pixels=max_pixels,
            fallback=fallback,
            fetch=fetch,
        ),
        rejects=rejects,
        skip_invalid=skip_invalid,
    )


@cli.command()
@click.option(
    "--dataset",
    required=True,
    type=click.Path(path_type=Path),
    help="The downloaded dataset (its manifest beside it).",
)
@click.option("--images", required=True, type=click.Path(path_type=Path), help="The images folder.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path), help="The curated dataset.")
@click.option(
    "--near-distance",
    default=default(CurateRules, "near_distance"),
    show_default=True,
    help="Largest pHash Hamming distance (of 64 bits) between near-duplicates.",
)
@click.option(
    "--placeholder-min",
    default=default(CurateRules, "placeholder_min"),
    show_default=True,
    help="Products (with different labels) sharing one image that make it a placeholder.",
)
@click.option(
    "--min-side",
    default=default(CurateRules, "min_side"),
    show_default=True,
    help="Smallest shorter side of the source image.",
)
@click.option(
    "--max-aspect",
    default=default(CurateRules, "max_aspect"),
    show_default=True,
    help="Largest long side / short side.",
)
@click.option(
    "--rejects", type=click.Path(path_type=Path), help="Keep every dropped sample here, with its reason."
)
def curate(
    dataset: Path,
    images: Path,
    output: Path,
    near_distance: int,
    placeholder_min: int,
    min_side: int,
    max_aspect: float,
    rejects: Path | None,
) -> None:
    """Drop duplicate images, near-duplicates, placeholders, thumbnails and extreme aspect ratios."""
    from pipeline.curate.stage import run_curate

    rules = CurateRules(
        near_distance=near_distance, placeholder_min=placeholder_min, min_side=min_side, max_aspect=max_aspect
    )
    run_curate(CurateConfig(dataset=dataset, images=images, output=output, rules=rules, rejects=rejects))


@cli.command()
@click.argument("spiders", nargs=-1)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Raw items (.json or .jsonl); with several shops a folder for SHOP_raw.json files.",
)
@click.option("--all", "every", is_flag=True, help="Every shop spider (all but structured).")
@click.option("--sitemap", help="The structured spider's sitemap (same as -a sitemap=URL).")
@click.option("--product-url", help="The structured spider's product page regex (-a product_url=...).")
@click.option(
    "-a", "arguments", multiple=True, metavar="KEY=VALUE", help="Spider argument, e.g. -a sitemap=URL."
)
@click.option(
    "-s", "overrides", multiple=True, metavar="NAME=VALUE", help="Scrapy setting, e.g. -s DOWNLOAD_DELAY=0."
)
@click.option("--resume", type=click.Path(path_type=Path), help="Job folder: an interrupted crawl continues.")
@click.option("--cache", is_flag=True, help="Keep an RFC 2616 HTTP cache: a re-crawl revalidates.")
@click.option("--max-items", type=int, help="Stop after this many products.")
@click.option(
    "--rejects", type=click.Path(path_type=Path), help="Keep every dropped page here, with its reason."
)
@click.option(
    "--since",
    type=click.Path(path_type=Path),
    help="The previous crawl's raw file (a folder of SHOP_raw.json with several shops): fetch only "
    "product pages that are new or changed.",
)
@wait_option
def crawl(
    spiders: tuple[str, ...],
    output: Path,
    every: bool,
    sitemap: str | None,
    product_url: str | None,
    arguments: tuple[str, ...],
    overrides: tuple[str, ...],
    resume: Path | None,
    cache: bool,
    max_items: int | None,
    rejects: Path | None,
    since: Path | None,
) -> None:
    """Crawl shops' sitemaps (SPIDERS: names, or structured:SITEMAP_URL) and write their products as raw
    items, several shops in one process."""
    from pipeline.crawl import crawl_command, parse_assignments

    spider_arguments = parse_assignments(arguments, "-a")
    if sitemap:
        spider_arguments["sitemap"] = sitemap
    if product_url:
        spider_arguments["product_url"] = product_url
    failed = crawl_command(
        list(spiders),
        every,
        output,
        spider_arguments,
        parse_assignments(overrides, "-s"),
        resume=resume,
        cache=cache,
        max_items=max_items,
        rejects=rejects,
        since=since,
    )
    if failed:
        raise SystemExit(1)


@cli.command("spiders")
def list_spiders() -> None:
    """List the spiders and the domains they crawl."""
    from spiders import discover

    for name, spider in discover().items():
        domains = ", ".join(getattr(spider, "allowed_domains", []) or []) or "any (-a sitemap=URL)"
        click.echo(f"{name:14s} {domains}")


@cli.command("new-spider")
@click.argument("name")
@click.option("--sitemap", required=True, help="The shop's sitemap or sitemap index URL.")
@click.option(
    "--product-url", default=r"/product/", show_default=True, help="Regex matching product page URLs."
)
@click.option("--force", is_flag=True, help="Overwrite an existing spider of that name.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project to write into (its spiders/ and tests/golden/); default: the one ilid runs from.",
)
def new_spider(name: str, sitemap: str, product_url: str, force: bool, root: Path | None) -> None:
    """Write spiders/NAME.py from a template, with a golden test page to adapt."""
    from pipeline.newspider import write_spider

    for path in write_spider(name, sitemap, product_url, force, root):
        click.echo(f"wrote {path}")


@cli.command("run")
@click.argument("spider")
@click.option(
    "--workdir", required=True, type=click.Path(path_type=Path), help="Folder for every stage's files."
)
@click.option(
    "--dataset", type=click.Path(path_type=Path), help="Combined dataset (default: WORKDIR/dataset.json)."
)
@click.option("--source-tag", "--source_tag", help="The dataset's `source` tag (default: the spider's name).")
@click.option(
    "-a", "arguments", multiple=True, metavar="KEY=VALUE", help="Spider argument, e.g. -a sitemap=URL."
)
@click.option("-s", "overrides", multiple=True, metavar="NAME=VALUE", help="Scrapy setting.")
@click.option("--max-items", type=int, help="Stop the crawl after this many products.")
@click.option("--regex", help="Trade names the pre-filter removes.")
@click.option("--keep-numbers", is_flag=True, help="Keep digit runs in the pre-filter.")
@click.option(
    "--min-field-length",
    "--min_field_length",
    default=default(PostfilterConfig, "min_field_length"),
    show_default=True,
)
@click.option(
    "--image-width", "--image_width", "width", default=default(DownloadConfig, "width"), show_default=True
)
@click.option(
    "--image-height", "--image_height", "height", default=default(DownloadConfig, "height"), show_default=True
)
@click.option("--force", is_flag=True, help="Rerun stages whose output is newer than their input.")
@wait_option
@label_options
def run(
    spider: str,
    workdir: Path,
    dataset: Path | None,
    source_tag: str | None,
    arguments: tuple[str, ...],
    overrides: tuple[str, ...],
    max_items: int | None,
    regex: str | None,
    keep_numbers: bool,
    min_field_length: int,
    width: int,
    height: int,
    force: bool,
    **label: Any,
) -> None:
    """Crawl, pre-filter, label, post-filter, assemble, download and curate one shop, resuming where it
    stopped."""
    from pipeline.crawl import parse_assignments
    from pipeline.prefilter import PrefilterConfig
    from pipeline.run import RunPlan, run_pipeline

    run_pipeline(
        RunPlan(
            spider=spider,
            workdir=workdir,
            dataset=dataset,
            source_tag=source_tag,
            spider_arguments=parse_assignments(arguments, "-a"),
            scrapy_settings=parse_assignments(overrides, "-s"),
            max_items=max_items,
            prefilter=PrefilterConfig(regex=regex, keep_numbers=keep_numbers),
            label=LabelConfig(**label),
            postfilter=PostfilterConfig(min_field_length=min_field_length),
            width=width,
            height=height,
            force=force,
        )
    )


@cli.command()
@click.option("--workdir", default=Path("data/demo"), show_default=True, type=click.Path(path_type=Path))
@click.option("--model", help="Label with this model (hub id or folder) instead of the rules labeler.")
@click.option("--backend", help="The label backend for --model (default: transformers).")
def demo(workdir: Path, model: str | None, backend: str | None) -> None:
    """The whole pipeline on a bundled sample catalog served on 127.0.0.1: offline, no GPU."""
    from pipeline.demo.run import run_demo

    run_demo(workdir, model=model, backend=backend)


@cli.command()
@click.option("--dataset", required=True, type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Folder for stats.json and plots."
)
def stats(dataset: Path, out: Path) -> None:
    """Counts per source, unique values, word-frequency plots and the stage funnel."""
    from pipeline.stats import run_stats

    run_stats(dataset, out)


@cli.command()
@click.option("--dataset", required=True, type=click.Path(path_type=Path))
@click.option("--images", required=True, type=click.Path(path_type=Path), help="The images folder.")
@click.option("--out", default=Path("report.html"), show_default=True, type=click.Path(path_type=Path))
@click.option("--embed", is_flag=True, help="Inline thumbnails: one file to share, no images folder needed.")
@click.option("--title", default="", help="The page's title.")
@click.option(
    "--plots",
    type=click.Path(path_type=Path),
    help="An `ilid stats --out` folder whose plots the page links.",
)
def report(dataset: Path, images: Path, out: Path, embed: bool, title: str, plots: Path | None) -> None:
    """One static page to browse the dataset offline: grid, search, filters by source and material."""
    from pipeline.report.build import build_report

    build_report(dataset, images, out, embed=embed, title=title, plots=plots)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--as",
    "kind",
    type=click.Choice(["raw", "labeled", "postfiltered", "dataset"]),
    help="The record kind; guessed from the first record when left out.",
)
@click.option("--show", default=10, show_default=True, help="How many errors to print.")
def validate(path: Path, kind: str | None, show: int) -> None:
    """Check that every record of a file validates; exit 1 when some do not."""
    from pipeline.validate import validate_file

    if not validate_file(path, kind, show):
        sys.exit(1)


@cli.command("export")
@click.argument("format_name", metavar="FORMAT")
@click.option(
    "--dataset", required=True, type=click.Path(path_type=Path), help="The dataset (curated or not)."
)
@click.option(
    "--images", type=click.Path(path_type=Path), help="The images folder (not needed for img2dataset)."
)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The export folder, written whole."
)
@click.option(
    "--caption",
    "captions",
    multiple=True,
    default=default(ExportConfig, "captions"),
    show_default=True,
    help="A field or a template, e.g. '{label_short} made of {material}'; repeat to fall back.",
)
@click.option("--split", help="Fractions per split, e.g. train=0.9,val=0.05,test=0.05.")
@click.option(
    "--seed", default=default(ExportConfig, "seed"), show_default=True, help="Seed of the split assignment."
)
@click.option(
    "--clusters",
    type=click.Path(path_type=Path),
    help="curate's clusters, kept in one split (default: <dataset>.clusters.jsonl when it exists).",
)
@click.option(
    "--shard-size", default=default(ExportConfig, "shard_size"), show_default=True, help="Samples per shard."
)
@wait_option
def export(
    format_name: str,
    dataset: Path,
    images: Path | None,
    out: Path,
    captions: tuple[str, ...],
    split: str | None,
    seed: int,
    clusters: Path | None,
    shard_size: int,
) -> None:
    """Write the dataset as FORMAT for a trainer: industrial-clip, webdataset, hf, csv or img2dataset."""
    from pipeline.export.stage import run_export

    run_export(
        ExportConfig(
            format=format_name,
            dataset=dataset,
            images=images,
            out=out,
            captions=captions,
            split=split,
            seed=seed,
            clusters=clusters,
            shard_size=shard_size,
        )
    )


# --- anomaly-detection datasets (pipeline/anomaly) ---
ANOMALY_FORMATS = ["mvtec", "visa", "kolektorsdd", "kolektorsdd2"]


@cli.command("import")
@click.argument("format", type=click.Choice(ANOMALY_FORMATS))
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path), help="The dataset file.")
@click.option("--images", required=True, type=click.Path(path_type=Path), help="Where images and masks go.")
@click.option("--source-tag", "--source_tag", default="", help="The samples' `source` (default: FORMAT).")
@click.option(
    "--image-width", "--image_width", "width", default=default(ImportConfig, "width"), show_default=True
)
@click.option(
    "--image-height", "--image_height", "height", default=default(ImportConfig, "height"), show_default=True
)
@click.option("--keep-size", is_flag=True, help="Keep each image's size instead of fitting it into W x H.")
@click.option(
    "--seed",
    default=default(ImportConfig, "seed"),
    show_default=True,
    help="KolektorSDD's train/test shuffle.",
)
@click.option("--replace", is_flag=True, help="Write again images already on disk (a rerun skips them).")
@click.option("--rejects", type=click.Path(path_type=Path), help="Keep every skipped file with its reason.")
@wait_option
def import_dataset(
    format: str,
    root: Path,
    output: Path,
    images: Path,
    source_tag: str,
    width: int,
    height: int,
    keep_size: bool,
    seed: int,
    replace: bool,
    rejects: Path | None,
) -> None:
    """Import an anomaly-detection dataset (MVTec AD layout, VisA, KolektorSDD 1/2) as samples."""
    from pipeline.anomaly.importer import run_import

    run_import(
        ImportConfig(
            format=format,
            root=root,
            output=output,
            images=images,
            source_tag=source_tag,
            width=width,
            height=height,
            keep_size=keep_size,
            seed=seed,
            replace=replace,
            rejects=rejects,
        )
    )


@cli.command("mvtec-layout")
@click.argument("format", type=click.Choice(ANOMALY_FORMATS[1:]))
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The MVTec-layout folder.")
@click.option(
    "--seed",
    default=default(LayoutConfig, "seed"),
    show_default=True,
    help="KolektorSDD's train/test shuffle.",
)
@click.option("--resize", metavar="WxH", help="Resize images (bicubic) and masks (nearest), e.g. 500x1240.")
@click.option("--rejects", type=click.Path(path_type=Path), help="Keep every skipped file with its reason.")
@wait_option
def mvtec_layout(
    format: str, root: Path, out: Path, seed: int, resize: str | None, rejects: Path | None
) -> None:
    """Write VisA, KolektorSDD or KolektorSDD2 in MVTec AD's layout, masks binary 0/255."""
    from pipeline.anomaly.layout import parse_size, run_mvtec_layout

    size = parse_size(resize) if resize else None
    run_mvtec_layout(LayoutConfig(format=format, root=root, out=out, seed=seed, resize=size, rejects=rejects))


def main() -> None:
    cli(prog_name="ilid")


if __name__ == "__main__":
    main()
