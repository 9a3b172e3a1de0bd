"""Labeling throughput: ILID's method (one item per `generate`, unconstrained sampling) against the
label stage's batched, grammar-constrained generation, on the same prompts in one run.

CPU (default): the tiny random Llama of the tests. To compare like with like, the original method
generates exactly as many tokens per item as the constrained answers averaged.

GPU (`--arch llama3-8b`): a random-weight model of Llama-3-8B's exact architecture in bf16 and a fixed
output length (`--new-tokens`, EOS ignored), so both methods do the same work per item; the batched
runs are measured with and without the grammar constraint.

The CPU run also compares the answer grammar with the one before the budget rule (nullable labels,
words of up to 30 characters, no character limit), on the same prompts in the same run, with the tiny
Llama and with its variant that has no bias toward closing strings (`--grammar` runs only this).

`--vllm` adds vLLM on the same prompts (run it with the Python of vLLM's venv, `make vllm`, which has
transformers too): on the GPU with dummy weights of the same architecture (`load_format="dummy"`).

`--server URL` measures a running OpenAI-compatible server instead (`--backend openai`): items/s with
1, 8 and 32 requests in flight, to choose `--concurrency`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
import xgrammar
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from benchmarks.common import MATERIALS, PARTS
from pipeline.label.answer import minimum_budget, parse_answer
from pipeline.label.backends.hf import TransformersBackend
from pipeline.label.config import LabelConfig
from pipeline.label.prompt import messages
from pipeline.records import RawItem
from pipeline.testing.tiny_llama import build_tiny_llama

LLAMA3_8B = dict(
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    max_position_embeddings=8192,
    rope_theta=500000.0,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)
ILID_ITEMS = 12_500


def realistic_items(count: int) -> list[RawItem]:
    """Shop-like titles and snippets of varied length, as the pre-filter leaves them."""
    items = []
    for index in range(count):
        part = PARTS[index % len(PARTS)]
        material = MATERIALS[index % len(MATERIALS)]
        snippets = [f"{part.title()} made of {material} for machines and fixtures", "Ready to install"]
        snippets += ["Suitable for continuous operation in dusty and humid environments"] * (index % 4)
        label = f"{part.title()} {material} series, with mounting holes"
        items.append(
            RawItem.model_validate(
                {"url": f"https://shop/{index}.jpg", "web": {"label": label, "data": snippets}}
            )
        )
    return items


def label_budget(new_tokens: int) -> int:
    """The constrained runs' budget: `new_tokens`, or the smallest the answer schema takes."""
    return max(new_tokens, minimum_budget())


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def fixed_length(backend: TransformersBackend, new_tokens: int) -> GenerationConfig:
    """ILID's sampling, exactly `new_tokens` per item (stop tokens ignored until then)."""
    return GenerationConfig(
        do_sample=True,
        top_p=0.9,
        temperature=0.6,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        pad_token_id=backend.tokenizer.pad_token_id,
        eos_token_id=backend.stop_ids,
    )


def original_method(backend: TransformersBackend, items: list[RawItem], new_tokens: int) -> float:
    """ILID's loop: one chat prompt per `generate`, sampling, fixed length; returns seconds."""
    tokenizer, model = backend.tokenizer, backend.model
    config = fixed_length(backend, new_tokens)
    synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        for item in items:
            inputs = tokenizer.apply_chat_template(
                messages(item), add_generation_prompt=True, return_tensors="pt", return_dict=True
            ).to(model.device)
            output = model.generate(**inputs, generation_config=config)
            tokenizer.decode(output[0][inputs["input_ids"].shape[-1] :], skip_special_tokens=True)
    synchronize()
    return time.perf_counter() - started


def batched(backend: TransformersBackend, items: list[RawItem], batch_size: int) -> tuple[float, int]:
    """The label stage's way: length-sorted batches, constrained; returns seconds and tokens generated."""
    ordered = sorted(items, key=lambda item: len(item.web.label) + sum(map(len, item.web.data)))
    synchronize()
    started = time.perf_counter()
    tokens = 0
    for start in range(0, len(ordered), batch_size):
        tokens += sum(g.tokens for g in backend.label(ordered[start : start + batch_size]))
    synchronize()
    return time.perf_counter() - started, tokens


def report(name: str, count: int, seconds: float, tokens: int) -> float:
    rate = count / seconds
    print(
        f"  {name:44s} {rate:8.2f} items/s {tokens / seconds:10.0f} tokens/s "
        f"-> ILID's {ILID_ITEMS:,} in {ILID_ITEMS / rate / 60:7.1f} min",
        flush=True,
    )
    return rate


PREVIOUS_WORD = r'[^\s"\\0-9]{1,30}'
PREVIOUS_WORD_LIMITS = {
    "label_long": 12,
    "label_short": 4,
    "description": 30,
    "material": 5,
    "material_finish": 5,
}


def previous_schema() -> str:
    """The answer schema before the budget rule: every field nullable, words of up to 30 characters."""
    properties = {
        name: {
            "anyOf": [
                {"type": "string", "pattern": rf"^{PREVIOUS_WORD}( {PREVIOUS_WORD}){{0,{most - 1}}}$"},
                {"type": "null"},
            ]
        }
        for name, most in PREVIOUS_WORD_LIMITS.items()
    }
    required = list(PREVIOUS_WORD_LIMITS)
    return json.dumps(
        {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    )


def with_both_labels(backend: TransformersBackend, items: list[RawItem]) -> int:
    """How many answers parse with both labels (the previous grammar let them be null)."""
    answers = backend.label(items)
    return sum(bool((parse_answer(a.text).fields or {}).get("label_short")) for a in answers)


def grammar_comparison(args: argparse.Namespace) -> None:
    """Items/s of the budget-bounded grammar against the previous one: same model, prompts and run."""
    items = realistic_items(args.prompts)
    for bias in (True, False):
        folder = build_tiny_llama(Path(tempfile.mkdtemp(prefix="ilid-bench-grammar-")), quote_bias=bias)
        config = LabelConfig(model=str(folder), max_new_tokens=args.new_tokens, seed=0)
        backend = TransformersBackend(config)
        info = xgrammar.TokenizerInfo.from_huggingface(
            backend.tokenizer, vocab_size=backend.vocab_size, stop_token_ids=backend.stop_ids
        )
        grammars = {
            "previous": xgrammar.GrammarCompiler(info).compile_json_schema(
                previous_schema(), any_whitespace=False, strict_mode=True
            ),
            "bounded": backend.grammar,
        }
        backend.label(items[:2])  # warm-up
        best: dict[str, tuple[float, int]] = {}
        for _ in range(args.repeats):  # alternating, best of each: the machine may be shared
            for name, grammar in grammars.items():
                backend.grammar = grammar
                seconds, tokens = batched(backend, items, args.batch_size)
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, tokens)
        print(
            f"answer grammar, tiny Llama {'with' if bias else 'without'} a bias toward closing strings, "
            f"{len(items)} prompts, budget {args.new_tokens}"
        )
        rates = {}
        for name, grammar in grammars.items():
            backend.grammar = grammar
            seconds, tokens = best[name]
            rates[name] = (len(items) / seconds, tokens / seconds)
            print(
                f"  {name:9s} {rates[name][0]:8.2f} items/s {rates[name][1]:8.0f} tokens/s "
                f"{tokens / len(items):6.1f} tokens/answer, "
                f"{with_both_labels(backend, items[:16])}/16 answers with both labels"
            )
        print(
            f"label grammar: bounded is {rates['bounded'][0] / rates['previous'][0]:.2f}x the previous "
            f"items/s, {rates['bounded'][1] / rates['previous'][1]:.2f}x its tokens/s "
            "(target: items/s >= 0.9x)"
        )


def cpu(args: argparse.Namespace) -> None:
    grammar_comparison(args)
    if args.grammar:
        return
    folder = build_tiny_llama(Path(tempfile.mkdtemp(prefix="ilid-bench-tiny-")))
    backend = TransformersBackend(LabelConfig(model=str(folder), max_new_tokens=args.new_tokens, seed=0))
    items = realistic_items(args.prompts)
    backend.label(items[:2])  # warm-up
    seconds, tokens = batched(backend, items, args.batch_size)
    per_item = max(1, round(tokens / len(items)))
    baseline = original_method(backend, items[: args.baseline_prompts], per_item)
    print(f"tiny Llama on CPU, {len(items)} prompts, constrained answers average {per_item} tokens")
    slow = report(
        f"original (1 per generate, {per_item} tokens)",
        args.baseline_prompts,
        baseline,
        per_item * args.baseline_prompts,
    )
    fast = report(f"batched {args.batch_size}, constrained", len(items), seconds, tokens)
    print(
        f"label: batched constrained is {fast / slow:.1f}x the original's items/s (target >= 5x at batch 32)"
    )
    if args.vllm:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        vllm_runs(vllm_engine(folder, dummy_weights=False), items, args.new_tokens, slow, fast)


def gpu(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ilid-bench-tokenizer-"))
    build_tiny_llama(folder)  # for its tokenizer files; the tiny weights are not used
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    began = time.perf_counter()
    torch.manual_seed(0)
    config = LlamaConfig(
        **LLAMA3_8B, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id
    )
    with torch.device("cuda"):
        torch.set_default_dtype(torch.bfloat16)
        model = LlamaForCausalLM(config)
        torch.set_default_dtype(torch.float32)
    parameters = sum(p.numel() for p in model.parameters()) / 1e9
    print(f"  built the model in {time.perf_counter() - began:.0f}s", flush=True)
    items = realistic_items(args.prompts)
    label_config = LabelConfig(model="random-llama3-8b", max_new_tokens=label_budget(args.new_tokens), seed=0)
    backend = TransformersBackend(label_config, model=model, tokenizer=tokenizer)
    prompts = [
        tokenizer.apply_chat_template(messages(i), add_generation_prompt=True, tokenize=False) for i in items
    ]
    prompt_tokens = sum(len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) for prompt in prompts)
    print(
        f"random Llama-3-8B architecture ({parameters:.2f}B parameters, bf16) "
        f"on {torch.cuda.get_device_name()}, "
        f"{len(items)} prompts, {prompt_tokens / len(items):.0f} prompt tokens each, "
        f"{args.new_tokens} new tokens each"
    )
    print(f"  grammar compiled; {time.perf_counter() - began:.0f}s so far", flush=True)
    original_method(backend, items[:2], 8)  # warm-up
    baseline = original_method(backend, items[: args.baseline_prompts], args.new_tokens)
    slow = report(
        f"original (1 per generate, {args.baseline_prompts} prompts)",
        args.baseline_prompts,
        baseline,
        args.new_tokens * args.baseline_prompts,
    )
    for batch_size in args.gpu_batch_sizes:
        unconstrained = fixed_length_batched(backend, items, batch_size, args.new_tokens)
        rate = report(
            f"batched {batch_size}, unconstrained", len(items), unconstrained, args.new_tokens * len(items)
        )
        print(f"    {rate / slow:.1f}x the original")
    best = 0.0
    for batch_size in args.gpu_batch_sizes:
        seconds, tokens = batched(backend, items, batch_size)
        rate = report(f"batched {batch_size}, constrained (answers end early)", len(items), seconds, tokens)
        print(f"    {rate / slow:.1f}x the original; {tokens / len(items):.0f} tokens per answer")
        best = max(best, rate)
    if args.vllm:
        architecture = folder / "llama3-8b"  # config and tokenizer only: vLLM makes up the weights
        config.save_pretrained(architecture)
        tokenizer.save_pretrained(architecture)
        del backend, model
        torch.cuda.empty_cache()
        vllm_runs(vllm_engine(architecture, dummy_weights=True), items, args.new_tokens, slow, best)
        shutil.rmtree(architecture)


def vllm_engine(folder: Path, dummy_weights: bool):  # -> vllm.LLM, imported only when asked for
    from pipeline.label.backends.vllm import start_engine

    return start_engine(str(folder), "bfloat16", load_format="dummy" if dummy_weights else "auto")


def vllm_runs(llm, items: list[RawItem], new_tokens: int, original: float, transformers: float) -> None:
    """vLLM at a fixed output length, then constrained through the label stage's vLLM backend."""
    from vllm import SamplingParams

    from pipeline.label.backends.vllm import VLLMBackend

    fixed = SamplingParams(
        temperature=0.6, top_p=0.9, max_tokens=new_tokens, min_tokens=new_tokens, ignore_eos=True
    )
    llm.chat([messages(item) for item in items[:4]], fixed, use_tqdm=False)  # warm-up
    started = time.perf_counter()
    llm.chat([messages(item) for item in items], fixed, use_tqdm=False)
    rate = report("vLLM, unconstrained", len(items), time.perf_counter() - started, new_tokens * len(items))
    print(f"    {rate / original:.1f}x the original")
    backend = VLLMBackend(
        LabelConfig(backend="vllm", max_new_tokens=label_budget(new_tokens), seed=0), llm=llm
    )
    seconds, tokens = batched(backend, items, len(items))
    rate = report("vLLM, constrained (answers end early)", len(items), seconds, tokens)
    print(
        f"    {rate / original:.1f}x the original, {rate / transformers:.1f}x batched transformers; "
        f"{tokens / len(items):.0f} tokens per answer"
    )


def fixed_length_batched(
    backend: TransformersBackend, items: list[RawItem], batch_size: int, new_tokens: int
) -> float:
    """Batched generation of exactly `new_tokens` per item, no grammar: raw batching throughput."""
    tokenizer, model = backend.tokenizer, backend.model
    config = fixed_length(backend, new_tokens)
    prompts = [
        tokenizer.apply_chat_template(messages(i), add_generation_prompt=True, tokenize=False) for i in items
    ]
    prompts.sort(key=len)
    synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(prompts), batch_size):
            inputs = tokenizer(
                prompts[start : start + batch_size],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(model.device)
            model.generate(**inputs, generation_config=config)
    synchronize()
    return time.perf_counter() - started


def server_throughput(args: argparse.Namespace) -> None:
    """Items/s through the openai backend at each number of requests in flight, on the same prompts."""
    from pipeline.label.backends.openai import OpenAIBackend

    items = realistic_items(args.prompts)
    print(f"{args.server} ({args.server_model}), {len(items)} prompts, {args.new_tokens} new tokens at most")
    first = None
    for in_flight in args.in_flight:
        config = LabelConfig(
            backend="openai",
            model=args.server_model,
            base_url=args.server,
            concurrency=in_flight,
            max_new_tokens=args.new_tokens,
        )
        backend = OpenAIBackend(config)
        backend.label(items[:in_flight])  # warm-up: connections, grammar cache
        started = time.perf_counter()
        generations = backend.label(items)
        seconds = time.perf_counter() - started
        runaways = sum(generation.error is not None for generation in generations)
        rate = report(f"{in_flight} in flight", len(items), seconds, sum(g.tokens for g in generations))
        first = first or rate
        print(f"    {rate / first:.1f}x 1 in flight; {runaways} whitespace runaways", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", choices=["tiny", "llama3-8b"], default="tiny")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--baseline-prompts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--gpu-batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--vllm", action="store_true", help="add vLLM (run with vLLM's venv)")
    parser.add_argument("--grammar", action="store_true", help="CPU: only the answer-grammar comparison")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each grammar, alternating")
    parser.add_argument("--server", help="measure this running OpenAI-compatible server (base URL, .../v1)")
    parser.add_argument("--server-model", default="tiny", help="the model name the server answers to")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    if args.server:
        server_throughput(args)
        return
    (cpu if args.arch == "tiny" else gpu)(args)


if __name__ == "__main__":
    main()
