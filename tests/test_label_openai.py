"""Whitespace runaways from an OpenAI-compatible server, without vLLM: how they are recognised, named,
retried and reported. `test_label_openai_vllm.py` runs the same against a real vLLM server."""

from __future__ import annotations

import json
import re
import signal

from pipeline.label.answer import answer_schema, parse_answer
from pipeline.label.backends.openai import compact_json_regex, ran_into_whitespace
from pipeline.label.config import LabelConfig
from pipeline.label.stage import run_label
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import raw, read_json, write_json
from tests.test_label import completion

RUNAWAY = '{\t\t"label_long"  \t\r\r \t\t\t  \t\n\n\t' + " \t" * 100
COMPACT = (
    '{"label_long":"steel hinge with pin","label_short":"steel hinge","description":null,'
    '"material":"steel","material_finish":null}'
)


def test_runaways_are_told_from_other_cut_off_answers():
    assert ran_into_whitespace(RUNAWAY, "length")
    assert ran_into_whitespace(RUNAWAY, "stop")  # mostly whitespace, however it ended
    assert not ran_into_whitespace('{"label_long": "steel hinge with removable pin and', "length")
    assert not ran_into_whitespace(COMPACT, "stop")
    assert not ran_into_whitespace("", "stop")


def test_a_runaway_answer_is_parsed_at_once():
    """A long run of blanks once made the free-text parser backtrack for hours."""

    def too_slow(*_):
        raise TimeoutError("parse_answer took over 5 s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(5)
    try:
        truncated = "truncated JSON (the answer ends inside the object)"
        assert parse_answer(RUNAWAY + " \t" * 4000).error == truncated
        assert parse_answer(" \t" * 4000).error == "no JSON object in the answer"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_the_compact_regex_takes_valid_compact_answers_only():
    regex = re.compile(compact_json_regex(answer_schema()))
    assert regex.fullmatch(COMPACT) and parse_answer(COMPACT).method == "json"
    assert not regex.fullmatch(json.dumps(json.loads(COMPACT)))  # ", " and ": " carry whitespace
    assert not regex.fullmatch(COMPACT.replace("steel hinge", "steel\thinge"))  # spaces only, no tabs
    assert not regex.fullmatch(COMPACT.replace('"steel"', '"st\x01eel"'))
    assert not regex.fullmatch(COMPACT.replace('"steel"', '"M8"'))  # the schema's patterns still hold


def serve(server: LocalServer, seen: list[dict], owner: str) -> None:
    def chat(handler):
        body = handler.json_body()
        seen.append(body)
        if "structured_outputs" in body:
            return completion(COMPACT, 9, "stop")
        return completion(RUNAWAY, 9, "length")

    server.routes["/v1/chat/completions"] = chat
    models = {"object": "list", "data": [{"id": "tiny", "object": "model", "owned_by": owner}]}
    server.routes["/v1/models"] = Reply(body=json.dumps(models).encode())


def test_a_vllm_server_is_asked_again_with_compact_json_at_the_end(tmp_path, capsys):
    source = write_json(tmp_path / "pre.json", [raw(f"u{i}", "Hinge", "steel") for i in range(3)])
    seen: list[dict] = []
    with LocalServer() as server:
        serve(server, seen, "vllm")
        config = LabelConfig(backend="openai", model="tiny", base_url=server.base + "/v1", concurrency=2)
        summary = run_label(source, tmp_path / "o.json", config)
    labeled = read_json(tmp_path / "o.json")
    assert all(item["label_method"] == "openai:json" and "label_error" not in item for item in labeled)
    assert ["structured_outputs" in body for body in seen] == [False] * 3 + [True] * 3
    retry = seen[-1]
    assert "response_format" not in retry and re.fullmatch(retry["structured_outputs"]["regex"], COMPACT)
    assert summary.notes["whitespace runaway"] == summary.notes["whitespace runaway retried"] == 3
    assert summary.notes["valid"] == 3
    assert "3 answers ran into whitespace" in capsys.readouterr().err


def test_the_retry_holds_the_same_budget_as_the_first_ask(tmp_path):
    source = write_json(tmp_path / "pre.json", [raw("u0", "Hinge", "steel")])
    seen: list[dict] = []
    with LocalServer() as server:
        serve(server, seen, "vllm")
        config = LabelConfig(backend="openai", model="tiny", base_url=server.base + "/v1", max_new_tokens=160)
        run_label(source, tmp_path / "o.json", config)
    first, retry = seen
    schema = first["response_format"]["json_schema"]["schema"]
    assert retry["structured_outputs"]["regex"] == compact_json_regex(schema)


def test_elsewhere_runaways_are_named_counted_and_the_server_option_printed(tmp_path, capsys):
    source = write_json(tmp_path / "pre.json", [raw(f"u{i}", "Hinge", "steel") for i in range(3)])
    seen: list[dict] = []
    with LocalServer() as server:
        serve(server, seen, "llamacpp")
        config = LabelConfig(backend="openai", model="tiny", base_url=server.base + "/v1")
        summary = run_label(source, tmp_path / "o.json", config)
    labeled = read_json(tmp_path / "o.json")
    assert [item["label_error"] for item in labeled] == ["whitespace_runaway"] * 3
    assert len(seen) == 3 and "whitespace runaway retried" not in summary.notes
    assert summary.notes["whitespace runaway"] == summary.notes["failed"] == 3
    err = capsys.readouterr().err
    assert "3 answers failed (whitespace_runaway 3)" in err
    assert """--structured-outputs-config '{"backend": "xgrammar", "disable_any_whitespace": true}'""" in err
