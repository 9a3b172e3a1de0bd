"""Several shops in one `ilid crawl`: each its own output and summary; one failing stops no other."""

import json
import subprocess
import sys

from pipeline.testing.server import LocalServer, Reply, free_port
from tests.helpers import read_json
from tests.test_crawl import FAST, HTML, XML, urlset


def shop(server: LocalServer, names: list[str]) -> None:
    server.routes["/sitemap.xml"] = Reply(headers=XML, body=urlset(server.base, [f"/p/{n}" for n in names]))
    for name in names:
        document = json.dumps({"@type": "Product", "name": name, "image": f"/img/{name}.jpg"})
        body = f'<html><script type="application/ld+json">{document}</script></html>'
        server.routes[f"/p/{name}"] = Reply(headers=HTML, body=body.encode())


def test_several_shops_in_one_run_each_get_their_file_and_a_dead_one_stops_none(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/sitemap.xml"
    with LocalServer() as gears, LocalServer() as hinges:
        shop(gears, ["spur-gear", "bevel-gear"])
        shop(hinges, ["lift-off-hinge"])
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline.cli",
                "crawl",
                "-o",
                tmp_path / "raw",
                *FAST,
                "-s",
                "RETRY_TIMES=0",
            ]
            + [f"structured:{server.base}/sitemap.xml" for server in (gears, hinges)]
            + [f"structured:{dead}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr[-3000:]  # one shop kept nothing
    files = {path.name: path for path in (tmp_path / "raw").glob("*_raw.json")}
    for server, labels in ((gears, {"spur-gear", "bevel-gear"}), (hinges, {"lift-off-hinge"})):
        name = f"127.0.0.1_{server.base.rsplit(':', 1)[1]}_raw.json"
        assert {item["web"]["label"] for item in read_json(files[name])} == labels
        assert read_json(files[name].with_name(name + ".stats.json"))["kept"] == len(labels)
    assert "shops failed or kept nothing: structured:127.0.0.1_" in done.stderr
    assert done.stderr.count("crawl structured:127.0.0.1_") == 3  # one summary line per shop


BROKEN_SPIDER = """
from spiders.structured import StructuredDataSpider

class BrokenSpider(StructuredDataSpider):
    name = "broken"

    def __init__(self, **kwargs):
        raise RuntimeError("cannot start")
"""


def test_a_spider_that_cannot_start_is_reported_and_the_other_shop_crawls(tmp_path):
    (tmp_path / "broken.py").write_text(BROKEN_SPIDER)
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from broken import BrokenSpider; from pipeline.crawl import ShopCrawl, run_crawls, shop_crawl;"
        "shops = [ShopCrawl('broken', BrokenSpider, Path(sys.argv[1]) / 'broken.json'),"
        " shop_crawl('structured:' + sys.argv[2], Path(sys.argv[1]) / 'good.json')];"
        "summaries = run_crawls(shops, {'LOG_LEVEL': 'ERROR', 'DOWNLOAD_DELAY': 0});"
        "print([s.notes.get('failed') for s in summaries])"
    )
    with LocalServer() as server:
        shop(server, ["spur-gear"])
        done = subprocess.run(
            [sys.executable, "-c", script, tmp_path, f"{server.base}/sitemap.xml"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "['cannot start', None]"
    assert [item["web"]["label"] for item in read_json(tmp_path / "good.json")] == ["spur-gear"]
    assert read_json(tmp_path / "broken.json.stats.json")["failed"] == "cannot start"


def test_several_shops_need_a_folder_and_at_least_one_spider(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "crawl", "--all", "-o", tmp_path / "raw.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: -o ") and "names a folder" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "crawl", "-o", tmp_path / "raw"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "name the spiders to run" in done.stderr
