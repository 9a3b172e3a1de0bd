"""`ilid import` and `ilid mvtec-layout` on small trees of each published layout."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from tests.anomaly_trees import (
    kolektorsdd2_tree,
    kolektorsdd_tree,
    mvtec_tree,
    photo,
    save,
    visa_tree,
)
from tests.helpers import read_json, run_cli
from tests.images import png_bomb


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def reddish(image: np.ndarray) -> np.ndarray:
    """The defect's pixels: red in colour images, darker than the grey background in grey ones."""
    if image.ndim == 2:
        return image < 104
    red, green = image[..., 0].astype(int), image[..., 1].astype(int)
    return (red - green) > 100


def assert_binary_and_over_the_defect(image_path: Path, mask_path: Path) -> None:
    """The mask holds only 0 and 255, and marks exactly the image's red pixels (up to resampling)."""
    mask = pixels(mask_path)
    assert set(np.unique(mask)) <= {0, 255}
    image = pixels(image_path)
    assert mask.shape == image.shape[:2]
    marked, red = mask == 255, reddish(image)
    assert marked.any()
    overlap = (marked & red).sum() / (marked | red).sum()
    assert overlap > 0.9, overlap


def imported(tmp_path: Path, format: str, root: Path, *flags: str) -> tuple[list[dict], Path]:
    images = tmp_path / "images"
    output = tmp_path / "ds.json"
    result = run_cli(
        "import",
        format,
        root,
        "--output",
        output,
        "--images",
        images,
        "--rejects",
        tmp_path / "rej.jsonl",
        *flags,
    )
    assert result.exit_code == 0, result.output
    return read_json(output), images


def test_mvtec_import_records_masks_and_rejects(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    samples, images = imported(tmp_path, "mvtec", root, "--image-width", "48", "--image-height", "48")
    by_url = {sample["url"]: sample for sample in samples}
    assert len(samples) == 2 * 5 == len(by_url)

    scratch = by_url["mvtec:metal_nut/test/scratch/001.png"]
    assert scratch["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "mvtec:metal_nut/test/scratch/001.png"))
    assert scratch["label_short"] == "metal nut"
    assert scratch["label_long"] == "metal nut with scratch"
    assert scratch["material"] == "steel" and scratch["material_finish"] is None
    assert scratch["split"] == "test" and scratch["defect"] == "scratch" and scratch["source"] == "mvtec"
    assert scratch["description"].startswith("An inspection image of a metal nut with scratch, made of steel")
    assert scratch["image"] == f"metal_nut/{scratch['id']}.png"
    assert scratch["mask"] == f"metal_nut/{scratch['id']}_mask.png"
    assert Image.open(images / scratch["image"]).size == (48, 48)
    assert_binary_and_over_the_defect(images / scratch["image"], images / scratch["mask"])

    good = by_url["mvtec:bottle/train/good/000.png"]
    assert good["label_long"] == "defect-free bottle" and good["material"] == "glass"
    assert good["defect"] is None and good["mask"] is None and good["split"] == "train"

    rejects = {entry["reason"]: entry["record"] for entry in read_json(tmp_path / "rej.jsonl")}
    assert rejects["missing_mask"] == {"image": "metal_nut/test/color/000.png"}
    assert rejects["mask_without_image"] == {"mask": "metal_nut/ground_truth/flip/000_mask.png"}
    assert rejects["not_decodable"]["image"] == "metal_nut/test/good/001.png"
    stats = read_json(Path(f"{tmp_path / 'ds.json'}.stats.json"))
    assert stats["kept"] == 10 and stats["masks"] == 4 and sum(stats["dropped"].values()) == 3


def test_mask_padding_follows_the_image_edge(tmp_path):
    """The defect touches the image's bottom edge: the image's padded margin repeats it, and so does the
    mask's, so each mask pixel still says whether the image pixel there shows the defect."""
    root = mvtec_tree(tmp_path / "mvtec")
    samples, images = imported(tmp_path, "mvtec", root, "--image-width", "64", "--image-height", "64")
    scratch = next(s for s in samples if s["url"] == "mvtec:bottle/test/scratch/000.png")
    mask, image = pixels(images / scratch["mask"]), pixels(images / scratch["image"])
    # 64x32 fitted into 64x64: 16 rows of padding above and below; the block spans rows 20-32 of 32.
    assert (mask[:36] == 0).all()  # the top margin repeats row 0, which is defect-free
    assert (mask[36:, 40:] == 255).all() and (mask[36:, :40] == 0).all()
    assert reddish(image[48:, 41:]).all() and not reddish(image[48:, :39]).any()
    assert_binary_and_over_the_defect(images / scratch["image"], images / scratch["mask"])


def test_keep_size_keeps_the_upright_size_of_a_turned_photo(tmp_path):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored 40 x 20, shown 20 x 40
    path = tmp_path / "mvtec" / "bolt" / "train" / "good" / "000.jpg"
    path.parent.mkdir(parents=True)
    photo(40, 20).save(path, format="JPEG", exif=exif)
    samples, images = imported(tmp_path, "mvtec", tmp_path / "mvtec", "--keep-size")
    assert Image.open(images / samples[0]["image"]).size == (20, 40)


def test_keep_size_keeps_pixels_where_they_were(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    samples, images = imported(tmp_path, "mvtec", root, "--keep-size", "--source-tag", "mvtec-ad")
    scratch = next(s for s in samples if s["url"] == "mvtec-ad:bottle/test/scratch/000.png")
    assert scratch["source"] == "mvtec-ad"
    assert Image.open(images / scratch["image"]).size == (64, 32)
    source_mask = pixels(root / "bottle" / "ground_truth" / "scratch" / "000_mask.png")
    assert (pixels(images / scratch["mask"]) == source_mask).all()


def test_imported_dataset_passes_validate_stats_and_report(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    _, images = imported(tmp_path, "mvtec", root, "--image-width", "32", "--image-height", "32")
    dataset = tmp_path / "ds.json"
    result = run_cli("validate", dataset, "--as", "dataset")
    assert result.exit_code == 0, result.output
    assert "10 dataset records, 10 valid" in result.output
    assert run_cli("stats", "--dataset", dataset, "--out", tmp_path / "stats").exit_code == 0
    stats = read_json(tmp_path / "stats" / "stats.json")
    assert stats["samples"] == 10 and stats["sources"] == {"mvtec": 10}
    assert (
        run_cli("report", "--dataset", dataset, "--images", images, "--out", tmp_path / "r.html").exit_code
        == 0
    )
    assert "metal nut with scratch" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("format", "build", "expected"),
    [
        ("mvtec", lambda root: root.mkdir(), "<category>/train/good/*.png"),
        ("visa", mvtec_tree, "split_csv/1cls.csv"),
        ("kolektorsdd", visa_tree, "kosNN/PartK.jpg"),
        ("kolektorsdd2", kolektorsdd_tree, "train/NNNNN.png"),
    ],
)
def test_a_folder_of_another_layout_is_one_line_and_exit_2(tmp_path, format, build, expected):
    root = tmp_path / "data"
    build(root)
    output = tmp_path / "ds.json"
    result = run_cli("import", format, root, "--output", output, "--images", tmp_path / "images")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: {root}: not a {format} layout: expected ")
    assert expected in line and "found " in line
    assert not output.exists()
    layout = run_cli("mvtec-layout", format, root, "--out", tmp_path / "tree") if format != "mvtec" else None
    if layout is not None:
        assert layout.exit_code == 2
        assert not (tmp_path / "tree").exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tree")] == []


def test_mpdd_read_as_mvtec_gets_metal_and_the_colour_its_category_names(tmp_path):
    root = tmp_path / "mpdd"
    save(photo(32, 32), root / "bracket_black" / "train" / "good" / "000.png")
    save(photo(32, 32), root / "tubes" / "train" / "good" / "000.png")
    samples, _ = imported(tmp_path, "mvtec", root, "--source-tag", "mpdd")
    by_url = {sample["url"]: sample for sample in samples}
    bracket = by_url["mpdd:bracket_black/train/good/000.png"]
    assert (bracket["label_short"], bracket["material"], bracket["material_finish"]) == (
        "bracket",
        "metal",
        "black",
    )
    assert by_url["mpdd:tubes/train/good/000.png"]["material"] == "metal"


def test_visa_import_names_defects_from_the_class_table(tmp_path):
    root = visa_tree(tmp_path / "visa")
    samples, images = imported(tmp_path, "visa", root, "--image-width", "60", "--image-height", "60")
    by_url = {sample["url"]: sample for sample in samples}
    assert len(samples) == 5
    one = by_url["visa:candle/Data/Images/Anomaly/000.JPG"]
    assert one["defect"] == "chunk of wax missing"
    assert one["label_long"] == "candle with chunk of wax missing" and one["material"] == "wax"
    two = by_url["visa:candle/Data/Images/Anomaly/001.JPG"]
    assert two["defect"] == "chunk of wax missing and extra wax in candle"
    assert_binary_and_over_the_defect(images / two["image"], images / two["mask"])
    splits = sorted((s["split"], s["defect"] is None) for s in samples)
    assert splits == [("test", False), ("test", False), ("test", True), ("train", True), ("train", True)]


def mvtec_files(tree: Path) -> set[str]:
    return {path.relative_to(tree).as_posix() for path in tree.rglob("*") if path.is_file()}


def anomalib_pairs(category: Path) -> list[tuple[Path, Path]]:
    """Anomalib's MVTec rule: sorted anomalous test images pair with sorted ground-truth masks, and each
    image's stem must be part of its mask's stem."""
    images = sorted(p for p in (category / "test").rglob("*") if p.is_file() and p.parent.name != "good")
    masks = sorted(p for p in (category / "ground_truth").rglob("*") if p.is_file())
    assert len(images) == len(masks)
    for image, mask in zip(images, masks, strict=True):
        assert image.stem in mask.stem
    return list(zip(images, masks, strict=True))


def test_visa_mvtec_layout_is_prepare_data_1cls(tmp_path):
    root = visa_tree(tmp_path / "visa")
    tree = tmp_path / "visa_pytorch"
    result = run_cli("mvtec-layout", "visa", root, "--out", tree)
    assert result.exit_code == 0, result.output
    assert mvtec_files(tree) == {
        "candle/train/good/0000.JPG",
        "candle/train/good/0001.JPG",
        "candle/test/good/0002.JPG",
        "candle/test/bad/000.JPG",
        "candle/test/bad/001.JPG",
        "candle/ground_truth/bad/000.png",
        "candle/ground_truth/bad/001.png",
    }
    source = root / "candle" / "Data" / "Images" / "Anomaly" / "001.JPG"
    assert (tree / "candle/test/bad/001.JPG").read_bytes() == source.read_bytes()  # copied as is
    for image, mask in anomalib_pairs(tree / "candle"):
        assert set(np.unique(pixels(mask))) == {0, 255}
        assert_binary_and_over_the_defect(image, mask)
    source_mask = pixels(root / "candle" / "Data" / "Masks" / "Anomaly" / "001.png")
    assert (pixels(tree / "candle/ground_truth/bad/001.png") == np.where(source_mask != 0, 255, 0)).all()


def layout_of(tmp_path: Path, format: str, root: Path, name: str, *flags: str) -> Path:
    tree = tmp_path / name
    result = run_cli(
        "mvtec-layout", format, root, "--out", tree, "--rejects", tmp_path / f"{name}.rej.jsonl", *flags
    )
    assert result.exit_code == 0, result.output
    return tree


def test_kolektorsdd_split_is_seeded_and_laid_out_as_the_preprocessing(tmp_path):
    root = kolektorsdd_tree(tmp_path / "ksdd", folders=4, parts=4)  # 4 defective, 12 defect-free
    first = layout_of(tmp_path, "kolektorsdd", root, "a", "--seed", "0")
    again = layout_of(tmp_path, "kolektorsdd", root, "b", "--seed", "0")
    other = layout_of(tmp_path, "kolektorsdd", root, "c", "--seed", "1")
    files = mvtec_files(first)
    assert files == mvtec_files(again)
    assert files != mvtec_files(other)
    category = first / "kolektorsdd"
    defects = sorted(p.name for p in (category / "test" / "defect").iterdir())
    assert defects == [f"kos{n:02d}_Part1.png" for n in range(1, 5)]
    assert sorted(p.name for p in (category / "ground_truth" / "defect").iterdir()) == [
        f"kos{n:02d}_Part1_mask.png" for n in range(1, 5)
    ]
    assert len(list((category / "test" / "good").iterdir())) == 4
    assert len(list((category / "train" / "good").iterdir())) == 8
    assert not any("Part1" in p.name for p in (category / "train" / "good").iterdir())
    for image, mask in anomalib_pairs(category):
        assert_binary_and_over_the_defect(image, mask)
    assert Image.open(category / "test" / "defect" / "kos01_Part1.png").format == "PNG"


def test_kolektorsdd_resize_keeps_masks_binary_and_aligned(tmp_path):
    root = kolektorsdd_tree(tmp_path / "ksdd", folders=2, parts=3)
    tree = layout_of(tmp_path, "kolektorsdd", root, "tree", "--resize", "50x124")
    for image, mask in anomalib_pairs(tree / "kolektorsdd"):
        assert Image.open(image).size == Image.open(mask).size == (50, 124)
        assert_binary_and_over_the_defect(image, mask)


def test_a_decompression_bomb_is_a_reject_and_the_layout_goes_on(tmp_path):
    root = kolektorsdd2_tree(tmp_path / "ksdd2")
    (root / "train" / "10000.png").write_bytes(png_bomb())  # defect-free, so the image is decoded
    tree = layout_of(tmp_path, "kolektorsdd2", root, "tree")
    rejects = {entry["reason"] for entry in read_json(tmp_path / "tree.rej.jsonl")}
    assert "too_many_pixels" in rejects
    assert [p.name for p in (tree / "kolektorsdd2" / "train" / "good").iterdir()] == ["10001.png"]


def test_kolektorsdd_import_uses_the_same_seeded_split(tmp_path):
    root = kolektorsdd_tree(tmp_path / "ksdd", folders=4, parts=4)
    samples, _ = imported(tmp_path, "kolektorsdd", root, "--seed", "3")
    tree = layout_of(tmp_path, "kolektorsdd", root, "tree", "--seed", "3")
    train = {
        s["url"].split(":")[1].replace("/", "_").replace(".jpg", ".png")
        for s in samples
        if s["split"] == "train"
    }
    assert train == {p.name for p in (tree / "kolektorsdd" / "train" / "good").iterdir()}
    defective = [s for s in samples if s["defect"]]
    assert len(defective) == 4 and all(
        s["label_long"] == "electrical commutator with defect" for s in defective
    )
    assert defective[0]["description"] == (
        "An inspection image of an electrical commutator with defect, from the test split of KolektorSDD."
    )


def test_kolektorsdd2_keeps_its_split_and_drops_defective_training_images(tmp_path):
    root = kolektorsdd2_tree(tmp_path / "ksdd2")
    tree = layout_of(tmp_path, "kolektorsdd2", root, "tree")
    assert mvtec_files(tree) == {
        "kolektorsdd2/train/good/10000.png",
        "kolektorsdd2/train/good/10001.png",
        "kolektorsdd2/test/good/10003.png",
        "kolektorsdd2/test/defect/10004.png",
        "kolektorsdd2/ground_truth/defect/10004_mask.png",
    }
    assert (tree / "kolektorsdd2/test/defect/10004.png").read_bytes() == (
        root / "test/10004.png"
    ).read_bytes()
    assert [e["reason"] for e in read_json(tmp_path / "tree.rej.jsonl")] == ["defective_train_image"]
    samples, _ = imported(tmp_path, "kolektorsdd2", root)
    assert sorted((s["split"], str(s["defect"])) for s in samples) == [
        ("test", "None"),
        ("test", "defect"),
        ("train", "None"),
        ("train", "None"),
        ("train", "defect"),
    ]


def test_bad_files_are_rejects_and_the_run_goes_on(tmp_path):
    root = kolektorsdd2_tree(tmp_path / "ksdd2")
    (root / "test" / "10004_GT.png").write_bytes(b"broken")
    (root / "test" / "10005_GT.png").write_bytes(b"orphan")
    (root / "train" / "10000.png").write_bytes(b"broken")
    tree = layout_of(tmp_path, "kolektorsdd2", root, "tree")
    reasons = sorted(e["reason"] for e in read_json(tmp_path / "tree.rej.jsonl"))
    assert reasons == ["defective_train_image", "mask_not_decodable", "mask_without_image", "not_decodable"]
    assert mvtec_files(tree) == {"kolektorsdd2/train/good/10001.png", "kolektorsdd2/test/good/10003.png"}
    samples, _ = imported(tmp_path, "kolektorsdd2", root)
    assert len(samples) == 3
    reasons = sorted(e["reason"] for e in read_json(tmp_path / "rej.jsonl"))
    assert reasons == ["mask_not_decodable", "mask_without_image", "not_decodable"]


def test_a_failed_layout_run_leaves_the_previous_tree_and_no_temp(tmp_path):
    root = visa_tree(tmp_path / "visa")
    tree = layout_of(tmp_path, "visa", root, "tree")
    before = {path: path.read_bytes() for path in tree.rglob("*") if path.is_file()}
    with (root / "split_csv" / "1cls.csv").open("a") as handle:
        handle.write("candle,test,normal\n")  # a broken last row: the run stops after writing files
    result = run_cli("mvtec-layout", "visa", root, "--out", tree)
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: {root / 'split_csv' / '1cls.csv'}: line 7: expected 5 fields, found 3"
    )
    assert {path: path.read_bytes() for path in tree.rglob("*") if path.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tree")] == []


def test_visa_rows_pointing_outside_the_root_are_refused(tmp_path):
    root = visa_tree(tmp_path / "visa")
    (tmp_path / "secret.JPG").write_bytes((root / "candle/Data/Images/Normal/0000.JPG").read_bytes())
    with (root / "split_csv" / "1cls.csv").open("a") as handle:
        handle.write("candle,train,normal,../secret.JPG,\n")
        handle.write("../../escape,train,normal,candle/Data/Images/Normal/0000.JPG,\n")
    samples, images = imported(tmp_path, "visa", root)
    assert len(samples) == 5
    assert [e["reason"] for e in read_json(tmp_path / "rej.jsonl")] == ["path_outside_root"] * 2
    tree = layout_of(tmp_path, "visa", root, "tree")
    assert {path.parts[0] for path in map(Path, mvtec_files(tree))} == {"candle"}
    assert all(path.resolve().is_relative_to(images.resolve()) for path in images.rglob("*"))


def test_a_rerun_skips_images_on_disk_and_gives_the_same_dataset(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    first, images = imported(tmp_path, "mvtec", root, "--image-width", "32", "--image-height", "32")
    stats = read_json(Path(f"{tmp_path / 'ds.json'}.stats.json"))
    assert (stats["written"], stats["present"]) == (10, 0)
    gone = next(s for s in first if s["mask"])
    (images / gone["mask"]).unlink()
    again, _ = imported(tmp_path, "mvtec", root, "--image-width", "32", "--image-height", "32")
    assert again == first
    stats = read_json(Path(f"{tmp_path / 'ds.json'}.stats.json"))
    assert (stats["written"], stats["present"]) == (1, 9)
    assert_binary_and_over_the_defect(images / gone["image"], images / gone["mask"])
    imported(tmp_path, "mvtec", root, "--image-width", "32", "--image-height", "32", "--replace")
    assert read_json(Path(f"{tmp_path / 'ds.json'}.stats.json"))["written"] == 10
