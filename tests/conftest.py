import pytest


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """A tiny random Llama-architecture model and Llama-3-style tokenizer, saved to a folder."""
    from pipeline.testing.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def unbiased_llama(tmp_path_factory):
    """The tiny Llama without its preference for `"`: nothing makes its strings short."""
    from pipeline.testing.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("unbiased-llama"), quote_bias=False)
