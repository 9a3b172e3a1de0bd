import torch
from transformers.cache_utils import DynamicLayer

from pipeline.label.backends.kvcache import SPARE_TOKENS, GrowingLayer


def states(rows: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(rows, 2, tokens, 4), torch.randn(rows, 2, tokens, 4)


def test_a_growing_layer_holds_what_a_dynamic_layer_holds_through_growth_repeats_and_drops():
    torch.manual_seed(0)
    growing, dynamic = GrowingLayer(), DynamicLayer()
    head = states(1, 5)
    for layer in (growing, dynamic):
        layer.update(*head)
        layer.batch_repeat_interleave(3)
    buffers: list[torch.Tensor] = []
    steps = 3 * SPARE_TOKENS + 7  # past its first buffer, and past growing more than once
    for step in range(steps):
        new = states(3 if step < 40 else 2, 1)
        if step == 40:  # a row answered and leaves the batch
            for layer in (growing, dynamic):
                layer.batch_select_indices(torch.tensor([0, 2]))
        keys, values = growing.update(*new)
        expected_keys, expected_values = dynamic.update(*new)
        assert torch.equal(keys, expected_keys) and torch.equal(values, expected_values)
        if not buffers or buffers[-1] is not growing.key_buffer:
            buffers.append(growing.key_buffer)
    assert growing.get_seq_length() == dynamic.get_seq_length() == 5 + steps
    # written in place: a new buffer on the drop and once per SPARE_TOKENS steps, not one per step
    assert len(buffers) <= 2 + steps // SPARE_TOKENS
