"""Label backends, chosen by name from a registry and imported only when chosen, so that a missing
vLLM or torch breaks nothing else."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipeline.errors import IlidError
from pipeline.records import RawItem

if TYPE_CHECKING:
    from pipeline.label.config import LabelConfig

REGISTRY: dict[str, str] = {
    "transformers": "pipeline.label.backends.hf:TransformersBackend",
    "vllm": "pipeline.label.backends.vllm:VLLMBackend",
    "openai": "pipeline.label.backends.openai:OpenAIBackend",
    "rules": "pipeline.label.backends.rules:RulesBackend",
}
INSTALL_HINTS = {
    "transformers": "pip install -e '.[llm]' (install the torch build for your machine first)",
    "vllm": "pip install vllm, in its own environment (it pins its own torch and transformers)",
}


@dataclass(frozen=True)
class Generation:
    """One answer: its text, how many tokens were generated for it, and what the backend saw go wrong
    (`error`, e.g. "whitespace_runaway"), which names the failure when the answer does not parse."""

    text: str
    tokens: int
    error: str | None = None


class Backend(Protocol):
    default_batch_size: int
    name: str

    def label(self, items: list[RawItem]) -> list[Generation]:
        """One answer per item, in the items' order."""
        ...


def backend_class(name: str) -> Callable[[LabelConfig], Backend]:
    if name not in REGISTRY:
        raise IlidError(f"--backend {name!r}: unknown; choose one of {', '.join(REGISTRY)}")
    module_name, class_name = REGISTRY[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        hint = INSTALL_HINTS.get(name, "")
        raise IlidError(
            f"--backend {name}: {error.name or error} is not installed; {hint}".rstrip("; ")
        ) from None
    backend: Callable[[LabelConfig], Backend] = getattr(module, class_name)
    return backend
