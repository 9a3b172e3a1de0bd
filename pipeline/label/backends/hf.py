"""The transformers backend: batched, grammar-constrained generation (see `decode`).

Every prompt starts with the same head (chat header, system message, task): its key/value cache is
computed once and copied into each batch, which then pre-fills only the items' own text. Rows are laid
out as head, padding, text; positions come from the attention mask, so the padding in the middle is
invisible to the model.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import torch
import xgrammar
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache, PreTrainedModel, set_seed

from pipeline.label.answer import answer_schema_json
from pipeline.label.backends import Generation
from pipeline.label.backends.decode import Batch, GrammarConstraint, Sampler, decode
from pipeline.label.backends.kvcache import growing_cache
from pipeline.label.config import LabelConfig
from pipeline.label.prompt import messages
from pipeline.records import RawItem


def common_prefix_length(rows: list[list[int]]) -> int:
    """How many leading tokens all rows share."""
    length = 0
    for column in zip(*rows, strict=False):
        if any(token != column[0] for token in column):
            break
        length += 1
    return length


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(requested: str, device: str) -> torch.dtype:
    if requested == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[requested]


class TransformersBackend:
    name = "transformers"
    default_batch_size = 32

    def __init__(self, config: LabelConfig, model: PreTrainedModel | None = None, tokenizer: Any = None):
        """Loads `config.model` from the hub or a folder, unless a loaded model and tokenizer are given."""
        self.config = config
        set_seed(config.seed)
        if model is None or tokenizer is None:
            token = os.environ.get("HF_TOKEN")
            tokenizer = AutoTokenizer.from_pretrained(config.model, token=token)
            device = pick_device()
            model = AutoModelForCausalLM.from_pretrained(
                config.model,
                token=token,
                dtype=pick_dtype(config.dtype, device),
                device_map="auto" if device == "cuda" else None,
            )
        self.tokenizer = tokenizer
        self.model = model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
        self.stop_ids = self._stop_token_ids()
        self.pad_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_ids[0]
        )
        vocab_size = self.model.config.vocab_size
        info = xgrammar.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=vocab_size, stop_token_ids=self.stop_ids
        )
        self.grammar = xgrammar.GrammarCompiler(info).compile_json_schema(
            answer_schema_json(config.max_new_tokens), any_whitespace=False, strict_mode=True
        )
        self.vocab_size = vocab_size
        self.suppressed = sorted(
            token_id
            for token_id, token in self.tokenizer.added_tokens_decoder.items()
            if token.special and token_id not in self.stop_ids and token_id < vocab_size
        )
        self.sample = Sampler(config.greedy, config.temperature, config.top_p)
        self.prompt_head = self._prompt_head()
        self._head_cache: tuple[list[int], DynamicCache] | None = None

    def _stop_token_ids(self) -> list[int]:
        ids = [self.tokenizer.eos_token_id]
        eot = self.tokenizer.convert_tokens_to_ids("<|eot_id|>")
        if isinstance(eot, int) and eot != self.tokenizer.unk_token_id:
            ids.append(eot)
        return sorted({i for i in ids if i is not None})

    def _prompt_ids(self, item: RawItem) -> list[int]:
        prompt = self.tokenizer.apply_chat_template(
            messages(item), add_generation_prompt=True, tokenize=False
        )
        ids: list[int] = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return ids

    def _prompt_head(self) -> list[int]:
        """The tokens every prompt starts with: those two prompts with nothing in common share."""
        probes = [
            RawItem.model_validate({"url": "https://probe/a.jpg", "web": {"label": text, "data": [text]}})
            for text in ("a", "Z9")
        ]
        first, second = (self._prompt_ids(probe) for probe in probes)
        return first[: common_prefix_length([first, second])]

    def _head_cache_for(self, head: list[int], rows: int) -> DynamicCache:
        """A cache holding `head` for every row; the head's own forward pass runs once and is kept."""
        if self._head_cache is None or self._head_cache[0] != head:
            cache = growing_cache()
            head_ids = torch.tensor([head], device=self.model.device)
            self.model(head_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            self._head_cache = (head, cache)
        cache = copy.deepcopy(self._head_cache[1])
        cache.batch_repeat_interleave(rows)
        return cache

    def _batch(self, rows: list[list[int]]) -> Batch:
        """Rows laid out as shared head (already in the cache), padding, own text."""
        # Every row keeps at least one token of its own: generation starts from its last logits.
        shortest = min(map(len, rows)) - 1
        shared = common_prefix_length([self.prompt_head[:shortest], *rows])
        tails = [row[shared:] for row in rows]
        width = max(map(len, tails))
        device = self.model.device
        input_ids = [[self.pad_id] * (width - len(tail)) + tail for tail in tails]
        mask = [[1] * shared + [0] * (width - len(tail)) + [1] * len(tail) for tail in tails]
        cache = self._head_cache_for(rows[0][:shared], len(rows)) if shared else growing_cache()
        return Batch(torch.tensor(input_ids, device=device), torch.tensor(mask, device=device), cache)

    @torch.inference_mode()
    def label(self, items: list[RawItem]) -> list[Generation]:
        batch = self._batch([self._prompt_ids(item) for item in items])
        suppressed = torch.tensor(self.suppressed, dtype=torch.long, device=self.model.device)
        constraint = GrammarConstraint(self.grammar, len(items), self.vocab_size, suppressed)
        answers = decode(
            self.model, batch, constraint, self.sample, self.stop_ids, self.config.max_new_tokens
        )
        results = []
        for answer in answers:
            text_tokens = answer[:-1] if answer and answer[-1] in self.stop_ids else answer
            results.append(
                Generation(self.tokenizer.decode(text_tokens, skip_special_tokens=True), len(answer))
            )
        return results
