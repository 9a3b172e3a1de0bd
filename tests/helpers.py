"""Small helpers the tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from pipeline.cli import cli


def run_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def read_json(path: Path) -> Any:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return json.loads(path.read_text(encoding="utf-8"))


def raw(url: str, label: str, *data: str) -> dict[str, Any]:
    return {"url": url, "web": {"label": label, "data": list(data)}}


def labeled(url: str, short: str | None, long: str | None, **fields: Any) -> dict[str, Any]:
    return {
        **raw(url, "title", "text"),
        "response": ["..."],
        "label_short": short,
        "label_long": long,
        "description": fields.get("description"),
        "material": fields.get("material"),
        "material_finish": fields.get("material_finish"),
    }
