"""`ilid curate` on generated photos, hashed with the real imagehash: every drop reason, the clusters
file, and the multi-index search agreeing with brute force."""

import hashlib
import json
import os

import numpy as np
import pytest
from PIL import Image

from pipeline.curate.nearindex import brute_force_pairs, near_pairs
from pipeline.download.imaging import prepare_image
from pipeline.lock import OutputLock
from tests.helpers import read_json, run_cli, write_json
from tests.images import encode


def photo(seed: int, size=(400, 300)) -> Image.Image:
    """A product-photo stand-in: smooth random blocks, different for every seed."""
    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize(size, Image.Resampling.BICUBIC)


class Shop:
    """A downloaded dataset as `ilid download` leaves it: samples, 512 x 512 PNGs and the manifest."""

    def __init__(self, root):
        self.root, self.samples, self.manifest = root, [], []

    def add(self, label: str, source: bytes, size: tuple[int, int] | None = None) -> str:
        identifier = f"id{len(self.samples):02d}"
        image = f"{label.replace(' ', '_')}/{identifier}.png"
        target = self.root / "images" / image
        target.parent.mkdir(parents=True, exist_ok=True)
        prepared = prepare_image(source, 512, 512, 10**8)
        target.write_bytes(prepared.png)
        width, height = size or (prepared.source_width, prepared.source_height)
        self.samples.append(
            {
                "id": identifier,
                "image": image,
                "url": f"https://shop.example/{identifier}.jpg",
                "label_short": label,
                "label_long": f"{label} for machines",
                "source": "shop",
            }
        )
        self.manifest.append(
            {
                "id": identifier,
                "image": image,
                "width": width,
                "height": height,
                "sha256": hashlib.sha256(source).hexdigest(),
            }
        )
        return identifier

    def write(self, manifest: bool = True):
        dataset = write_json(self.root / "dataset_downloaded.json", self.samples)
        if manifest:
            lines = "".join(json.dumps(entry) + "\n" for entry in self.manifest)
            (self.root / "dataset_downloaded.json.manifest.jsonl").write_text(lines)
        return dataset


def half_size_jpeg(image: Image.Image) -> bytes:
    return encode(image.resize((image.width // 2, image.height // 2)), "JPEG", quality=80)


def test_curate_drops_each_kind_with_its_reason_and_lists_clusters(tmp_path):
    shop = Shop(tmp_path)
    original = encode(photo(1), "JPEG", quality=90)
    kept = shop.add("ball bearing", original)
    copy = shop.add("deep groove bearing", original)  # same bytes under another URL
    near = shop.add("ball bearing", half_size_jpeg(photo(1)))  # the same photo, smaller and re-encoded
    placeholder = encode(photo(2), "PNG")
    shared = [shop.add(label, placeholder) for label in ("hinge", "gear", "clamp")]
    tiny = shop.add("washer", encode(photo(3, (64, 64)), "PNG"))
    banner = shop.add("profile", encode(photo(4, (1000, 200)), "PNG"))
    fine = [shop.add(f"part {k}", encode(photo(10 + k), "PNG")) for k in range(4)]
    dataset = shop.write()
    out = tmp_path / "curated.json"

    result = run_cli(
        "curate",
        "--dataset",
        dataset,
        "--images",
        tmp_path / "images",
        "--output",
        out,
        "--rejects",
        tmp_path / "rejects.jsonl",
    )

    assert result.exit_code == 0, result.output
    assert [s["id"] for s in read_json(out)] == [kept, *fine]
    stats = read_json(tmp_path / "curated.json.stats.json")
    assert stats["dropped"] == {
        "placeholder": 3,
        "duplicate_image": 1,
        "near_duplicate": 1,
        "too_small": 1,
        "aspect": 1,
    }
    assert "curate: read 12, kept 5, dropped 7" in result.stderr
    rejects = {
        entry["record"]["id"]: entry["reason"]
        for entry in map(json.loads, (tmp_path / "rejects.jsonl").read_text().splitlines())
    }
    assert rejects == {
        copy: "duplicate_image",
        near: "near_duplicate",
        tiny: "too_small",
        banner: "aspect",
        **dict.fromkeys(shared, "placeholder"),
    }
    clusters = [
        json.loads(line) for line in (tmp_path / "curated.json.clusters.jsonl").read_text().splitlines()
    ]
    assert len(clusters) == 2
    copies, shared_image = clusters
    assert copies["kept"] == kept and copies["dropped"] == [copy, near]
    assert copies["reason"] == "near_duplicate" and copies["distances"][0] == 0
    assert copies["distances"][1] <= 6  # a different file (sha256), the same picture
    assert shared_image == {
        "kept": None,
        "dropped": shared,
        "reason": "placeholder",
        "distances": [0, 0, 0],
        "images": {i: s["image"] for i, s in zip(shared, shop.samples[3:6], strict=True)},
        "labels": dict(zip(shared, ("hinge", "gear", "clamp"), strict=True)),
    }
    kept_manifest = (tmp_path / "curated.json.manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in kept_manifest] == [kept, *fine]


def test_copies_with_one_label_are_duplicates_not_placeholders(tmp_path):
    shop = Shop(tmp_path)
    same = encode(photo(5), "PNG")
    first, *others = [shop.add("hex nut", same) for _ in range(4)]
    other = shop.add("spur gear", encode(photo(6), "PNG"))
    out = tmp_path / "curated.jsonl"
    result = run_cli("curate", "--dataset", shop.write(), "--images", tmp_path / "images", "--output", out)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [first, other]
    (cluster,) = map(json.loads, (tmp_path / "curated.jsonl.clusters.jsonl").read_text().splitlines())
    assert (cluster["kept"], cluster["dropped"], cluster["reason"]) == (first, others, "duplicate_image")


def test_without_a_manifest_exact_copies_still_go_and_size_rules_are_skipped(tmp_path):
    shop = Shop(tmp_path)
    picture = encode(photo(7), "PNG")
    first = shop.add("knob", picture)
    shop.add("handle", picture)
    tiny = shop.add("washer", encode(photo(8, (64, 64)), "PNG"))
    out = tmp_path / "curated.json"
    result = run_cli(
        "curate", "--dataset", shop.write(manifest=False), "--images", tmp_path / "images", "--output", out
    )
    assert result.exit_code == 0, result.output
    assert "no manifest" in result.stderr
    assert [s["id"] for s in read_json(out)] == [first, tiny]
    assert read_json(tmp_path / "curated.json.stats.json")["dropped"] == {"duplicate_image": 1}


@pytest.mark.parametrize("distance", [0, 3, 6, 10])
def test_multi_index_search_finds_exactly_the_brute_force_pairs(distance):
    rng = np.random.default_rng(distance)
    hashes = rng.integers(0, 2**64 - 1, 4000, dtype=np.uint64, endpoint=True)
    for source, target in rng.integers(0, len(hashes), (300, 2)):
        flips = rng.choice(64, rng.integers(0, 12), replace=False)
        hashes[target] = hashes[source] ^ np.uint64(sum(1 << int(bit) for bit in flips))
    found, expected = near_pairs(hashes, distance), brute_force_pairs(hashes, distance)
    assert len(expected[0]) > 10
    for ours, reference in zip(found, expected, strict=True):
        assert np.array_equal(ours, reference)


def test_a_rerun_hashes_only_new_images(tmp_path):
    shop = Shop(tmp_path)
    for k in range(3):
        shop.add(f"part {k}", encode(photo(20 + k), "PNG"))
    dataset, out = shop.write(), tmp_path / "curated.json"
    journal = tmp_path / "curated.json.phash.jsonl"
    command = ("curate", "--dataset", dataset, "--images", tmp_path / "images", "--output", out)
    assert run_cli(*command).exit_code == 0
    assert len(journal.read_text().splitlines()) == 3
    shop.add("part 3", encode(photo(23), "PNG"))
    shop.write()
    result = run_cli(*command)
    assert result.exit_code == 0, result.output
    assert len(journal.read_text().splitlines()) == 4  # the three known hashes were not computed again
    assert len(read_json(out)) == 4


def test_a_missing_images_folder_is_one_clear_error(tmp_path):
    shop = Shop(tmp_path)
    shop.add("hinge", encode(photo(30), "PNG"))
    result = run_cli(
        "curate", "--dataset", shop.write(), "--images", tmp_path / "nope", "--output", tmp_path / "o.json"
    )
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'nope'}: no such images folder" in result.stderr


def test_a_second_curate_on_a_held_output_stops_before_hashing(tmp_path):
    shop = Shop(tmp_path)
    shop.add("hinge", encode(photo(31), "PNG"))
    out = tmp_path / "curated.json"
    with OutputLock(out):
        result = run_cli(
            "curate", "--dataset", shop.write(), "--images", tmp_path / "images", "--output", out
        )
    assert result.exit_code == 2
    assert f"in use by another run (pid {os.getpid()})" in result.stderr
    assert not (tmp_path / "curated.json.phash.jsonl").exists()  # nothing hashed
