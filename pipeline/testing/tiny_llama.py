"""A tiny Llama-architecture model and Llama-3-style tokenizer, saved like a hub checkpoint.

The tokenizer is a byte-level BPE trained on product text, with Llama-3's special tokens (a few
reserved ones included) and its chat template. The model has random weights, by default with one
trait: the residual stream carries a constant component that the output layer reads as a preference
for the `"` token, so constrained answers close their strings soon. `quote_bias=False` leaves that
out: a model with no bias toward closing strings, the adversarial case for the token budget.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
SPECIAL_TOKENS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|reserved_special_token_2|>",
    "<|eot_id|>",
]
CORPUS = [
    "Stainless steel hinge with removable pin for doors and flaps, brushed finish",
    "Deep groove ball bearing, chrome steel, sealed on both sides, oiled",
    "Toggle clamp horizontal, galvanised steel, red handle, holding force",
    "Spur gear module, polyamide, black, bore with keyway",
    "Scissor lift table, hydraulic, powder coated blue, foot pump",
    "Summarize returning the following information as a JSON object with the keys label_long, label_short",
    'description material material_finish null {"label_long": "x", "label_short": "y"}',
    "You are a helpful assistant for a company that sells industrial products.",
] * 4


def build_tokenizer(folder: Path, vocab_size: int = 800) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]  # transformers: no annotations
        tokenizer_object=backend,
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
        chat_template=LLAMA3_CHAT_TEMPLATE,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[2:]})
    tokenizer.save_pretrained(folder)
    return tokenizer


def build_tiny_llama(folder: Path, seed: int = 5, quote_bias: bool = True) -> Path:
    """Writes tokenizer and model files to `folder`, loadable with `from_pretrained(folder)`.

    Heads are 32 wide: the smallest size vLLM's CPU attention kernels take.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder)
    end_of_turn = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    assert isinstance(end_of_turn, int)  # one token in, one id out
    config = LlamaConfig(
        vocab_size=len(tokenizer) + 8,  # padded past the tokenizer, as real checkpoints often are
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        initializer_range=0.5,  # peaky logits: greedy choices are not near-ties
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.eos_token_id, end_of_turn],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if quote_bias:
        quote = tokenizer.convert_tokens_to_ids('"')
        with torch.no_grad():
            model.model.embed_tokens.weight[:, 0] = 8.0  # the constant component of the residual stream
            model.lm_head.weight[:, 0] = 0.0
            model.lm_head.weight[quote, 0] = 3.0
    model.save_pretrained(folder)
    return folder
