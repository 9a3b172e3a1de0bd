import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import read_json, run_cli, write_json
from tests.images import banded, encode
from tests.loader_contract import load_industrial_clip


def sample(name: str, **fields) -> dict:
    identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return {
        "id": identifier,
        "image": f"{name}/{identifier}.png",
        "url": f"https://shop.example/{name}.jpg",
        "label_short": f"{name} part",
        "label_long": f"a long {name} part",
        "description": None,
        "material": "steel",
        "material_finish": None,
        "source": "shop",
        **fields,
    }


@pytest.fixture
def corpus(tmp_path):
    """Six samples with PNGs on disk, one without its image, one without a material."""
    samples = [sample(f"p{index}") for index in range(6)]
    samples.append(sample("gone"))
    samples.append(sample("bare", material=None, label_long='a "quoted"\tbare part'))
    images = tmp_path / "images"
    for index, item in enumerate(samples):
        if item["label_short"] != "gone part":
            path = images / item["image"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(banded(32 + index, 32), "PNG"))
    return write_json(tmp_path / "dataset.json", samples), images, samples


def export(*args):
    result = run_cli("export", *args)
    assert result.exit_code == 0, result.output
    return result


def test_industrial_clip_loads_and_links(corpus, tmp_path):
    dataset, images, samples = corpus
    out = tmp_path / "train"
    result = export("industrial-clip", "--dataset", dataset, "--images", images, "--out", out)
    loaded = load_industrial_clip(out)
    assert [item["id"] for item in loaded] == [s["id"] for s in samples if s["label_short"] != "gone part"]
    assert loaded[0] == samples[0]  # every field kept, as the loader picks its label field
    image = out / "ilid" / "images" / samples[0]["image"]
    assert os.stat(image).st_ino == os.stat(images / samples[0]["image"]).st_ino  # a hard link
    assert "export: read 8, kept 7, dropped 1 (image_missing 1)" in result.stderr
    assert read_json(tmp_path / "train.stats.json")["dropped"] == {"image_missing": 1}


def test_webdataset_shards_read_back_with_webdataset(corpus, tmp_path):
    import webdataset

    dataset, images, samples = corpus
    out = tmp_path / "wds"
    export("webdataset", "--dataset", dataset, "--images", images, "--out", out, "--shard-size", "3")
    sizes = read_json(out / "sizes.json")
    assert sizes == {"shard-000000.tar": 3, "shard-000001.tar": 3, "shard-000002.tar": 1}
    # open_clip's get_dataset_size: expand the shard pattern, sum sizes.json beside the first shard
    shardlist = webdataset.shardlists.expand_urls(f"{out}/shard-{{000000..000002}}.tar")
    sizes_beside = read_json(Path(os.path.dirname(shardlist[0])) / "sizes.json")
    assert sum(int(sizes_beside[os.path.basename(shard)]) for shard in shardlist) == 7
    shards = sorted(str(path) for path in out.glob("shard-*.tar"))
    read = list(
        webdataset.WebDataset(shards, shardshuffle=False).decode("pil").to_tuple("png", "txt", "json")
    )
    assert len(read) == 7
    image, caption, fields = read[0]
    assert isinstance(image, Image.Image) and image.size == (32, 32)
    assert caption == "a long p0 part" and fields == samples[0]
    with tarfile.open(shards[0]) as tar:
        assert sorted(tar.getnames()[:3]) == [f"{samples[0]['id']}.{ext}" for ext in ("json", "png", "txt")]


def test_hf_imagefolder_loads_with_datasets(corpus, tmp_path):
    import datasets

    dataset, images, samples = corpus
    out = tmp_path / "hf"
    export("hf", "--dataset", dataset, "--images", images, "--out", out, "--caption", "label_short")
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")
    assert isinstance(loaded.features["image"], datasets.Image)
    assert len(loaded) == 7
    first = next(row for row in loaded if row["id"] == samples[0]["id"])
    assert first["text"] == "p0 part" and first["material"] == "steel" and first["image"].size == (32, 32)


def test_csv_as_open_clip_reads_it(corpus, tmp_path):
    import pandas

    dataset, images, _ = corpus
    out = tmp_path / "csv"
    caption = "{label_short} made of {material}"
    export("csv", "--dataset", dataset, "--images", images, "--out", out, "--caption", caption)
    table = pandas.read_csv(out / "ilid.csv", sep="\t")  # open_clip's CsvDataset, default separator
    assert list(table.columns) == ["filepath", "title"]
    assert table["title"].tolist()[0] == "p0 part made of steel"
    assert len(table) == 6  # "bare" has no material: no caption, dropped; "gone" has no image
    assert all(Image.open(path).size[1] == 32 for path in table["filepath"])


def test_caption_falls_back_and_unknown_field_is_one_line(corpus, tmp_path):
    dataset, images, _ = corpus
    out = tmp_path / "csv"
    result = export(
        "csv", "--dataset", dataset, "--images", images, "--out", out,
        "--caption", "{label_short} made of {material}", "--caption", "label_long",
    )  # fmt: skip
    import pandas

    titles = pandas.read_csv(out / "ilid.csv", sep="\t")["title"].tolist()  # as open_clip reads it
    assert len(titles) == 7 and titles[-1] == 'a "quoted" bare part'
    assert "no_caption" not in result.stderr
    bad = run_cli("export", "csv", "--dataset", dataset, "--images", images, "--out", tmp_path / "x",
                  "--caption", "{label_short} in {colour}")  # fmt: skip
    assert bad.exit_code == 2
    assert "error: " in bad.stderr and "record 0: --caption field 'colour' is not a field" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_img2dataset_parquet_needs_no_images(corpus, tmp_path):
    import pyarrow.parquet as pq

    dataset, _, samples = corpus
    out = tmp_path / "parquet"
    export("img2dataset", "--dataset", dataset, "--out", out)
    table = pq.read_table(out / "ilid.parquet")
    assert table.column_names == ["url", "caption", "id"]
    assert table.column("url").to_pylist() == [s["url"] for s in samples]
    assert table.column("caption").to_pylist()[0] == "a long p0 part"


def split_ids(out, split):
    return {json.loads(line)["id"] for line in (out / split / "metadata.jsonl").read_text().splitlines()}


def test_splits_are_deterministic_order_free_and_keep_clusters_together(tmp_path):
    samples = [sample(f"s{index}") for index in range(300)]
    images = tmp_path / "images"
    for item in samples:
        (images / item["image"]).parent.mkdir(parents=True, exist_ok=True)
        (images / item["image"]).write_bytes(b"not decoded by the export")
    dataset = write_json(tmp_path / "dataset.json", samples)
    clusters = [
        {"kept": s["id"], "dropped": [t["id"] for t in samples[i + 1 : i + 5]], "reason": "near_duplicate"}
        for i, s in enumerate(samples)
        if i % 50 == 0
    ]
    (tmp_path / "dataset.json.clusters.jsonl").write_text("\n".join(json.dumps(c) for c in clusters) + "\n")
    split = ["--split", "train=0.8,val=0.1,test=0.1", "--seed", "3"]
    export("hf", "--dataset", dataset, "--images", images, "--out", tmp_path / "a", *split)
    shuffled = write_json(tmp_path / "shuffled" / "dataset.json", samples[::-1])
    (tmp_path / "shuffled" / "dataset.json.clusters.jsonl").write_text(
        (tmp_path / "dataset.json.clusters.jsonl").read_text()
    )
    export("hf", "--dataset", shuffled, "--images", images, "--out", tmp_path / "b", *split)
    names = ("train", "val", "test")
    a = {name: split_ids(tmp_path / "a", name) for name in names}
    assert a == {name: split_ids(tmp_path / "b", name) for name in names}
    assert sum(map(len, a.values())) == 300 and 200 < len(a["train"]) < 280 and a["val"] and a["test"]
    for cluster in clusters:
        members = {cluster["kept"], *cluster["dropped"]}
        assert sum(bool(members & ids) for ids in a.values()) == 1
    other_seed = ["--split", "train=0.8,val=0.1,test=0.1", "--seed", "4"]
    export("hf", "--dataset", dataset, "--images", images, "--out", tmp_path / "c", *other_seed)
    assert split_ids(tmp_path / "c", "train") != a["train"]


def test_export_replaces_its_own_output_whole_and_never_a_foreign_folder(corpus, tmp_path):
    dataset, images, _ = corpus
    out = tmp_path / "wds"
    export("webdataset", "--dataset", dataset, "--images", images, "--out", out, "--shard-size", "2")
    assert len(list(out.glob("shard-*.tar"))) == 4
    export("webdataset", "--dataset", dataset, "--images", images, "--out", out)
    assert sorted(p.name for p in out.iterdir()) == ["shard-000000.tar", "sizes.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".wds")]  # no temporary folder left
    foreign = tmp_path / "mine"
    (foreign / "notes.txt").parent.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = run_cli("export", "csv", "--dataset", dataset, "--images", images, "--out", foreign)
    assert result.exit_code == 2 and "is not an earlier export" in result.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_bad_split_and_missing_images_are_one_line_errors(corpus, tmp_path):
    dataset, images, _ = corpus
    for args, message in [
        (["--images", images, "--split", "train=0.9,val=0.2"], "add up to 1.1, not 1"),
        (["--images", images, "--split", "train=x"], "is not NAME=FRACTION"),
        ([], "--images is needed"),
        (["--images", images, "--caption", "{label_short!r}"], "is not a plain field name"),
    ]:
        result = run_cli("export", "hf", "--dataset", dataset, "--out", tmp_path / "o", *args)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    unknown = run_cli("export", "tfrecord", "--dataset", dataset, "--out", tmp_path / "o")
    assert unknown.exit_code == 2 and "unknown export format 'tfrecord'" in unknown.stderr


def test_png_bytes_are_exported_unchanged(corpus, tmp_path):
    import webdataset

    dataset, images, samples = corpus
    out = tmp_path / "wds"
    export("webdataset", "--dataset", dataset, "--images", images, "--out", out)
    first = next(iter(webdataset.WebDataset(str(out / "shard-000000.tar"), shardshuffle=False)))
    assert first["png"] == (images / samples[0]["image"]).read_bytes()
    assert Image.open(io.BytesIO(first["png"])).format == "PNG"


def test_hf_split_folders_become_dataset_splits(corpus, tmp_path):
    import datasets

    dataset, images, _ = corpus
    out = tmp_path / "hf"
    export(
        "hf",
        "--dataset",
        dataset,
        "--images",
        images,
        "--out",
        out,
        "--split",
        "train=0.5,val=0.25,test=0.25",
    )
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out))
    written = {
        name: len((out / folder / "metadata.jsonl").read_text().splitlines())
        for name, folder in (("train", "train"), ("validation", "val"), ("test", "test"))
        if (out / folder).exists()
    }
    assert {name: len(part) for name, part in loaded.items()} == written and all(written.values())
    assert sum(written.values()) == 7 and len(loaded) >= 2
    tiny = ["--split", "train=0.98,val=0.01,test=0.01"]  # splits left empty get no folder
    export("hf", "--dataset", dataset, "--images", images, "--out", tmp_path / "tiny", *tiny)
    assert [p.name for p in (tmp_path / "tiny").iterdir()] == ["train"]
    assert len(datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "tiny"))["train"]) == 7


def test_image_paths_that_leave_the_images_folder_are_dropped(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(encode(banded(8, 8), "PNG"))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "link.png").symlink_to(secret)  # inside by name, outside by its target
    samples = [
        sample("up", image="../secret.png"),
        sample("link", image="link.png"),
        sample("abs", image=str(secret)),
        sample("empty", image=""),
    ]
    dataset = write_json(tmp_path / "dataset.json", samples)
    out = tmp_path / "out"
    result = run_cli("export", "hf", "--dataset", dataset, "--images", tmp_path / "images", "--out", out)
    assert result.exit_code == 1  # nothing kept of a non-empty dataset, as every stage
    assert "dropped 4 (unsafe_image_path 4)" in result.stderr
    assert (out / "metadata.jsonl").read_text() == "" and not (out / "images").exists()


def test_sigterm_mid_export_leaves_no_folder_and_no_temporary(corpus, tmp_path):
    dataset, images, _ = corpus
    fifo = tmp_path / "slow.json"
    os.mkfifo(fifo)
    feed = os.open(fifo, os.O_RDWR)  # the export reads the opening and then waits for more
    os.write(feed, dataset.read_bytes()[:200])
    command = [sys.executable, "-m", "pipeline.cli", "export", "hf", "--dataset", fifo, "--images", images]
    process = subprocess.Popen([*map(str, command), "--out", str(tmp_path / "out")], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".out.*.tmp")):
            assert time.monotonic() < deadline and process.poll() is None, "the export never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        os.close(feed)
    assert process.returncode == 143, stderr  # SIGTERM, as the stage runner ends it
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))
