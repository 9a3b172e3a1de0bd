import json
import subprocess
import sys

import pytest

from pipeline import jsonio
from pipeline.errors import IlidError
from pipeline.jsonio import JsonReader, RecordWriter, read_valid, write_records
from pipeline.records import RawItem
from tests.helpers import raw, write_json


def test_reads_json_array_and_jsonl_alike(tmp_path):
    records = [raw(f"http://shop/{i}.jpg", f"Hinge {i}", "steel") for i in range(5)]
    write_json(tmp_path / "a.json", records)
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    as_array = [r.url for r in read_valid(tmp_path / "a.json", RawItem)]
    as_lines = [r.url for r in read_valid(tmp_path / "a.jsonl", RawItem)]
    assert as_array == as_lines == [r["url"] for r in records]


def test_array_streams_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonio.reader, "CHUNK_CHARS", 7)  # every record and number spans several chunks
    values = [{"n": 1234567890123, "s": "Schraube äöü ß " * 3}, 98765432109876, {"n": -1.5e10}]
    (tmp_path / "a.json").write_text(json.dumps(values, indent=2, ensure_ascii=False), encoding="utf-8")
    assert [value for _, value in JsonReader(tmp_path / "a.json")] == values


def test_empty_array_is_zero_records(tmp_path):
    (tmp_path / "a.json").write_text(" [ ] \n")
    assert list(JsonReader(tmp_path / "a.json")) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"url": "a"},\n {"url" "b"}]', "a.json: record 2 (line 2, column 9): Expecting ':' delimiter"),
        ('[{"url": "a"}\n\n  {"url": "b"}]', "a.json: line 3, column 3: expected ',' or ']' after a record"),
        ('[{"url": "a"},', "a.json: record 2 (line 1, column 15): Expecting value"),
        ('{"url": "a"}', "a.json: line 1, column 1: expected a JSON array"),
        ("", "a.json: line 1, column 1: empty file"),
        ("[1] [2]", "a.json: line 1, column 5: extra data after the array"),
    ],
)
def test_malformed_json_names_line_and_column(tmp_path, text, message):
    (tmp_path / "a.json").write_text(text)
    with pytest.raises(IlidError) as caught:
        list(JsonReader(tmp_path / "a.json"))
    assert message.split(": ", 1)[1] in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "a.json"))


def test_malformed_jsonl_names_the_line(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"url": "a"}\n{"url": \n')
    with pytest.raises(IlidError, match=r"a\.jsonl: record 2 \(line 2\): invalid JSON: Expecting value"):
        list(JsonReader(tmp_path / "a.jsonl"))


def test_non_utf8_file_is_one_clear_error(tmp_path):
    (tmp_path / "a.json").write_bytes('[{"url": "Gr\u00f6\u00dfe"}]'.encode("latin-1"))
    with pytest.raises(IlidError, match=r"not valid UTF-8 \(byte 0xf6 at offset 12\)"):
        list(JsonReader(tmp_path / "a.json"))


def test_wrong_type_names_file_record_and_field(tmp_path):
    write_json(
        tmp_path / "raw.json", [raw("u0", "ok", "x")] * 17 + [{"url": "u", "web": {"label": 5, "data": []}}]
    )
    with pytest.raises(IlidError) as caught:
        list(read_valid(tmp_path / "raw.json", RawItem))
    assert (
        str(caught.value) == f"{tmp_path / 'raw.json'}: record 18: web.label: Input should be a valid string"
    )


def test_writer_creates_missing_folders_and_reads_back(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.json"
    write_records(target, [RawItem.model_validate(raw("u", "Größe", "Flügelmutter"))])
    text = target.read_text(encoding="utf-8")
    assert "Größe" in text  # non-ASCII is kept readable, not escaped
    assert json.loads(text) == [raw("u", "Größe", "Flügelmutter")]


def test_interrupted_write_leaves_the_old_output(tmp_path):
    target = tmp_path / "out.json"
    write_records(target, [raw("old", "x", "y")])
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt), RecordWriter(target) as writer:
        writer.write(raw("new", "x", "y"))
        raise KeyboardInterrupt
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind


def test_killed_process_leaves_the_old_output(tmp_path):
    target = tmp_path / "out.jsonl"
    write_records(target, [raw("old", "x", "y")])
    before = target.read_bytes()
    code = (
        "import os, sys\n"
        "from pipeline.jsonio import RecordWriter\n"
        f"with RecordWriter({str(target)!r}) as w:\n"
        "    w.write({'url': 'new'})\n"
        "    os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert target.read_bytes() == before


def test_original_ilid_files_validate(tmp_path):
    # orjson.dumps output of ILID's scripts: compact, one line, extra keys allowed.
    original = (
        b'[{"url":"https://shop/i.jpg","web":{"label":"Kugellager","data":["Stahl"]},'
        b'"response":["(1) Long label: x"],'
        b'"label_short":"ball bearing","label_long":"deep groove ball bearing","description":null,'
        b'"material":null,"material_finish":null,"folder_name":"ball_bearing"}]'
    )
    (tmp_path / "p.json").write_bytes(original)
    from pipeline.records import PostfilteredItem

    (item,) = read_valid(tmp_path / "p.json", PostfilteredItem)
    assert item.folder_name == "ball_bearing" and item.response == ["(1) Long label: x"]
