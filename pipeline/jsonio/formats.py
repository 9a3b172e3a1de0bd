"""Which of the two formats a path holds: JSON Lines by its suffix, a JSON array otherwise."""

from __future__ import annotations

import os

JSONL_SUFFIXES = (".jsonl", ".jl")


def is_jsonl(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(JSONL_SUFFIXES)
