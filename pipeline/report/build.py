"""`ilid report`: one static page to browse a dataset, offline from file:// with no external resource.

Images are linked by their path relative to the page, or, with `embed`, inlined as small JPEG
thumbnails so that the page is a single shareable file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import sys
from pathlib import Path
from string import Template

from PIL import Image

from pipeline.download.stage import safe_image_path
from pipeline.jsonio import read_valid, write_bytes
from pipeline.records import Sample

TEMPLATE = Path(__file__).with_name("template.html")
THUMBNAIL = 192


def thumbnail(path: Path) -> str:
    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((THUMBNAIL, THUMBNAIL))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def build_report(dataset: Path, images: Path, out: Path, embed: bool = False, title: str = "") -> int:
    entries = []
    missing = 0
    for sample in read_valid(dataset, Sample):
        path = safe_image_path(images, sample.image)
        if path is None or not path.exists():
            missing += 1
            continue
        source = thumbnail(path) if embed else Path(os.path.relpath(path, out.resolve().parent)).as_posix()
        entries.append({**sample.to_json(), "src": source})
    data = json.dumps(entries, ensure_ascii=False).replace("</", "<\\/")
    page = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=html.escape(title or f"ILID browser: {dataset.name}"), samples=data
    )
    write_bytes(out, page.encode("utf-8"))
    note = f", {missing} without an image on disk left out" if missing else ""
    print(f"report: {len(entries):,} samples{note} -> {out}", file=sys.stderr)
    return len(entries)
