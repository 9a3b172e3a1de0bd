"""`ilid label --backend openai` against a real vLLM server: vLLM's CPU build (`make vllm`) serving the
tiny Llama on 127.0.0.1. JSON-schema decoding lets this model pad every answer with whitespace until
the token limit, as real models sometimes do; the server's compact-JSON option prevents it, and
without it ilid names the runaways and asks again with a compact regular expression."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from pipeline.label.answer import answer_schema
from pipeline.label.backends.openai import WHITESPACE_RUNAWAY, OpenAIBackend
from pipeline.label.config import LabelConfig
from pipeline.label.stage import labeled_item
from pipeline.testing.server import free_port
from tests.helpers import read_json, run_cli, write_json
from tests.test_label import items

VLLM_BIN = Path(os.environ.get("ILID_VLLM_VENV", Path(__file__).resolve().parents[1] / ".venv-vllm")) / "bin"
COMPACT_JSON = '{"backend": "xgrammar", "disable_any_whitespace": true}'
STARTUP_SECONDS = 240  # about 20 s on two idle cores

pytestmark = pytest.mark.skipif(
    not (VLLM_BIN / "ilid").exists(), reason=f"no vLLM venv at {VLLM_BIN.parent}: run `make vllm`"
)


def answers_models(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/models", timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def vllm_server(model: Path, log: Path, *options: str) -> Iterator[str]:
    """`vllm serve` on a free port, its base URL once it answers; the server and its engine process
    are stopped on the way out, whatever happened."""
    port = free_port()
    # `vllm serve` elsewhere; the CPU build's `vllm` script looks for the wrong distribution name
    command = [str(VLLM_BIN / "python"), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model)]
    command += ["--served-model-name", "tiny"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--max-model-len", "2048", "--enforce-eager"]
    environment = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "WARNING"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *options],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers_models(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"vLLM did not start within {STARTUP_SECONDS}s (exit {process.poll()}):\n{tail}")
            time.sleep(0.5)
        yield base_url
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (API server and engine core), SIGKILL if it lingers."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is None:
            os.killpg(process.pid, sent)
        try:
            process.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module", params=["compact", "plain"])
def server(request, tiny_llama, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """One server per kind, one at a time: started with the compact-JSON option, then without."""
    options = ["--structured-outputs-config", COMPACT_JSON] if request.param == "compact" else []
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    with vllm_server(tiny_llama, log, *options) as base_url:
        yield request.param, base_url


def label(base_url: str, folder: Path, count: int = 12):
    source = write_json(folder / "pre.json", [item.to_json() for item in items(count)])
    output = folder / "labeled.json"
    result = run_cli(
        "label", "-i", source, "-o", output, "--backend", "openai", "--base-url", base_url,
        "--model", "tiny", "--max-new-tokens", "256", "--concurrency", "4",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result, read_json(output), read_json(Path(f"{output}.stats.json"))


def labels_nullable() -> bool:
    properties = answer_schema()["properties"]
    return any("anyOf" in properties[name] for name in ("label_long", "label_short"))


def test_every_answer_validates(server, tmp_path):
    """Compact server: valid on the first pass. Plain server: every first answer ran into whitespace,
    was named so, and the compact regular expression ilid asks again with made it valid."""
    kind, base_url = server
    result, labeled, summary = label(base_url, tmp_path)
    assert [item["url"] for item in labeled] == [f"http://shop/{i}.jpg" for i in range(12)]
    assert all(item["label_method"] == "openai:json" and "label_error" not in item for item in labeled)
    assert summary["valid"] == 12
    for item in labeled:
        assert "\n".join(item["response"]).startswith('{"label_long":')  # compact: no free whitespace
        assert labels_nullable() or (item["label_long"] and item["label_short"])
    if kind == "compact":
        assert "whitespace runaway" not in summary and "whitespace" not in result.stderr
    else:
        assert summary["whitespace runaway"] == summary["whitespace runaway retried"] == 12
        assert "12 answers ran into whitespace: start the server so JSON answers" in result.stderr
        assert f"vLLM: --structured-outputs-config '{COMPACT_JSON}'" in result.stderr


def test_answers_that_ran_into_whitespace_are_named_so(server):
    """The first pass as the backend sees it: on the plain server every item fails, as a whitespace
    runaway (never as truncated or malformed JSON); on the compact server none does."""
    kind, base_url = server
    backend = OpenAIBackend(
        LabelConfig(backend="openai", model="tiny", base_url=base_url, max_new_tokens=256)
    )
    batch = items(6)
    records = [
        labeled_item(item, answer, "openai", grounding=False)
        for item, answer in zip(batch, backend.label(batch), strict=True)
    ]
    errors = [record.label_error for record in records]
    assert errors == ([None] * 6 if kind == "compact" else [WHITESPACE_RUNAWAY] * 6)
