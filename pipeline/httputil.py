"""HTTP helpers shared by the downloader and the label server backend."""

from __future__ import annotations

import email.utils
import time

from pipeline import __version__

DEFAULT_USER_AGENT = f"ilid/{__version__} (+https://github.com/ilid-project/ilid)"
MAX_BACKOFF_SECONDS = 60.0


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def backoff_seconds(attempt: int, first: float, retry_after: float | None = None) -> float:
    """The wait before retry `attempt` (0-based): the server's word if it gave one, else doubling."""
    wait = retry_after if retry_after is not None else first * 2**attempt
    return min(wait, MAX_BACKOFF_SECONDS)
