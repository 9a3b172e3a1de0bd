"""The README's "Regenerate ILID" commands, run as written, leave a folder industrial-clip loads."""

import re
import shlex
import uuid
from pathlib import Path

import pytest

from pipeline.testing.server import LocalServer, Reply
from tests.helpers import read_json, run_cli, write_json
from tests.images import banded, encode
from tests.loader_contract import load_industrial_clip

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_commands(heading: str) -> list[list[str]]:
    """The `ilid ...` lines of the first bash block under `heading`, as argument lists."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"no bash block under {heading}"
    return [shlex.split(line)[1:] for line in block.group(1).splitlines() if line.startswith("ilid ")]


def published(url: str) -> dict:
    identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
    return {
        "id": identifier,
        "image": f"hinge/{identifier}.png",
        "url": url,
        "label_short": "hinge",
        "label_long": "lift-off hinge",
        "description": None,
        "material": "steel",
        "material_finish": None,
        "source": "shop",
    }


@pytest.fixture
def server():
    with LocalServer() as running:
        running.routes["/ok.jpg"] = Reply(
            body=encode(banded(300, 200), "JPEG"), headers={"Content-Type": "image/jpeg"}
        )
        yield running  # /dead.jpg answers 404


def test_readme_regeneration_loads_with_a_dead_url_and_keeps_the_full_metadata(tmp_path, server, monkeypatch):
    (command,) = readme_commands("#### Regenerate ILID")
    assert command[0] == "download"
    full = tmp_path / command[command.index("--dataset") + 1]
    samples = [published(server.url("/ok.jpg")), published(server.url("/dead.jpg"))]
    write_json(full, samples)
    before = full.read_bytes()
    monkeypatch.chdir(tmp_path)
    result = run_cli(*command, "--timeout", "2", "--retries", "0")
    assert result.exit_code == 0, result.output
    assert "download: read 2, kept 1, dropped 1" in result.stderr
    root = (tmp_path / command[command.index("--folder") + 1]).parent.parent
    loaded = load_industrial_clip(root)
    assert [item["url"] for item in loaded] == [server.url("/ok.jpg")]
    assert full.read_bytes() == before and len(read_json(full)) == 2  # the full metadata is kept


def test_download_refuses_to_write_over_the_full_metadata(tmp_path, server):
    dataset = write_json(tmp_path / "ilid" / "ilid.json", [published(server.url("/ok.jpg"))])
    before = dataset.read_bytes()
    result = run_cli("download", "--dataset", dataset, "--folder", tmp_path / "ilid" / "images")
    assert result.exit_code == 2
    assert "would overwrite it" in result.stderr and "ilid_full.json" in result.stderr
    assert dataset.read_bytes() == before and not (tmp_path / "ilid" / "images").exists()


def test_export_industrial_clip_of_a_download_loads(tmp_path, server):
    full = write_json(
        tmp_path / "full.json", [published(server.url("/ok.jpg")), published(server.url("/dead.jpg"))]
    )
    images = tmp_path / "shop" / "images"
    assert run_cli("download", "--dataset", full, "--folder", images, "--retries", "0").exit_code == 0
    result = run_cli(
        "export", "industrial-clip", "--dataset", full, "--images", images, "--out", tmp_path / "out"
    )
    assert result.exit_code == 0, result.output
    assert "image_missing 1" in result.stderr
    assert len(load_industrial_clip(tmp_path / "out")) == 1


def test_run_refuses_a_dataset_named_like_its_downloaded_file(tmp_path):
    result = run_cli(
        "run",
        "structured",
        "--workdir",
        tmp_path,
        "--dataset",
        tmp_path / "ilid.json",
        "-a",
        "sitemap=http://127.0.0.1:9/",
    )
    assert result.exit_code == 2 and "would overwrite it" in result.stderr
    assert not (tmp_path / "structured_raw.json").exists()
