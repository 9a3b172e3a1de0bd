"""Small text helpers shared by the filters and labelers."""

import re

_SPACE = re.compile(r"\s+")


def squash_spaces(text: str) -> str:
    """All whitespace (newlines, tabs, no-break spaces, ...) as single spaces, stripped at both ends."""
    return _SPACE.sub(" ", text).strip()
