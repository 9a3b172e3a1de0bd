import json

import pytest

from pipeline.errors import IlidError
from pipeline.label.backends.hf import TransformersBackend
from pipeline.label.backends.openai import OpenAIBackend
from pipeline.label.config import LabelConfig
from pipeline.label.stage import checkpoint_path, run_label
from pipeline.records import RawItem
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import raw, read_json, run_cli, write_json

TEXTS = [
    ("Hinge", ["Steel"]),
    (
        "Stainless steel lift-off hinge with removable pin",
        ["For doors and flaps", "brushed finish, polished"],
    ),
    ("Ball bearing", ["Deep groove, sealed on both sides, chrome steel, oiled, for shafts and housings"] * 3),
    ("Toggle clamp", ["Galvanised"]),
    ("Spur gear with keyway and hub for industrial drives", ["Polyamide, black"]),
]


def items(count=5):
    return [
        RawItem.model_validate(
            raw(f"http://shop/{i}.jpg", TEXTS[i % len(TEXTS)][0], *TEXTS[i % len(TEXTS)][1])
        )
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def backend(tiny_llama):
    return TransformersBackend(LabelConfig(model=str(tiny_llama), greedy=True, max_new_tokens=160))


def test_every_item_of_a_mixed_length_batch_gets_schema_valid_json(backend, tmp_path):
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(10)])
    summary = run_label(source, tmp_path / "labeled.json", backend.config, backend)
    labeled = read_json(tmp_path / "labeled.json")
    assert [item["url"] for item in labeled] == [f"http://shop/{i}.jpg" for i in range(10)]
    assert all(item["label_method"] == "transformers:json" and "label_error" not in item for item in labeled)
    assert summary.notes["valid"] == 10 and summary.notes["generated tokens"] > 0
    for item in labeled:
        answer = json.loads("\n".join(item["response"]))
        assert set(answer) == {"label_long", "label_short", "description", "material", "material_finish"}
        assert "<|" not in item["response"][0]  # no special, stop or pad token leaks into the text


def test_batched_answers_stay_aligned_with_their_inputs(backend):
    batch = items()
    together = backend.label(batch)  # padded to the longest prompt
    alone = [backend.label([item])[0] for item in batch]
    assert [g.text for g in together] == [g.text for g in alone]
    assert len({g.text for g in together}) > 1  # the prompts really steer the answers
    assert len({g.tokens for g in together}) > 1  # rows left the batch at different steps


def test_the_shared_prompt_head_is_computed_once_and_changes_no_answer(backend):
    head = backend.tokenizer.decode(backend.prompt_head)
    assert head.endswith("Use null for anything the text does not say.\n\nLabel:")
    forward = backend.model.forward
    calls: list[int] = []
    backend.model.forward = lambda input_ids, **kwargs: (
        calls.append(input_ids.shape[1]) or forward(input_ids, **kwargs)
    )
    try:
        shared = backend.label(items())
        backend.label(items())
    finally:
        backend.model.forward = forward
    head_passes = calls.count(len(backend.prompt_head))
    assert head_passes <= 1  # computed at most once, here or earlier
    batch_passes = [length for length in calls if length != len(backend.prompt_head)]
    assert len(batch_passes) >= 2 and max(batch_passes) < len(backend.prompt_head)  # own text only
    unshared = TransformersBackend(backend.config, backend.model, backend.tokenizer)
    unshared.prompt_head = []
    assert [g.text for g in unshared.label(items())] == [g.text for g in shared]


def test_generation_stops_at_the_stop_token_and_counts_it(backend):
    generations = backend.label(items())
    for generation in generations:
        canonical = backend.tokenizer(generation.text, add_special_tokens=False)["input_ids"]
        # stopped by a stop token well inside the budget, padding not counted
        assert len(canonical) < generation.tokens < backend.config.max_new_tokens
        assert generation.text.endswith("}")
    assert set(backend.stop_ids) == {
        backend.tokenizer.eos_token_id,
        backend.tokenizer.convert_tokens_to_ids("<|eot_id|>"),
    }
    assert backend.tokenizer.convert_tokens_to_ids("<|reserved_special_token_1|>") in backend.suppressed


def test_sampling_is_seeded_and_still_schema_valid(tiny_llama, tmp_path):
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(6)])
    config = LabelConfig(model=str(tiny_llama), max_new_tokens=160, temperature=0.6, top_p=0.9, seed=3)
    run_label(source, tmp_path / "a.json", config)
    run_label(source, tmp_path / "b.json", config)
    assert read_json(tmp_path / "a.json") == read_json(tmp_path / "b.json")
    assert all(item["label_method"] == "transformers:json" for item in read_json(tmp_path / "a.json"))


class CountingBackend:
    """The real backend, counting which items it labels and pressing Ctrl-C after some batches."""

    def __init__(self, inner, interrupt_after=None):
        self.inner, self.interrupt_after = inner, interrupt_after
        self.name, self.default_batch_size = inner.name, 3
        self.labeled: list[str] = []

    def label(self, batch):
        if self.interrupt_after is not None and len(self.labeled) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.labeled += [item.url for item in batch]
        return self.inner.label(batch)


def test_resume_after_interruption_labels_each_item_exactly_once(backend, tmp_path):
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(8)])
    output = tmp_path / "labeled.json"
    first = CountingBackend(backend, interrupt_after=6)
    with pytest.raises(KeyboardInterrupt):
        run_label(source, output, backend.config, first)
    assert not output.exists()
    assert len(checkpoint_path(output).read_text().splitlines()) == 6
    second = CountingBackend(backend)
    run_label(source, output, backend.config, second)
    assert sorted(first.labeled + second.labeled) == sorted(f"http://shop/{i}.jpg" for i in range(8))
    assert [item["url"] for item in read_json(output)] == [f"http://shop/{i}.jpg" for i in range(8)]
    assert not checkpoint_path(output).exists()


def test_cli_with_debug_fraction_labels_a_sample(tiny_llama, tmp_path):
    source = write_json(tmp_path / "pre.json", [item.to_json() for item in items(20)])
    result = run_cli(
        "label",
        "--file",
        source,
        "--output",
        tmp_path / "l.json",
        "--model",
        tiny_llama,
        "--greedy",
        "--max-new-tokens",
        "160",
        "--debug",
        "0.3",
        "--batch-size",
        "4",
    )
    assert result.exit_code == 0, result.output
    labeled = read_json(tmp_path / "l.json")
    sampled = [item for item in labeled if "label_method" in item]
    assert 0 < len(sampled) < 20 and len(labeled) == 20
    assert all("label_short" not in item for item in labeled if item not in sampled)  # as ILID: no keys


def test_unknown_backend_and_missing_model_are_one_line_errors(tmp_path):
    source = write_json(tmp_path / "pre.json", [raw("u", "Hinge", "steel")])
    result = run_cli("label", "-i", source, "-o", tmp_path / "o.json", "--backend", "magic")
    assert (
        result.exit_code == 2 and "unknown; choose one of transformers, vllm, openai, rules" in result.stderr
    )


def completion(content, tokens=7, finish_reason=None):
    choice = {"message": {"role": "assistant", "content": content}}
    if finish_reason is not None:
        choice["finish_reason"] = finish_reason
    body = {"choices": [choice], "usage": {"completion_tokens": tokens}}
    return Reply(body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


ANSWER = json.dumps(
    {
        "label_long": "steel hinge with pin",
        "label_short": "steel hinge",
        "description": "A hinge",
        "material": "steel",
        "material_finish": None,
    }
)


def test_openai_backend_retries_429_and_sends_the_schema(tmp_path):
    with LocalServer() as server:
        seen = []

        def chat(handler):
            seen.append(handler.json_body())
            return completion(ANSWER) if len(seen) > 1 else Reply(429, b"slow down", {"Retry-After": "0"})

        server.routes["/v1/chat/completions"] = chat
        config = LabelConfig(backend="openai", model="llama3", base_url=server.base + "/v1", concurrency=2)
        source = write_json(tmp_path / "pre.json", [raw("u1", "Hinge", "steel")])
        summary = run_label(source, tmp_path / "o.json", config)
    (item,) = read_json(tmp_path / "o.json")
    assert (item["label_short"], item["label_method"]) == ("steel hinge", "openai:json")
    assert summary.notes["generated tokens"] == 7
    request = seen[-1]
    assert request["model"] == "llama3" and request["messages"][0]["role"] == "system"
    assert request["response_format"]["json_schema"]["schema"]["properties"]["label_short"]
    assert (request["temperature"], request["top_p"]) == (0.6, 0.9)


def test_openai_backend_without_response_format_falls_back_to_free_text(tmp_path):
    with LocalServer() as server:

        def chat(handler):
            body = handler.json_body()
            if "response_format" in body:
                return Reply(400, b'{"error": "response_format is not supported"}')
            return completion(
                "(1) Long label: Ball bearing, sealed\n(2) Short label: Ball bearing\n"
                "(3) Description: none\n(4) Material: chrome steel\n(5) Finish: none"
            )

        server.routes["/v1/chat/completions"] = chat
        backend = OpenAIBackend(LabelConfig(backend="openai", base_url=server.base + "/v1"))
        (generation,) = backend.label(items(1))
    assert generation.text.startswith("(1) Long label")


def test_openai_backend_gives_up_with_one_line(tmp_path):
    with LocalServer() as server:
        server.routes["/v1/chat/completions"] = Reply(503, b"down", {"Retry-After": "0"})
        backend = OpenAIBackend(LabelConfig(backend="openai", base_url=server.base + "/v1", retries=2))
        with pytest.raises(IlidError, match="HTTP 503, still after 2 retries"):
            backend.label(items(1))
        assert len(server.requests) == 3


def test_label_retries_flag_bounds_the_requests(tmp_path):
    source = write_json(tmp_path / "pre.json", [raw("u", "Hinge", "steel")])
    with LocalServer() as server:
        server.routes["/v1/chat/completions"] = Reply(503, b"down", {"Retry-After": "0"})
        result = run_cli(
            "label", "-i", source, "-o", tmp_path / "o.json", "--backend", "openai",
            "--base-url", server.base + "/v1", "--retries", "1",
        )  # fmt: skip
        assert result.exit_code == 2 and "HTTP 503, still after 1 retries" in result.stderr
        assert len(server.requests) == 2


def test_vllm_absent_is_a_one_line_hint_and_breaks_nothing(tmp_path):
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.fail("this test expects an environment without vLLM, as the project's test install is")
    source = write_json(tmp_path / "pre.json", [raw("u", "Hinge", "steel")])
    result = run_cli("label", "-i", source, "-o", tmp_path / "o.json", "--backend", "vllm")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --backend vllm: vllm is not installed; pip install vllm")
    assert run_cli("label", "-i", source, "-o", tmp_path / "o.json", "--backend", "rules").exit_code == 0
