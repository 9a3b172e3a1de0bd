"""`ilid report`: one static page to browse a dataset, offline from file:// with no external resource.

Images are linked by their path relative to the page, or, with `embed`, inlined as small JPEG
thumbnails so that the page is a single shareable file. Each card says how its labels were made
(`label_method`) and, when the download manifest lies beside the dataset, the source image's size and
how much of the square image is padding. Curate's clusters (`<dataset>.clusters.jsonl`) are shown
below the grid, the drops of each stage (the `.stats.json` files beside the dataset) above it, and
`plots` (an `ilid stats` folder) are linked from the header.
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
from typing import Any

from PIL import Image

from pipeline.curate.config import clusters_for
from pipeline.download.imaging import fit_size
from pipeline.jsonio import journal_entries, read_valid, write_bytes
from pipeline.manifest import read_manifest, source_size
from pipeline.paths import safe_image_path
from pipeline.records import Sample
from pipeline.stats import funnel

TEMPLATE = Path(__file__).with_name("template.html")
THUMBNAIL = 192
CLUSTERS_SHOWN = 200


def thumbnail(path: Path) -> str:
    with Image.open(path) as image:
        small = image.convert("RGB")
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def describe_method(method: str | None) -> str | None:
    """`label_method` in plain words: "rules:json" is the extractive labeler, not a language model."""
    if not method:
        return None
    backend, _, answer = method.partition(":")
    if backend == "rules":
        return "rules backend (page text, no LLM)"
    shape = {"json": "a JSON answer"}.get(answer, f"parsed from a {answer} answer" if answer else "")
    return f"{backend} language model" + (f", {shape}" if shape else "")


def padding(path: Path, size: tuple[int, int] | None) -> dict[str, Any]:
    """The source size and the share of the stored image that is padding, when the size is known."""
    if size is None:
        return {}
    with Image.open(path) as image:
        box = image.size
    fitted = fit_size(*size, *box)
    return {
        "source_size": f"{size[0]} × {size[1]}",
        "padded": round(100 * (1 - fitted[0] * fitted[1] / (box[0] * box[1]))),
    }


class ImageSource:
    """How the page refers to an image: a thumbnail inlined, or its path relative to the page."""

    def __init__(self, images: Path, out: Path, embed: bool):
        self.images, self.page_folder, self.embed = images, out.resolve().parent, embed

    def path(self, image: str) -> Path | None:
        path = safe_image_path(self.images, image)
        return path if path is not None and path.is_file() else None

    def relative(self, path: Path) -> str:
        """The path as the page links it: relative to the page's folder."""
        return Path(os.path.relpath(path, self.page_folder)).as_posix()

    def src(self, path: Path) -> str:
        return thumbnail(path) if self.embed else self.relative(path)


def read_clusters(dataset: Path, source: ImageSource) -> tuple[list[dict[str, Any]], int]:
    """Curate's clusters with a picture per member (the first `CLUSTERS_SHOWN`), and how many there are."""
    path = clusters_for(dataset)
    if not path.exists():
        return [], 0
    shown: list[dict[str, Any]] = []
    total = 0
    for line in journal_entries(path):
        total += 1
        if len(shown) >= CLUSTERS_SHOWN:
            continue
        images, labels = line.get("images", {}), line.get("labels", {})
        members = []
        kept = [line["kept"]] if line.get("kept") else []
        distances = [0] * len(kept) + list(line.get("distances", []))
        for member, distance in zip([*kept, *line.get("dropped", [])], distances, strict=False):
            image = source.path(images.get(member, ""))
            members.append(
                {
                    "id": member,
                    "kept": member in kept,
                    "label": labels.get(member, ""),
                    "distance": distance,
                    "src": source.src(image) if image else "",
                }
            )
        shown.append({"reason": line.get("reason", ""), "members": members})
    return shown, total


def plot_links(plots: Path | None, source: ImageSource) -> list[dict[str, str]]:
    if plots is None or not plots.is_dir():
        return []
    return [
        {"name": path.stem.replace("_", " "), "href": source.relative(path)}
        for path in sorted(plots.glob("*.png"))
    ]


def as_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def build_report(
    dataset: Path, images: Path, out: Path, embed: bool = False, title: str = "", plots: Path | None = None
) -> int:
    source = ImageSource(images, out, embed)
    manifest = read_manifest(dataset)
    entries = []
    missing = 0
    for sample in read_valid(dataset, Sample):
        path = source.path(sample.image)
        if path is None:
            missing += 1
            continue
        entry = {**sample.to_json(), "src": source.src(path)}
        entry["labels_by"] = describe_method(entry.get("label_method"))
        entry.update(padding(path, source_size(manifest.get(sample.id))))
        entries.append(entry)
    clusters, cluster_count = read_clusters(dataset, source)
    drops = [
        {"stage": row.stage, "dropped": dict(row.dropped.most_common())}
        for row in funnel(dataset.parent)
        if row.dropped
    ]
    page = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=html.escape(title or f"ILID browser: {dataset.name}"),
        samples=as_json(entries),
        clusters=as_json({"shown": clusters, "total": cluster_count}),
        plots=as_json(plot_links(plots, source)),
        drops=as_json(drops),
    )
    write_bytes(out, page.encode("utf-8"))
    note = f", {missing} without an image on disk left out" if missing else ""
    if cluster_count:
        note += f", {cluster_count:,} curate clusters"
    print(f"report: {len(entries):,} samples{note} -> {out}", file=sys.stderr)
    return len(entries)
