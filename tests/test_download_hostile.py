"""The download stage against hostile servers, paths and signals, with real processes; every wait is
bounded."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from pipeline.download.config import DownloadConfig, FetchConfig
from pipeline.download.layout import default_downloaded
from pipeline.download.stage import run_download
from pipeline.errors import NothingKept
from pipeline.jsonio import journal_entries
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import read_json, run_cli, write_json
from tests.images import encode
from tests.test_download import JPEG, JPG, sample
from tests.test_runner import TIMEOUT, finish, holds_lock, ilid, wait_for


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


def downloaded_of(dataset: Path) -> Path:
    """Where a download writes its samples when its --folder lies beside the dataset."""
    return default_downloaded(dataset.parent / "images")


def entries_by_image(manifest: Path) -> dict[str, dict]:
    return {entry["image"]: entry for entry in journal_entries(manifest)}


def pngs(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*.png")}


def test_second_download_is_refused_or_waits_and_fetches_nothing_twice(tmp_path, server):
    gate = threading.Event()

    def gated(handler):
        gate.wait(TIMEOUT)
        return Reply(body=JPEG, headers=JPG)

    server.routes.update({f"/{i}.jpg": gated for i in range(4)})
    dataset = write_json(tmp_path / "ds.json", [sample(server.url(f"/{i}.jpg")) for i in range(4)])
    images = tmp_path / "images"
    first = ilid("download", "--dataset", dataset, "--folder", images, "--workers", "2")
    wait_for(lambda: holds_lock(downloaded_of(dataset), first), "the first download to lock its output")

    code, stderr = finish(ilid("download", "--dataset", dataset, "--folder", images))
    assert (code, stderr.strip()) == (
        2,
        f"error: {downloaded_of(dataset)}: in use by another run (pid {first.pid}); "
        "wait for it to finish, or pass --wait",
    )
    elsewhere = tmp_path / "other.json"
    code, stderr = finish(
        ilid("download", "--dataset", dataset, "--folder", images, "--dataset-downloaded", elsewhere)
    )
    assert code == 2 and f"error: {images}: in use by another run (pid {first.pid})" in stderr

    second = ilid("download", "--dataset", dataset, "--folder", images, "--wait")
    time.sleep(1.0)
    assert second.poll() is None
    gate.set()
    assert finish(first)[0] == 0
    code, stderr = finish(second)
    assert code == 0 and "kept 4, dropped 0, present 4" in stderr
    assert sorted(server.counts().values()) == [1, 1, 1, 1]
    assert len(read_json(downloaded_of(dataset))) == 4


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_every_image_on_disk_keeps_its_manifest_entry_across_signals(tmp_path, server, signum):
    server.routes.update({f"/{i}.jpg": Reply(body=JPEG, headers=JPG, delay=0.1) for i in range(60)})
    samples = [sample(server.url(f"/{i}.jpg")) for i in range(60)]
    dataset = write_json(tmp_path / "ds.json", samples)
    images = tmp_path / "images"
    manifest = Path(f"{downloaded_of(dataset)}.manifest.jsonl")
    process = ilid("download", "--dataset", dataset, "--folder", images, "--workers", "4")
    wait_for(lambda: len(pngs(images)) >= 8, "some images on disk")
    process.send_signal(signum)
    code, _ = finish(process)
    assert code == (130 if signum == signal.SIGINT else -signal.SIGKILL)
    on_disk = pngs(images)
    assert 8 <= len(on_disk) < 60
    assert on_disk <= set(entries_by_image(manifest))

    code, stderr = finish(ilid("download", "--dataset", dataset, "--folder", images, "--workers", "4"))
    assert code == 0, stderr
    assert [s["id"] for s in read_json(downloaded_of(dataset))] == [s["id"] for s in samples]
    assert [m["id"] for m in read_json(manifest)] == [s["id"] for s in samples]
    assert pngs(images) == {s["image"] for s in samples}
    assert not [p for p in images.rglob("*") if p.name.endswith(".tmp")]


def download(tmp_path, samples, **overrides):
    dataset = write_json(tmp_path / "dataset.json", samples)
    fetch = FetchConfig(**{"timeout": 2.0, "retries": 0, "backoff": 0.01, **overrides.pop("fetch", {})})
    config = DownloadConfig(
        dataset=dataset,
        folder=tmp_path / "images",
        downloaded=tmp_path / "done.json",
        fetch=fetch,
        **overrides,
    )
    return config, run_download(config, rejects=tmp_path / "rejects.json")


def test_manifest_names_the_url_that_finally_served_the_bytes(tmp_path, server):
    server.routes["/final.jpg"] = Reply(body=JPEG, headers=JPG)
    server.routes["/moved.jpg"] = Reply(301, headers={"Location": "/hop.jpg"})
    server.routes["/hop.jpg"] = Reply(302, headers={"Location": "/final.jpg"})
    config, _ = download(tmp_path, [sample(server.url("/moved.jpg"))])
    (entry,) = read_json(config.manifest)
    assert entry["url"] == server.url("/final.jpg")


class DripServer:
    """Answers every connection one byte at a time: headers too when `headers` is False."""

    def __init__(self, headers_at_once: bool):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.headers_at_once = headers_at_once
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/drip.jpg"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n"
        with connection:
            try:
                connection.recv(65536)
                if self.headers_at_once:
                    connection.sendall(head)
                for byte in (b"" if self.headers_at_once else head) + b"\xff" * 100_000:
                    if self.stop.wait(0.05):
                        return
                    connection.sendall(bytes([byte]) if isinstance(byte, int) else byte)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.mark.parametrize("headers_at_once", [True, False], ids=["slow-body", "slow-headers"])
def test_timeout_bounds_the_whole_request_against_a_slow_drip(tmp_path, headers_at_once):
    drip = DripServer(headers_at_once)
    try:
        started = time.monotonic()
        _, summary = download(tmp_path, [sample(drip.url)], fetch={"timeout": 1.0})
        elapsed = time.monotonic() - started
    except NothingKept as error:
        elapsed, summary = time.monotonic() - started, error.summary
    finally:
        drip.close()
    assert summary.dropped == {"timeout": 1}
    assert elapsed < 2.5


def test_image_paths_must_name_a_file_strictly_inside_and_the_run_goes_on(tmp_path, server):
    server.routes["/ok.jpg"] = Reply(body=JPEG, headers=JPG)
    url = server.url("/ok.jpg")
    (tmp_path / "images" / "taken").mkdir(parents=True)
    hostile = [".", "a/..", "x" * 300 + ".png", "part/" + "é" * 128 + ".png", "taken"]
    samples = [sample(f"{url}?{i}", image=image) for i, image in enumerate(hostile)]
    samples += [sample(f"{url}?ok", image="fine/x.png"), sample(f"{url}?ok2", image="y" * 255)]
    config, summary = download(tmp_path, samples)
    assert summary.kept == 2 and summary.dropped == {"unsafe_image_path": 4, "write_failed": 1}
    assert (tmp_path / "images").is_dir() and (tmp_path / "images" / "taken").is_dir()
    written = {"fine/x.png", "y" * 255}
    assert {
        str(p.relative_to(tmp_path / "images")) for p in (tmp_path / "images").rglob("*") if p.is_file()
    } == written
    assert {entry["image"] for entry in read_json(config.manifest)} == written
    rejects = {r["record"]["image"]: r["reason"] for r in read_json(tmp_path / "rejects.json")}
    assert rejects["taken"] == "write_failed" and rejects["."] == "unsafe_image_path"
    details = {f["id"]: f["detail"] for f in read_json(config.failures)}
    assert "over 255 bytes" in details[samples[2]["id"]] and "over 255 bytes" in details[samples[3]["id"]]


def test_all_failed_exits_1_after_the_summary_and_says_connection_refused(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    dataset = write_json(tmp_path / "ds.json", [sample(f"http://127.0.0.1:{port}/a.jpg")])
    code, stderr = finish(
        ilid("download", "--dataset", dataset, "--folder", tmp_path / "img", "--retries", "0")
    )
    assert code == 1
    assert "download: read 1, kept 0, dropped 1 (unreachable 1)" in stderr
    (failure,) = read_json(Path(f"{downloaded_of(dataset)}.failures.jsonl"))
    assert failure["detail"] == "unreachable: connection refused"


def test_download_and_label_take_rejects_and_skip_invalid(tmp_path, server):
    server.routes["/ok.jpg"] = Reply(body=JPEG, headers=JPG)
    broken = {"id": "x", "url": server.url("/ok.jpg")}  # no image, no labels
    dataset = write_json(
        tmp_path / "ds.json", [broken, sample(server.url("/ok.jpg")), sample(server.url("/gone.jpg"))]
    )
    result = run_cli(
        "download",
        "--dataset",
        dataset,
        "--folder",
        tmp_path / "img",
        "--rejects",
        tmp_path / "rej.json",
        "--skip-invalid",
        "--retries",
        "0",
    )
    assert result.exit_code == 0, result.output
    reasons = [r["reason"] for r in read_json(tmp_path / "rej.json")]
    assert reasons[0].startswith("invalid: image") and reasons[1:] == ["not_found"]

    items = write_json(
        tmp_path / "raw.json", [{"url": "u"}, {"url": "v", "web": {"label": "Hinge", "data": ["steel"]}}]
    )
    result = run_cli(
        "label",
        "-i",
        items,
        "-o",
        tmp_path / "labeled.json",
        "--backend",
        "rules",
        "--rejects",
        tmp_path / "label_rejects.json",
        "--skip-invalid",
    )
    assert result.exit_code == 0, result.output
    assert [item["url"] for item in read_json(tmp_path / "labeled.json")] == ["v"]
    assert [r["record"]["url"] for r in read_json(tmp_path / "label_rejects.json")] == ["u"]


MEMORY_PROBE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


HUGE_IMAGES = 16  # each decodes to 750 MB at its peak: at the default 16 workers, 12 GB unbounded


def test_huge_images_at_once_stay_under_2_gb(tmp_path, server):
    image = Image.new("RGBA", (7000, 7000), (40, 90, 200, 128))
    image.paste((250, 20, 20, 255), (0, 0, 7000, 1750))
    huge = encode(image, "PNG", compress_level=1)
    del image
    server.routes.update(
        {f"/{i}.png": Reply(body=huge, headers={"Content-Type": "image/png"}) for i in range(HUGE_IMAGES)}
    )
    dataset = write_json(tmp_path / "ds.json", [sample(server.url(f"/{i}.png")) for i in range(HUGE_IMAGES)])
    command = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "download",
        "--dataset",
        str(dataset),
        "--folder",
        str(tmp_path / "img"),
    ]
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, *command],
        capture_output=True,
        text=True,
        timeout=240,
        env=os.environ,
    )
    assert probe.returncode == 0, probe.stderr
    peak_mib = int(probe.stdout) / 1024
    assert peak_mib < 2048
    assert len(pngs(tmp_path / "img")) == HUGE_IMAGES


def test_a_killed_runs_temporary_images_are_removed_by_the_next_run(tmp_path, server):
    server.routes["/a.jpg"] = Reply(body=JPEG, headers=JPG)
    stale = tmp_path / "images" / "part" / ".x.png.k3j_9zqa.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half an image")
    kept = tmp_path / "images" / "part" / "notes.tmp"
    kept.write_bytes(b"not ours")
    download(tmp_path, [sample(server.url("/a.jpg"))])
    assert not stale.exists() and kept.exists()


def test_an_image_on_disk_without_its_manifest_entry_is_fetched_again(tmp_path, server):
    server.routes.update({"/a.jpg": Reply(body=JPEG, headers=JPG), "/b.jpg": Reply(body=JPEG, headers=JPG)})
    samples = [sample(server.url("/a.jpg")), sample(server.url("/b.jpg"))]
    config, _ = download(tmp_path, samples)
    lines = config.manifest.read_bytes().splitlines()
    config.manifest.write_bytes(lines[0] + b"\n")  # as a run before journaling left it: b's entry lost
    config, summary = download(tmp_path, samples)
    assert summary.notes == {"present": 1, "written": 1}
    assert server.counts() == {"/a.jpg": 1, "/b.jpg": 2}
    assert [entry["id"] for entry in read_json(config.manifest)] == [s["id"] for s in samples]
