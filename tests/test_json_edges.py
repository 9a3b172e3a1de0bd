"""Hostile JSON, in .json and JSON Lines alike, through `ilid validate` and a stage: one line naming the
file and the record (numbered from 1), exit code 2, never a traceback."""

import json
import re
import subprocess
import sys

import pytest

from pipeline import jsonio
from pipeline.jsonio import JsonReader, write_records
from tests.helpers import raw, run_cli

GOOD = json.dumps(raw("http://shop/a.jpg", "Hinge", "steel"))
CASES = {
    "deep": ('{"url": "u", "web": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested too deeply"),
    "surrogate": ('{"url": "\\ud800", "web": {"label": "x", "data": ["y"]}}', "lone surrogate"),
    "nan": ('{"url": "u", "web": {"label": "x", "data": ["y"]}, "price": NaN}', "NaN is not valid JSON"),
}


def write(path, second_record: str | bytes) -> None:
    second = second_record.encode() if isinstance(second_record, str) else second_record
    if jsonio.is_jsonl(path):
        path.write_bytes(GOOD.encode() + b"\n" + second + b"\n")
    else:
        path.write_bytes(b"[" + GOOD.encode() + b",\n" + second + b"]")


def assert_one_line(result, path, problem: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    where = r"line \d+" if jsonio.is_jsonl(path) else r"line \d+, column \d+"
    assert re.fullmatch(rf"error: {re.escape(str(path))}: record 2 \({where}\): .*{problem}.*", line), line


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".jl"])
@pytest.mark.parametrize("case", CASES)
def test_hostile_record_is_one_line_in_validate_and_in_a_stage(tmp_path, suffix, case):
    text, problem = CASES[case]
    source = tmp_path / f"raw{suffix}"
    write(source, text)
    assert_one_line(run_cli("validate", source), source, problem)
    assert_one_line(run_cli("prefilter", "-i", source, "-o", tmp_path / "out.json"), source, problem)
    assert not (tmp_path / "out.json").exists()


def test_non_utf8_line_names_the_record_and_the_byte(tmp_path):
    source = tmp_path / "raw.jsonl"
    write(source, b'{"url": "Gr\xf6\xdfe", "web": {"label": "x", "data": ["y"]}}')
    result = run_cli("validate", source)
    offset = len(GOOD) + 1 + len('{"url": "Gr')
    assert_one_line(result, source, re.escape(f"not valid UTF-8 (byte 0xf6 at offset {offset})"))


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_record_over_the_cap_names_the_cap(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(jsonio.reader, "MAX_RECORD_CHARS", 1000)
    source = tmp_path / f"raw{suffix}"
    write(source, json.dumps(raw("http://shop/b.jpg", "x" * 5000, "y")))
    result = run_cli("validate", source)
    assert_one_line(result, source, re.escape("larger than the cap on one record (1,000 characters)"))


def test_long_record_under_the_cap_reads_across_many_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonio.reader, "CHUNK_CHARS", 64)
    records = [raw("http://shop/a.jpg", "Hinge " * 3000, "steel"), raw("http://shop/b.jpg", "x", "y")]
    write_records(tmp_path / "a.json", records)
    assert [value for _, value in JsonReader(tmp_path / "a.json")] == records


def test_jl_is_json_lines_for_reader_and_writer(tmp_path):
    records = [raw(f"http://shop/{i}.jpg", "Hinge", "steel") for i in range(3)]
    write_records(tmp_path / "items.jl", records)
    lines = (tmp_path / "items.jl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == records
    result = run_cli("prefilter", "-i", tmp_path / "items.jl", "-o", tmp_path / "out.jl")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in (tmp_path / "out.jl").read_text().splitlines()]
    assert [item["url"] for item in out] == [item["url"] for item in records]


def test_deep_nesting_through_the_real_command_has_no_traceback(tmp_path):
    source = tmp_path / "raw.json"
    write(source, CASES["deep"][0])
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "validate", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("nested too deeply")
