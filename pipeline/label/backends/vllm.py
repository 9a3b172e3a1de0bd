"""The vLLM backend: offline `LLM.chat` with JSON-schema structured outputs and prefix caching.

Every prompt shares ILID's system message and task text, so prefix caching computes them once.
vLLM pins its own torch and transformers: install it in an environment of its own (see the README).
"""

from __future__ import annotations

import os

from vllm import LLM, SamplingParams
from vllm.sampling_params import StructuredOutputsParams

from pipeline.label.answer import answer_schema
from pipeline.label.backends import Generation
from pipeline.label.config import LabelConfig
from pipeline.label.prompt import messages
from pipeline.records import RawItem


class VLLMBackend:
    name = "vllm"
    default_batch_size = 1024  # vLLM schedules continuously; a batch is only a checkpoint unit

    def __init__(self, config: LabelConfig):
        self.config = config
        if os.environ.get("HF_TOKEN"):
            os.environ.setdefault("HUGGING_FACE_HUB_TOKEN", os.environ["HF_TOKEN"])
        self.llm = LLM(
            model=config.model,
            dtype=config.dtype,
            seed=config.seed,
            enable_prefix_caching=True,
            max_model_len=4096,
        )
        self.sampling = SamplingParams(
            temperature=0.0 if config.greedy else config.temperature,
            top_p=1.0 if config.greedy else config.top_p,
            max_tokens=config.max_new_tokens,
            seed=config.seed,
            structured_outputs=StructuredOutputsParams(json=answer_schema()),
        )

    def label(self, items: list[RawItem]) -> list[Generation]:
        outputs = self.llm.chat([messages(item) for item in items], self.sampling, use_tqdm=False)
        return [Generation(output.outputs[0].text, len(output.outputs[0].token_ids)) for output in outputs]
