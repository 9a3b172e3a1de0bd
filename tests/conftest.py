import pytest


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """A tiny random Llama-architecture model and Llama-3-style tokenizer, saved to a folder."""
    from tests.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
