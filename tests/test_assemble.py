import uuid

from tests.helpers import labeled, read_json, run_cli, write_json


def postfiltered(url, short="hinge", folder="hinge"):
    return {**labeled(url, short, f"{short} long", material="steel"), "folder_name": folder}


def test_assemble_twice_is_byte_identical_and_ids_are_stable(tmp_path):
    items = write_json(tmp_path / "p.json", [postfiltered("http://a/1.jpg"), postfiltered("http://a/2.jpg")])
    dataset = tmp_path / "data" / "dataset.json"
    assert run_cli("assemble", "--file", items, "--dataset", dataset, "--source-tag", "shop").exit_code == 0
    first = dataset.read_bytes()
    result = run_cli("assemble", "--file", items, "--dataset", dataset, "--source_tag", "shop")
    assert result.exit_code == 0
    assert dataset.read_bytes() == first
    assert "dropped 2 (duplicate_url 2)" in result.stderr
    samples = read_json(dataset)
    expected_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "http://a/1.jpg"))
    assert samples[0] == {
        "id": expected_id,
        "image": f"hinge/{expected_id}.png",
        "url": "http://a/1.jpg",
        "label_short": "hinge",
        "label_long": "hinge long",
        "description": None,
        "material": "steel",
        "material_finish": None,
        "source": "shop",
    }


def test_existing_ids_are_kept_and_duplicates_inside_input_skipped(tmp_path):
    old = {
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "image": "gear/0f8fad5b-d9cb-469f-a165-70867728950e.png",
        "url": "http://a/old.jpg",
        "label_short": "gear",
        "label_long": "spur gear",
        "description": None,
        "material": None,
        "material_finish": None,
        "source": "maedler",
    }
    dataset = write_json(tmp_path / "dataset.json", [old])
    items = write_json(
        tmp_path / "p.json",
        [postfiltered("http://a/old.jpg"), postfiltered("http://a/n.jpg"), postfiltered("http://a/n.jpg")],
    )
    result = run_cli("assemble", "-i", items, "--dataset", dataset, "--source-tag", "rs")
    assert result.exit_code == 0
    samples = read_json(dataset)
    assert samples[0] == old
    assert [s["url"] for s in samples] == ["http://a/old.jpg", "http://a/n.jpg"]
    assert read_json(tmp_path / "dataset.json.stats.json")["added"] == 1


def test_invalid_dataset_is_reported_not_overwritten(tmp_path):
    dataset = write_json(tmp_path / "dataset.json", [{"id": "x"}])
    before = dataset.read_bytes()
    items = write_json(tmp_path / "p.json", [postfiltered("http://a/1.jpg")])
    result = run_cli("assemble", "-i", items, "--dataset", dataset, "--source-tag", "rs")
    assert result.exit_code == 2
    assert "dataset.json: record 1: image: Field required" in result.stderr
    assert dataset.read_bytes() == before
