"""Golden tests: saved product pages in, the raw record (or the reason there is none) out.

Each `tests/golden/<spider>/<case>.html` is parsed by that spider's `parse_page`; the result must equal
`<case>.json`. `ilid new-spider` adds a folder here for each new shop.
"""

import json
from pathlib import Path

import pytest

from pipeline.testing.golden import golden_record

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.html"))


def test_every_shipped_spider_has_golden_pages():
    assert {"maedler", "rs_online", "structured"} <= {case.parent.name for case in CASES}


@pytest.mark.parametrize("page", CASES, ids=lambda page: f"{page.parent.name}/{page.stem}")
def test_golden_page(page):
    expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert golden_record(page.parent.name, page) == expected
