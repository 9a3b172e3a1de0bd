"""The stage runner with real processes and real signals: one writer per output, SIGINT and SIGTERM,
stale temporary files, exit codes. A stage that must be caught mid-run reads its input from a FIFO,
so it holds its lock, blocked, until the test feeds it; every wait is bounded."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import IlidError, NothingKept
from pipeline.lock import OutputLock, lock_path
from pipeline.prefilter import Prefilter, PrefilterConfig
from pipeline.records import RawItem
from pipeline.stage import run_file_stage
from tests.helpers import raw, read_json, run_cli, write_json

TIMEOUT = 30


def default_signals() -> None:
    """In the child: Ctrl-C as a terminal sends it, even where the test runs with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ilid(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=TIMEOUT)
    return process.returncode, stderr


def wait_for(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def holds_lock(output: Path, process: subprocess.Popen) -> bool:
    assert process.poll() is None, process.communicate()[1]
    try:
        return lock_path(output).read_text().strip() == str(process.pid)
    except FileNotFoundError:
        return False


def feed(fifo: Path, data: bytes) -> None:
    """Writes `data` into the FIFO a process is reading, without hanging if no one reads it."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as error:
            assert error.errno == errno.ENXIO and time.monotonic() < deadline, "no reader on the FIFO"
            time.sleep(0.02)
    os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "wb") as pipe:
        pipe.write(data)


def postfiltered(url: str) -> dict:
    item = raw(url, "title", "text")
    fields = {"label_short": "steel hinge", "label_long": "lift-off hinge", "description": None}
    return {**item, "response": ["..."], **fields, "material": None, "material_finish": None}


def shop_items(shop: str, count: int = 3) -> bytes:
    """A shop's post-filtered items as a JSON array."""
    items = [{**postfiltered(f"http://{shop}/{i}.jpg"), "folder_name": "steel_hinge"} for i in range(count)]
    return json.dumps(items).encode()


def shop_file(path: Path, shop: str) -> Path:
    path.write_bytes(shop_items(shop))
    return path


def test_second_assemble_fails_at_once_naming_the_holder_and_waits_with_wait(tmp_path):
    dataset = tmp_path / "ds.json"
    slow = tmp_path / "a.json.fifo"
    os.mkfifo(slow)
    first = ilid("assemble", "-i", slow, "--dataset", dataset, "--source-tag", "a", "--wait")
    wait_for(lambda: holds_lock(dataset, first), "the first assemble to lock the dataset")

    started = time.monotonic()
    shop_b = shop_file(tmp_path / "b.json", "b")
    code, stderr = finish(ilid("assemble", "-i", shop_b, "--dataset", dataset, "--source-tag", "b"))
    assert time.monotonic() - started < 10
    assert code == 2
    assert stderr.strip() == (
        f"error: {dataset}: in use by another run (pid {first.pid}); wait for it to finish, or pass --wait"
    )

    second = ilid("assemble", "-i", shop_b, "--dataset", dataset, "--source-tag", "b", "--wait")
    time.sleep(1.0)
    assert second.poll() is None  # waiting for the first
    feed(slow, shop_items("a"))
    assert finish(first)[0] == 0
    assert finish(second)[0] == 0
    assert sorted(sample["source"] for sample in read_json(dataset)) == ["a"] * 3 + ["b"] * 3
    assert not lock_path(dataset).exists()


def test_lock_of_a_killed_run_is_taken_over_and_its_temp_file_removed(tmp_path):
    dataset = tmp_path / "ds.json"
    slow = tmp_path / "a.json.fifo"
    os.mkfifo(slow)
    killed = ilid("assemble", "-i", slow, "--dataset", dataset, "--source-tag", "a")
    wait_for(lambda: holds_lock(dataset, killed), "the assemble to lock the dataset")
    wait_for(lambda: list(tmp_path.glob(".ds.json.*.tmp")), "its temporary output")
    killed.send_signal(signal.SIGKILL)
    killed.wait(TIMEOUT)
    assert lock_path(dataset).read_text().strip() == str(killed.pid)  # left behind by the dead run

    shop_b = shop_file(tmp_path / "b.json", "b")
    code, stderr = finish(ilid("assemble", "-i", shop_b, "--dataset", dataset, "--source-tag", "b"))
    assert code == 0, stderr
    assert [sample["source"] for sample in read_json(dataset)] == ["b"] * 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_signal_keeps_the_old_output_and_leaves_no_temp_file(tmp_path, signum, code, word):
    output = tmp_path / "out.json"
    write_json(output, [raw("http://old/1.jpg", "old", "x")])
    before = output.read_bytes()
    source = tmp_path / "raw.json.fifo"
    os.mkfifo(source)
    process = ilid("prefilter", "-i", source, "-o", output, "--rejects", tmp_path / "rejects.json")
    wait_for(lambda: holds_lock(output, process), "the prefilter to lock its output")
    descriptor = None
    deadline = time.monotonic() + TIMEOUT
    while descriptor is None:  # open the FIFO and send half the input, keeping it open
        try:
            descriptor = os.open(source, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    os.write(descriptor, b"[" + json.dumps(raw("http://new/1.jpg", "new", "x")).encode() + b",")
    wait_for(lambda: list(tmp_path.glob(".out.json.*.tmp")), "the temporary output")
    time.sleep(0.3)
    process.send_signal(signum)
    returned, stderr = finish(process)
    os.close(descriptor)
    assert returned == code
    assert stderr.strip().splitlines()[-1] == f"{word}: finished outputs are kept; rerun to resume"
    assert "Traceback" not in stderr
    assert output.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "raw.json.fifo"]


def test_stale_temp_files_of_the_output_go_and_others_stay(tmp_path):
    source = write_json(tmp_path / "raw.json", [raw("http://shop/1.jpg", "Hinge", "steel")])
    stale = [tmp_path / ".out.json.abcd1234.tmp", tmp_path / ".out.json.stats.json.zz_z9999.tmp"]
    others = [tmp_path / ".other.json.abcd1234.tmp", tmp_path / ".out.json.note.tmp"]
    for path in stale + others:
        path.write_bytes(b"x" * 100)
    run_file_stage("prefilter", Prefilter(PrefilterConfig()), source, RawItem, tmp_path / "out.json")
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in others] == [True, True]


def test_nothing_kept_exits_1_after_the_summary_and_empty_input_exits_0(tmp_path):
    blank = write_json(
        tmp_path / "blank.json", [raw("http://shop/1.jpg", "  ", "x"), raw("http://shop/2.jpg", "", "y")]
    )
    code, stderr = finish(ilid("prefilter", "-i", blank, "-o", tmp_path / "out.json"))
    assert code == 1
    assert stderr.strip().splitlines()[-1].startswith("prefilter: read 2, kept 0, dropped 2 (empty_label 2)")
    assert read_json(tmp_path / "out.json") == [] and read_json(tmp_path / "out.json.stats.json")["read"] == 2
    empty = write_json(tmp_path / "empty.json", [])
    assert finish(ilid("prefilter", "-i", empty, "-o", tmp_path / "out2.json"))[0] == 0
    with pytest.raises(NothingKept):
        run_file_stage("prefilter", Prefilter(PrefilterConfig()), blank, RawItem, tmp_path / "out3.json")


def test_lock_in_process_refuses_a_second_holder_and_releases(tmp_path):
    target = tmp_path / "out.json"
    refused = pytest.raises(IlidError, match=rf"in use by another run \(pid {os.getpid()}\)")
    with OutputLock(target), refused:
        OutputLock(target).__enter__()
    with OutputLock(target):
        pass
    assert not lock_path(target).exists()


def test_crawl_takes_the_lock_on_its_output_too(tmp_path):
    output = tmp_path / "raw.json"
    with OutputLock(output):
        result = run_cli("crawl", "structured", "-a", "sitemap=http://127.0.0.1:9/s.xml", "-o", output)
    assert result.exit_code == 2
    holder = f"in use by another run (pid {os.getpid()}); wait for it to finish, or pass --wait"
    assert result.stderr == f"error: {output}: {holder}\n"
