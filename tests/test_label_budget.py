"""The token budget: every answer the grammar allows finishes within `--max-new-tokens`, with both
labels, even from a model with no bias toward closing its strings."""

from __future__ import annotations

import json

import pytest
import xgrammar
from xgrammar.testing import _is_grammar_accept_string

from pipeline.errors import IlidError
from pipeline.label.answer import (
    FULL_LIMITS,
    SEPARATORS,
    answer_schema_json,
    field_limits,
    minimum_budget,
)
from pipeline.label.config import LabelConfig
from pipeline.label.stage import run_label
from tests.helpers import raw, read_json, run_cli, write_json
from tests.test_label import items


@pytest.mark.parametrize("budget", [minimum_budget(), 200, 256, 512, 4096])
def test_the_longest_answer_the_grammar_allows_fits_the_budget(budget):
    grammar = xgrammar.Grammar.from_json_schema(
        answer_schema_json(budget), any_whitespace=False, strict_mode=True
    )
    limits = field_limits(budget)
    longest = json.dumps({name: "a" * limit for name, limit in limits.items()}, separators=SEPARATORS)
    assert _is_grammar_accept_string(grammar, longest)
    assert len(longest.encode()) + 1 <= budget  # a token holds at least a byte; +1 for the stop token
    for name in limits:
        longer = json.dumps(
            {other: "a" * (limit + (other == name)) for other, limit in limits.items()},
            separators=SEPARATORS,
        )
        assert not _is_grammar_accept_string(grammar, longer), name
    assert limits == FULL_LIMITS or all(limit >= 3 for limit in limits.values())


def test_a_budget_too_small_for_the_schema_is_refused_with_the_minimum(tmp_path):
    smallest = minimum_budget()
    LabelConfig(max_new_tokens=smallest)
    with pytest.raises(IlidError, match=f"use at least {smallest}$"):
        LabelConfig(max_new_tokens=smallest - 1)
    LabelConfig(backend="rules", max_new_tokens=8)  # the rules labeler generates no tokens
    source = write_json(tmp_path / "pre.json", [raw("u", "Hinge", "steel")])
    result = run_cli("label", "-i", source, "-o", tmp_path / "o.json", "--max-new-tokens", "48")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --max-new-tokens 48 is too small for the answer schema: use at least {smallest}\n"
    )


@pytest.mark.parametrize("budget", [512, minimum_budget()])
def test_a_model_with_no_bias_toward_closing_strings_labels_every_item_in_budget(
    unbiased_llama, tmp_path, budget
):
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(6)])
    config = LabelConfig(model=str(unbiased_llama), max_new_tokens=budget, seed=1)
    summary = run_label(source, tmp_path / "labeled.json", config)
    labeled = read_json(tmp_path / "labeled.json")
    assert [item.get("label_error") for item in labeled] == [None] * 6
    assert all(item["label_method"] == "transformers:json" for item in labeled)
    assert all(item["label_long"] and item["label_short"] for item in labeled)
    assert summary.notes["valid"] == 6
    # The schema's limit, not the model, ended these strings: nothing biases this model to close them.
    limits = field_limits(budget)
    assert sum(len(item["label_short"]) == limits["label_short"] for item in labeled) >= 2
