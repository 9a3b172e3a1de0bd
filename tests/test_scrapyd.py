"""The spiders on a real Scrapyd: deployed with scrapyd-deploy from a copy of the repository, scheduled
over Scrapyd's JSON API against a catalog on 127.0.0.1, their JSON Lines items read by `ilid prefilter`."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from pipeline.jsonio import read_records
from pipeline.records import RawItem
from pipeline.testing.server import free_port
from tests.helpers import read_json
from tests.test_crawl import catalog  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def scrapyd(tmp_path):
    """A Scrapyd on 127.0.0.1 with its folders under tmp_path, run without this checkout on its path:
    its crawls import the spiders from the deployed egg."""
    port = free_port()
    server = tmp_path / "scrapyd"
    server.mkdir()
    (server / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {server}/eggs\nlogs_dir = {server}/logs\n"
        f"items_dir = {server}/items\ndbs_dir = {server}/dbs\npoll_interval = 0.2\nmax_proc = 2\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    process = subprocess.Popen(
        [BIN / "scrapyd"], cwd=server, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/daemonstatus.json", timeout=2).ok
        except requests.ConnectionError:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            return False

    try:
        wait_for(up, 30, "scrapyd to start")
        yield url, server
    finally:
        process.terminate()
        process.wait(timeout=10)


def deploy(url: str, tmp_path: Path) -> None:
    """scrapyd-deploy, as a user runs it in the repository (here a copy, so that its build files stay
    out of the checkout)."""
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("pipeline", "spiders"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, project / name)
    config = (ROOT / "scrapy.cfg").read_text().replace("http://localhost:6800/", f"{url}/")
    (project / "scrapy.cfg").write_text(config)
    done = subprocess.run(
        [BIN / "scrapyd-deploy", "--version", "1"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert done.returncode == 0 and '"status": "ok"' in done.stdout, done.stdout + done.stderr[-2000:]


def test_spiders_deploy_to_scrapyd_and_its_items_feed_the_pipeline(scrapyd, catalog, tmp_path):  # noqa: F811
    url, server = scrapyd
    deploy(url, tmp_path)
    spiders = requests.get(f"{url}/listspiders.json", params={"project": "ilid"}, timeout=10).json()
    assert {"maedler", "rs_online", "structured"} <= set(spiders["spiders"]), spiders
    scheduled = requests.post(
        f"{url}/schedule.json",
        data={
            "project": "ilid",
            "spider": "structured",
            "sitemap": f"{catalog.base}/robots.txt",
            "product_url": "/product/",
            "setting": ["DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False"],
        },
        timeout=10,
    ).json()
    assert scheduled["status"] == "ok", scheduled
    job = scheduled["jobid"]

    def finished():
        jobs = requests.get(f"{url}/listjobs.json", params={"project": "ilid"}, timeout=10).json()
        return any(entry["id"] == job for entry in jobs["finished"])

    wait_for(finished, 90, "the Scrapyd job to finish")
    items = server / "items" / "ilid" / "structured" / f"{job}.jl"
    log = (server / "logs" / "ilid" / "structured" / f"{job}.log").read_text()
    assert items.exists() and "Traceback" not in log, log[-3000:]
    records = list(read_records(items, RawItem))
    assert len(records) == 5, log[-3000:]
    assert all(record.source == "127.0.0.1" and record.crawled_at for record in records)
    assert "/private/product/secret" not in catalog.requests  # the project's politeness: robots.txt
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "prefilter", "-i", items, "-o", tmp_path / "pre.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_json(tmp_path / "pre.json.stats.json")["read"] == 5
