"""A key/value cache that grows into spare room instead of copying itself every step.

transformers' `DynamicLayer` concatenates each new token onto the whole cache, a full copy per step:
at a GPU batch of 256 prompts that copy moves about as many bytes as the model's weights. Here a layer
keeps a buffer with room to spare, writes new tokens in place and hands attention a view of the filled
part; when full it is copied into one with `SPARE_TOKENS` more room, so a copy comes once every so many
steps, and memory stays close to what the cache holds. Dropping finished rows copies once.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from pipeline.internals import require_internals

SPARE_TOKENS = 128  # room added past what a layer holds whenever it (re)allocates
# what GrowingLayer overrides or calls of transformers' DynamicLayer, and how the cache makes its layers
LAYER_INTERNALS = (
    "lazy_initialization",
    "update",
    "get_seq_length",
    "batch_repeat_interleave",
    "batch_select_indices",
)


# transformers' CacheLayerMixin.__init_subclass__ has no annotations
class GrowingLayer(DynamicLayer):  # type: ignore[no-untyped-call]
    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self.length = 0
        self.key_buffer, self.value_buffer = key_states[..., :0, :], value_states[..., :0, :]

    def _reallocate(self, rows: torch.Tensor | None, room: int) -> None:
        """New buffers with `room` tokens, holding the filled part (only `rows`, when given)."""
        for name in ("key_buffer", "value_buffer"):
            old = getattr(self, name)
            filled = old[..., : self.length, :] if rows is None else old[rows, :, : self.length, :]
            new = filled.new_empty((*filled.shape[:2], room, filled.shape[-1]))
            new[..., : self.length, :] = filled
            setattr(self, name, new)
        self._expose()

    def _expose(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Points attention's `keys` and `values` at the filled part; returns them."""
        self.keys = keys = self.key_buffer[..., : self.length, :]
        self.values = values = self.value_buffer[..., : self.length, :]
        return keys, values

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        added = key_states.shape[-2]
        if self.length + added > self.key_buffer.shape[-2]:
            self._reallocate(None, self.length + added + SPARE_TOKENS)
        self.key_buffer[..., self.length : self.length + added, :] = key_states
        self.value_buffer[..., self.length : self.length + added, :] = value_states
        self.length += added
        return self._expose()

    def get_seq_length(self) -> int:
        return self.length if self.is_initialized else 0

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.get_seq_length():
            rows = torch.arange(self.key_buffer.shape[0]).repeat_interleave(repeats)
            self._reallocate(rows, self.length + SPARE_TOKENS)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.get_seq_length():
            self._reallocate(indices, self.key_buffer.shape[-2])


def growing_cache() -> DynamicCache:
    """A `DynamicCache` whose layers are `GrowingLayer`s, one per model layer as they are first used."""
    require_internals(DynamicLayer, LAYER_INTERNALS, "transformers", "the growing key/value cache")
    cache = DynamicCache()
    require_internals(cache, ("layer_class_to_replicate",), "transformers", "the growing key/value cache")
    cache.layer_class_to_replicate = GrowingLayer
    return cache
