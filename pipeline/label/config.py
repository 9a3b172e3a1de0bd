"""What the label stage is told: one self-validating model for every backend."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.label.answer import DEFAULT_BUDGET, field_limits

DEFAULT_MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"


class LabelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())

    backend: str = "transformers"
    model: str = DEFAULT_MODEL
    batch_size: int | None = Field(default=None, ge=1, description="default: the backend's")
    max_new_tokens: int = Field(default=DEFAULT_BUDGET, ge=1)
    temperature: float = Field(default=0.6, gt=0)
    top_p: float = Field(default=0.9, gt=0, le=1)
    greedy: bool = False
    seed: int = 0
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    debug: float = Field(default=0.0, ge=0, le=1, description="label only this random fraction; 0 = all")
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(default=16, ge=1)
    timeout: float = Field(default=120.0, gt=0)
    retries: int = Field(default=5, ge=0)
    grounding: bool = Field(default=True, description="null materials and finishes the text lacks")

    @model_validator(mode="after")
    def budget_fits_the_schema(self) -> LabelConfig:
        """Refuses, before any model loads, a budget the longest valid answer would outrun."""
        if self.backend != "rules":  # the rules labeler generates no tokens
            field_limits(self.max_new_tokens)
        return self
