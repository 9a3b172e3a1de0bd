"""What the tests, the benchmarks and the demo share, kept out of the stages: a local HTTP server
(`server`), golden records of saved product pages (`golden`), a tiny Llama checkpoint built on the
spot (`tiny_llama`, which needs the `llm` extra) and the command line of a structured crawl."""

from __future__ import annotations

import sys
from pathlib import Path


def structured_crawl(sitemap: str, output: str | Path, *options: str) -> list[str]:
    """`ilid crawl structured` of one sitemap into `output`, as a subprocess runs it."""
    return [
        sys.executable,
        "-m",
        "pipeline.cli",
        "crawl",
        "structured",
        "--sitemap",
        sitemap,
        "-o",
        str(output),
        *options,
    ]
