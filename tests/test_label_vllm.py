"""The vLLM backend run for real: vLLM's CPU build in a venv of its own (`make vllm`, which `make test`
runs first), on the tiny Llama, through `ilid label` as a user would call it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.label.answer import field_limits, minimum_budget
from tests.helpers import read_json, write_json
from tests.test_label import items

VLLM_BIN = Path(os.environ.get("ILID_VLLM_VENV", Path(__file__).resolve().parents[1] / ".venv-vllm")) / "bin"

pytestmark = pytest.mark.skipif(
    not (VLLM_BIN / "ilid").exists(), reason=f"no vLLM venv at {VLLM_BIN.parent}: run `make vllm`"
)


def test_vllm_labels_every_item_with_schema_valid_json_in_input_order(tiny_llama, tmp_path):
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(12)])
    output = tmp_path / "labeled.json"
    command = [VLLM_BIN / "ilid", "label", "-i", source, "-o", output, "--backend", "vllm"]
    # Sampling, as users run it; cool enough that random weights still close their strings in budget.
    command += ["--model", tiny_llama, "--temperature", "0.1", "--max-new-tokens", "512", "--batch-size", "5"]
    environment = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "WARNING"}
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, env=environment, timeout=480
    )
    assert result.returncode == 0, result.stderr[-3000:]
    labeled = read_json(output)
    assert [item["url"] for item in labeled] == [f"http://shop/{i}.jpg" for i in range(12)]
    assert all(item["label_method"] == "vllm:json" and "label_error" not in item for item in labeled)
    for item in labeled:
        answer = json.loads("\n".join(item["response"]))
        assert set(answer) == {"label_long", "label_short", "description", "material", "material_finish"}
    summary = read_json(Path(f"{output}.stats.json"))
    assert summary["valid"] == 12 and summary["generated tokens"] > 12


BUDGETS_ON_ONE_ENGINE = """
import sys
from pathlib import Path
from pipeline.label.backends.vllm import VLLMBackend, start_engine
from pipeline.label.config import LabelConfig
from pipeline.label.stage import run_label
model, source, folder, *budgets = sys.argv[1:]
llm = start_engine(model, seed=1)
for budget in budgets:
    config = LabelConfig(backend="vllm", model=model, max_new_tokens=int(budget), seed=1)
    run_label(Path(source), Path(folder) / f"labeled-{budget}.json", config, VLLMBackend(config, llm))
"""


def test_vllm_with_no_bias_toward_closing_strings_answers_every_item_in_budget(unbiased_llama, tmp_path):
    """The default budget and the smallest, on one engine (starting vLLM is the slow part)."""
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(6)])
    budgets = [512, minimum_budget()]
    command = [VLLM_BIN / "python", "-c", BUDGETS_ON_ONE_ENGINE, unbiased_llama, source, tmp_path, *budgets]
    environment = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "WARNING"}
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, env=environment, timeout=480
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for budget in budgets:
        labeled = read_json(tmp_path / f"labeled-{budget}.json")
        assert [item.get("label_error") for item in labeled] == [None] * 6, budget
        assert all(item["label_method"] == "vllm:json" for item in labeled)
        assert all(item["label_long"] and item["label_short"] for item in labeled)
        # The schema's limit, not the model, ended these strings.
        limits = field_limits(budget)
        assert sum(len(item["label_short"]) == limits["label_short"] for item in labeled) >= 2, budget
