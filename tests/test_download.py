import io
import uuid

import pytest
from PIL import Image

from pipeline.download.config import DownloadConfig, FetchConfig
from pipeline.download.fetch import forbids_ai_use
from pipeline.download.stage import run_download
from pipeline.httputil import retry_after_seconds
from pipeline.paths import safe_image_path
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import read_json, run_cli, write_json
from tests.images import banded, encode, png_bomb

JPEG = encode(banded(800, 600), "JPEG")
PNG = {"Content-Type": "image/png"}
JPG = {"Content-Type": "image/jpeg"}


def sample(url: str, image: str | None = None, **fields) -> dict:
    identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
    return {
        "id": identifier,
        "image": image or f"part/{identifier}.png",
        "url": url,
        "label_short": "part",
        "label_long": "a part",
        "description": None,
        "material": None,
        "material_finish": None,
        "source": "test",
        **fields,
    }


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


def download(tmp_path, samples, **overrides):
    dataset = write_json(tmp_path / "dataset.json", samples)
    fetch = FetchConfig(**{"timeout": 2.0, "retries": 2, "backoff": 0.01, **overrides.pop("fetch", {})})
    config = DownloadConfig(
        dataset=dataset,
        folder=tmp_path / "images",
        downloaded=tmp_path / "downloaded.json",
        fetch=fetch,
        **overrides,
    )
    return config, run_download(config)


def failure_reasons(config) -> dict[str, str]:
    return {f["url"].rsplit("/", 1)[-1]: f["reason"] for f in read_json(config.failures)}


def test_hostile_answers_each_fail_with_their_reason(tmp_path, server):
    server.routes.update(
        {
            "/ok.jpg": Reply(body=JPEG, headers=JPG),
            "/gone.jpg": Reply(404),
            "/broken.jpg": Reply(500),
            "/flaky.jpg": [Reply(503, headers={"Retry-After": "0"}), Reply(body=JPEG, headers=JPG)],
            "/page.jpg": Reply(body=b"<html>shop</html>", headers={"Content-Type": "text/html"}),
            "/corrupt.jpg": Reply(body=b"\xff\xd8\xff garbage", headers=JPG),
            "/bomb.png": Reply(body=png_bomb(), headers=PNG),
            "/slow.jpg": Reply(body=JPEG, headers=JPG, delay=1.5),
            "/huge.jpg": Reply(body=b"\xff" * 300_000, headers=JPG),
            "/stream.jpg": Reply(body=b"\xff" * 300_000, headers=JPG, content_length=False),
            "/moved.jpg": Reply(301, headers={"Location": "/ok.jpg"}),
            "/loop.jpg": Reply(302, headers={"Location": "/loop.jpg"}),
            "/noai.jpg": Reply(body=JPEG, headers={**JPG, "X-Robots-Tag": "noindex, noai"}),
        }
    )
    urls = [server.url(p) for p in server.routes] + ["file:///etc/passwd", "ftp://127.0.0.1/a.jpg"]
    config, summary = download(
        tmp_path, [sample(u) for u in urls], fetch={"timeout": 0.5, "max_bytes": 200_000, "retries": 1}
    )
    assert failure_reasons(config) == {
        "gone.jpg": "not_found",
        "broken.jpg": "server_error",
        "page.jpg": "not_an_image",
        "corrupt.jpg": "not_decodable",
        "bomb.png": "too_many_pixels",
        "slow.jpg": "timeout",
        "huge.jpg": "too_large",
        "stream.jpg": "too_large",
        "loop.jpg": "too_many_redirects",
        "noai.jpg": "x_robots_noai",
        "passwd": "unsupported_url",
        "a.jpg": "unsupported_url",
    }
    downloaded = read_json(tmp_path / "downloaded.json")
    assert [s["url"].rsplit("/", 1)[-1] for s in downloaded] == ["ok.jpg", "flaky.jpg", "moved.jpg"]
    assert summary.kept == 3 and summary.dropped["not_found"] == 1
    assert server.counts()["/flaky.jpg"] == 2 and server.counts()["/broken.jpg"] == 2
    for item in downloaded:
        image = Image.open(tmp_path / "images" / item["image"])
        assert (image.size, image.mode) == ((512, 512), "RGB")
    status = {f["url"].rsplit("/", 1)[-1]: f["status"] for f in read_json(config.failures)}
    assert status["gone.jpg"] == 404 and status["broken.jpg"] == 500


def test_noai_can_be_ignored_by_flag(tmp_path, server):
    server.routes["/noai.jpg"] = Reply(body=JPEG, headers={**JPG, "X-Robots-Tag": "otherbot: noimageai"})
    _, summary = download(tmp_path, [sample(server.url("/noai.jpg"))], fetch={"respect_noai": False})
    assert summary.kept == 1


def test_unsafe_image_paths_are_refused_and_nothing_lands_outside(tmp_path, server):
    server.routes["/ok.jpg"] = Reply(body=JPEG, headers=JPG)
    url = server.url("/ok.jpg")
    samples = [
        sample(url + "?1", image="../escape.png"),
        sample(url + "?2", image="/tmp/absolute.png"),
        sample(url + "?3", image="a/../../escape2.png"),
        sample(url + "?4", image="fine/x.png"),
    ]
    _, summary = download(tmp_path, samples)
    assert summary.dropped["unsafe_image_path"] == 3 and summary.kept == 1
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "escape2.png").exists()
    assert sorted(p.name for p in (tmp_path / "images").rglob("*.png")) == ["x.png"]
    assert server.requests == ["/ok.jpg?4"]


def test_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "link").symlink_to(tmp_path)
    assert safe_image_path(tmp_path / "images", "link/x.png") is None
    assert (
        safe_image_path(tmp_path / "images", "part/x.png")
        == (tmp_path / "images" / "part" / "x.png").resolve()
    )


def test_fallback_rescues_a_dead_link_and_the_manifest_names_it(tmp_path, server):
    with LocalServer() as archive:
        archive.routes["/web/2024id_/" + server.url("/moved-away.jpg")] = Reply(body=JPEG, headers=JPG)
        config, summary = download(
            tmp_path, [sample(server.url("/moved-away.jpg"))], fallback=archive.base + "/web/2024id_/{url}"
        )
    assert summary.kept == 1
    (entry,) = read_json(config.manifest)
    assert entry["url"] == archive.base + "/web/2024id_/" + server.url("/moved-away.jpg")
    assert (entry["width"], entry["height"]) == (800, 600)
    import hashlib

    assert entry["sha256"] == hashlib.sha256(JPEG).hexdigest()


def test_second_run_makes_no_request_and_keeps_the_manifest(tmp_path, server):
    server.routes.update({f"/{i}.jpg": Reply(body=JPEG, headers=JPG) for i in range(6)})
    samples = [sample(server.url(f"/{i}.jpg")) for i in range(6)]
    config, _ = download(tmp_path, samples, workers=3)
    requests_before = len(server.requests)
    first_manifest = read_json(config.manifest)
    _, summary = download(tmp_path, samples, workers=3)
    assert len(server.requests) == requests_before
    assert summary.notes == {"present": 6} and summary.kept == 6
    assert read_json(tmp_path / "downloaded.json.manifest.jsonl") == first_manifest
    assert [m["id"] for m in first_manifest] == [s["id"] for s in samples]  # input order


def test_replace_fetches_again(tmp_path, server):
    server.routes["/a.jpg"] = Reply(body=JPEG, headers=JPG)
    download(tmp_path, [sample(server.url("/a.jpg"))])
    download(tmp_path, [sample(server.url("/a.jpg"))], replace=True)
    assert server.counts()["/a.jpg"] == 2


def test_killed_run_resumes_from_the_journal(tmp_path, server):
    server.routes.update({f"/{i}.jpg": Reply(body=JPEG, headers=JPG) for i in range(4)})
    samples = [sample(server.url(f"/{i}.jpg")) for i in range(4)]
    config, _ = download(tmp_path, samples[:2])
    # as if killed after two images: the journal has their lines (one torn), the rest is missing
    with config.manifest.open("ab") as journal:
        journal.write(b'{"id": "torn')
    config, summary = download(tmp_path, samples)
    assert summary.notes == {"present": 2, "written": 2}
    assert [m["id"] for m in read_json(config.manifest)] == [s["id"] for s in samples]


def test_cli_with_original_flags(tmp_path, server):
    server.routes["/a.png"] = Reply(body=encode(banded(300, 600), "PNG"), headers=PNG)
    dataset = write_json(tmp_path / "ilid.json", [sample(server.url("/a.png"))])
    result = run_cli(
        "download",
        "--dataset",
        dataset,
        "--folder",
        tmp_path / "img",
        "--image_width",
        "256",
        "--image_height",
        "128",
        "--dataset-downloaded",
        tmp_path / "done.json",
    )
    assert result.exit_code == 0, result.output
    (item,) = read_json(tmp_path / "done.json")
    assert Image.open(tmp_path / "img" / item["image"]).size == (256, 128)
    assert "download: read 1, kept 1, dropped 0, written 1" in result.stderr


def test_retry_after_parsing_and_noai_tokens():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
    assert forbids_ai_use("noindex, NoAI") and forbids_ai_use("googlebot: noimageai")
    assert not forbids_ai_use("noindex, nofollow") and not forbids_ai_use(None)


def test_written_png_decodes_from_bytes(tmp_path, server):
    server.routes["/a.webp"] = Reply(
        body=encode(banded(64, 64), "WEBP"), headers={"Content-Type": "image/webp"}
    )
    config, _ = download(tmp_path, [sample(server.url("/a.webp"))])
    (item,) = read_json(config.downloaded)
    data = (tmp_path / "images" / item["image"]).read_bytes()
    assert Image.open(io.BytesIO(data)).format == "PNG"
