"""Batched, grammar-constrained decoding: a loop of its own rather than transformers' `generate`.

A row leaves the batch the step it answers (its cache rows, mask and grammar matcher dropped), so the
work per step shrinks with the rows still open instead of running every row to the longest answer.
The grammar mask runs before temperature and top-p: were top-p applied first it could keep only
tokens the grammar forbids. Added special tokens other than the stop tokens are suppressed, since a
grammar sees `<|reserved_special_token_5|>` as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import xgrammar
from transformers import DynamicCache, PreTrainedModel, TopPLogitsWarper


class GrammarConstraint:
    """One grammar matcher per open row; masks every token the JSON schema does not allow next."""

    def __init__(
        self, grammar: xgrammar.CompiledGrammar, rows: int, vocab_size: int, suppressed: torch.Tensor
    ):
        self.matchers = [xgrammar.GrammarMatcher(grammar) for _ in range(rows)]
        self.filler = xgrammar.BatchGrammarMatcher()  # fills the rows' masks on several threads
        self.bitmask = xgrammar.allocate_token_bitmask(rows, vocab_size)
        self.suppressed = suppressed

    def apply(self, scores: torch.Tensor) -> torch.Tensor:
        """`scores` (open rows x vocabulary, float32) with every forbidden token at -inf, in place."""
        self.filler.batch_fill_next_token_bitmask(self.matchers, self.bitmask)
        bitmask = self.bitmask[: len(self.matchers)].to(scores.device, non_blocking=True)
        xgrammar.apply_token_bitmask_inplace(scores, bitmask)
        if len(self.suppressed):
            scores[:, self.suppressed] = float("-inf")
        return scores

    def accept(self, tokens: list[int]) -> None:
        xgrammar.BatchGrammarMatcher.batch_accept_token(self.matchers, tokens)

    def keep(self, rows: list[int]) -> None:
        self.matchers = [self.matchers[row] for row in rows]


@dataclass(frozen=True)
class Sampler:
    """Greedy, or ILID's temperature and nucleus sampling, on already masked scores."""

    greedy: bool
    temperature: float
    top_p: float

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:
        if self.greedy:
            return scores.argmax(dim=-1)
        scores = TopPLogitsWarper(self.top_p)(None, scores / self.temperature)
        return torch.multinomial(scores.softmax(dim=-1), num_samples=1).squeeze(1)


@dataclass(frozen=True)
class Batch:
    """Prompts laid out for the model: the tokens not yet in `cache`, and the mask over all of them."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    cache: DynamicCache


def decode(
    model: PreTrainedModel,
    batch: Batch,
    constraint: GrammarConstraint,
    sample: Sampler,
    stop_ids: list[int],
    max_new_tokens: int,
) -> list[list[int]]:
    """The tokens generated for each row, its stop token included when it stopped in budget."""
    mask, cache = batch.attention_mask, batch.cache
    # Positions count only real tokens, so padding anywhere in a row is invisible to the model.
    positions = (mask.cumsum(dim=-1) - 1).clamp(min=0)[:, -batch.input_ids.shape[1] :]
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=mask,
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    ).logits
    next_position = positions[:, -1:] + 1
    stops = set(stop_ids)
    open_rows = list(range(batch.input_ids.shape[0]))
    answers: list[list[int]] = [[] for _ in open_rows]
    for step in range(max_new_tokens):
        tokens = sample(constraint.apply(logits[:, -1, :].float()))
        chosen = tokens.tolist()
        constraint.accept(chosen)
        for row, token in zip(open_rows, chosen, strict=True):
            answers[row].append(token)
        still_open = [index for index, token in enumerate(chosen) if token not in stops]
        if not still_open or step == max_new_tokens - 1:
            break
        if len(still_open) < len(open_rows):
            keep = torch.tensor(still_open)  # on the CPU: indexes cache layers on any GPU
            cache.batch_select_indices(keep)
            mask, tokens, next_position = mask[keep], tokens[keep], next_position[keep]
            constraint.keep(still_open)
            open_rows = [open_rows[index] for index in still_open]
        mask = torch.cat([mask, mask.new_ones((len(open_rows), 1))], dim=-1)
        logits = model(
            input_ids=tokens[:, None],
            attention_mask=mask,
            position_ids=next_position,
            past_key_values=cache,
            use_cache=True,
        ).logits
        next_position = next_position + 1
    return answers
