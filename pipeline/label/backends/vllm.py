"""The vLLM backend: offline `LLM.chat` with JSON-schema structured outputs and prefix caching.

Every prompt shares ILID's system message and task text, so prefix caching computes them once.
vLLM pins its own torch and transformers: install it in an environment of its own (see the README).
"""

from __future__ import annotations

import os
from typing import Any

from vllm import LLM, SamplingParams
from vllm.sampling_params import StructuredOutputsParams

from pipeline.label.answer import answer_schema
from pipeline.label.backends import Generation
from pipeline.label.config import LabelConfig
from pipeline.label.prompt import messages
from pipeline.records import RawItem


def start_engine(model: str, dtype: str = "auto", seed: int = 0, **options: Any) -> LLM:
    """vLLM's engine as the label stage runs it; `options` go to `LLM` (e.g. `load_format="dummy"`)."""
    return LLM(
        model=model,
        dtype=dtype,
        seed=seed,
        enable_prefix_caching=True,
        max_model_len=4096,
        # Compact JSON, as the transformers backend asks of xgrammar: free whitespace between fields
        # lets a model spend its token budget on blanks. vLLM takes this per engine, not per request.
        structured_outputs_config={"backend": "xgrammar", "disable_any_whitespace": True},
        **options,
    )


class VLLMBackend:
    name = "vllm"
    default_batch_size = 1024  # vLLM schedules continuously; a batch is only a checkpoint unit

    def __init__(self, config: LabelConfig, llm: LLM | None = None):
        """Starts vLLM's engine on `config.model`, unless a started one (`start_engine`) is given."""
        self.config = config
        if os.environ.get("HF_TOKEN"):
            os.environ.setdefault("HUGGING_FACE_HUB_TOKEN", os.environ["HF_TOKEN"])
        self.llm = llm or start_engine(config.model, config.dtype, config.seed)
        self.sampling = SamplingParams(
            temperature=0.0 if config.greedy else config.temperature,
            top_p=1.0 if config.greedy else config.top_p,
            max_tokens=config.max_new_tokens,
            # No per-request seed: the engine's seed makes a run reproducible, and vLLM's CPU build
            # fails on per-request generators ("CPU Generator does not use offset").
            structured_outputs=StructuredOutputsParams(json=answer_schema(config.max_new_tokens)),
        )

    def label(self, items: list[RawItem]) -> list[Generation]:
        outputs = self.llm.chat([messages(item) for item in items], self.sampling, use_tqdm=False)
        return [Generation(output.outputs[0].text, len(output.outputs[0].token_ids)) for output in outputs]
