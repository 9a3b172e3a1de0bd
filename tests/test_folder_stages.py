"""export, import and mvtec-layout under the one stage runner, with real processes and real signals:
one writer per output folder, SIGKILL and SIGTERM mid-run, stale temporary folders, exit codes. Every
wait is bounded."""

import io
import os
import signal
import threading
import time
from pathlib import Path

from PIL import Image

from pipeline.lock import OutputLock, lock_path
from tests.anomaly_trees import mvtec_tree, photo, save, visa_tree
from tests.helpers import read_json, run_cli, write_json
from tests.images import banded, encode
from tests.test_export import sample
from tests.test_runner import TIMEOUT, feed, finish, holds_lock, ilid, wait_for


def corpus(tmp_path: Path, count: int = 6) -> tuple[Path, Path, bytes]:
    """A dataset of `count` samples with their PNGs; returns the dataset, the images and its bytes."""
    samples = [sample(f"p{index}") for index in range(count)]
    images = tmp_path / "images"
    for index, item in enumerate(samples):
        path = images / item["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(banded(32 + index, 32), "PNG"))
    dataset = write_json(tmp_path / "dataset.json", samples)
    return dataset, images, dataset.read_bytes()


def exported(out: Path) -> list[dict]:
    return read_json(out / "metadata.jsonl")


def dot_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_second_export_to_one_folder_fails_at_once_naming_the_holder_and_waits_with_wait(tmp_path):
    dataset, images, data = corpus(tmp_path)
    out = tmp_path / "out"
    slow = tmp_path / "slow.json"
    os.mkfifo(slow)
    first = ilid("export", "hf", "--dataset", slow, "--images", images, "--out", out)
    wait_for(lambda: holds_lock(out, first), "the first export to lock its folder")

    started = time.monotonic()
    code, stderr = finish(ilid("export", "csv", "--dataset", dataset, "--images", images, "--out", out))
    assert time.monotonic() - started < 10
    assert code == 2
    holder = f"in use by another run (pid {first.pid}); wait for it to finish, or pass --wait"
    assert stderr.strip() == f"error: {out}: {holder}"

    second = ilid("export", "hf", "--dataset", dataset, "--images", images, "--out", out, "--wait")
    time.sleep(1.0)
    assert second.poll() is None  # waiting for the first
    feed(slow, data)
    assert finish(first)[0] == 0
    code, stderr = finish(second)
    assert code == 0, stderr
    assert len(exported(out)) == 6 and read_json(tmp_path / "out.stats.json")["kept"] == 6
    assert not lock_path(out).exists() and dot_entries(tmp_path) == []


def test_sigkill_mid_export_keeps_the_previous_export_and_the_rerun_leaves_no_temporary(tmp_path):
    dataset, images, data = corpus(tmp_path)
    out = tmp_path / "out"
    code, stderr = finish(ilid("export", "hf", "--dataset", dataset, "--images", images, "--out", out))
    assert code == 0, stderr
    before = (out / "metadata.jsonl").read_bytes()

    slow = tmp_path / "slow.json"
    os.mkfifo(slow)
    feeder = os.open(slow, os.O_RDWR)  # the export reads three samples, then waits for more
    try:
        # the reader asks for 64 KiB at a time: three samples, padded with whitespace to one read
        opening = data[: data.index(b"}, {", data.index(b"p2")) + 1] + b", "
        os.write(feeder, opening.ljust(1 << 16))
        killed = ilid("export", "hf", "--dataset", slow, "--images", images, "--out", out)
        wait_for(lambda: holds_lock(out, killed), "the export to lock its folder")
        temporary = lambda: [p for p in tmp_path.glob(".out.*.tmp") if p.is_dir()]  # noqa: E731
        wait_for(lambda: [p for t in temporary() for p in t.rglob("*.png")], "images in its temporary folder")
        killed.send_signal(signal.SIGKILL)
        killed.wait(TIMEOUT)
    finally:
        os.close(feeder)
    assert temporary() and lock_path(out).exists()  # what the killed run left
    assert (out / "metadata.jsonl").read_bytes() == before

    caption = ["--caption", "{label_short}"]
    code, stderr = finish(
        ilid("export", "hf", "--dataset", dataset, "--images", images, "--out", out, *caption)
    )
    assert code == 0, stderr
    assert [row["text"] for row in exported(out)] == [f"p{index} part" for index in range(6)]
    assert all((out / "images" / item["image"]).is_file() for item in read_json(dataset))
    assert dot_entries(tmp_path) == []


def import_tree(root: Path) -> Path:
    """An MVTec tree whose first four images are small and the next ten large (slow to fit), so an
    import is caught with some images written and others not."""
    good = root / "bottle" / "train" / "good"
    for index in range(4):
        save(photo(64, 32), good / f"{index:03d}.png")
    large = io.BytesIO()
    photo(5000, 5000).save(large, format="PNG")
    for index in range(10, 20):
        (good / f"{index:03d}.png").write_bytes(large.getvalue())
    return root


def test_sigterm_mid_import_exits_143_with_nothing_half_written_and_the_rerun_completes(tmp_path):
    root = import_tree(tmp_path / "mvtec")
    output, images = tmp_path / "ds.json", tmp_path / "images"
    command = [
        "import",
        "mvtec",
        root,
        "--output",
        output,
        "--images",
        images,
        "--rejects",
        tmp_path / "r.json",
    ]
    process = ilid(*command)
    wait_for(lambda: holds_lock(images, process), "the import to lock the images folder")
    wait_for(lambda: list(images.rglob("*.png")), "the first image")
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process)
    assert code == 143, stderr
    assert stderr.strip().splitlines()[-1] == "terminated: finished outputs are kept; rerun to resume"
    assert "Traceback" not in stderr
    assert not output.exists() and not (tmp_path / "r.json").exists()
    written = sorted(images.rglob("*.png"))
    assert 0 < len(written) < 14
    for path in written:  # every image on disk is whole
        with Image.open(path) as image:
            image.load()
    assert [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".lock"))] == []

    code, stderr = finish(ilid(*command))
    assert code == 0, stderr
    assert len(read_json(output)) == 14
    stats = read_json(Path(f"{output}.stats.json"))
    assert (stats["present"], stats["written"]) == (len(written), 14 - len(written))


def test_import_of_a_tree_where_everything_is_rejected_exits_1_after_the_summary(tmp_path):
    root = tmp_path / "mvtec"
    for split in ("train", "test"):
        path = root / "bottle" / split / "good" / "000.png"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"not a png at all")
    output = tmp_path / "ds.json"
    result = run_cli("import", "mvtec", root, "--output", output, "--images", tmp_path / "images")
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("import mvtec: read 2, kept 0, dropped 2 (not_decodable 2)")
    assert read_json(output) == [] and read_json(Path(f"{output}.stats.json"))["read"] == 2


def release_later(lock: OutputLock, seconds: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), lock.__exit__(None, None, None)))
    thread.start()
    return thread


def test_import_locks_its_images_folder_and_mvtec_layout_its_tree_and_both_wait_with_wait(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    images, tree = tmp_path / "images", tmp_path / "tree"
    holder = f"in use by another run (pid {os.getpid()}); wait for it to finish, or pass --wait"
    command = ["import", "mvtec", root, "--output", tmp_path / "ds.json", "--images", images]
    with OutputLock(images):
        result = run_cli(*command)
    assert (result.exit_code, result.stderr) == (2, f"error: {images}: {holder}\n")
    visa = visa_tree(tmp_path / "visa")
    with OutputLock(tree):
        result = run_cli("mvtec-layout", "visa", visa, "--out", tree)
    assert (result.exit_code, result.stderr) == (2, f"error: {tree}: {holder}\n")

    for target, arguments in ((images, command), (tree, ["mvtec-layout", "visa", visa, "--out", tree])):
        lock = OutputLock(target).__enter__()
        releaser = release_later(lock, 0.5)
        started = time.monotonic()
        result = run_cli(*arguments, "--wait")
        releaser.join(TIMEOUT)
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started >= 0.4


def test_stale_temporaries_of_a_killed_run_go_before_import_and_mvtec_layout(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    images = tmp_path / "images"
    stale = [tmp_path / ".ds.json.abcd1234.tmp", images / "bottle" / ".x.png.zz_z9999.tmp"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    result = run_cli("import", "mvtec", root, "--output", tmp_path / "ds.json", "--images", images)
    assert result.exit_code == 0, result.output
    assert [path.exists() for path in stale] == [False, False]

    visa = visa_tree(tmp_path / "visa")
    tree = tmp_path / "tree"
    assert run_cli("mvtec-layout", "visa", visa, "--out", tree).exit_code == 0
    before = {path: path.read_bytes() for path in tree.rglob("*") if path.is_file()}
    (tmp_path / ".tree.abcd1234.tmp" / "candle").mkdir(parents=True)  # a killed run's half tree
    aside = tmp_path / ".tree.efgh5678.old"  # a run killed between moving the tree aside and its new one in
    aside.mkdir()
    tree.rename(aside / "tree")
    with (visa / "split_csv" / "1cls.csv").open("a") as handle:
        handle.write("candle,test,normal\n")  # this run fails, after the runner's cleanup
    assert run_cli("mvtec-layout", "visa", visa, "--out", tree).exit_code == 2
    assert {path: path.read_bytes() for path in tree.rglob("*") if path.is_file()} == before
    assert dot_entries(tmp_path) == []


def test_mvtec_layout_never_replaces_a_folder_that_is_not_one_of_its_outputs(tmp_path):
    visa = visa_tree(tmp_path / "visa")
    mine = tmp_path / "mine"
    (mine / "notes.txt").parent.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = run_cli("mvtec-layout", "visa", visa, "--out", mine)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: {mine}: exists and is not an earlier mvtec-layout output; choose a new folder\n"
    )
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and dot_entries(tmp_path) == []
