"""HTTP fetching for images: polite, bounded and safe.

One `requests.Session` (one connection pool per host) serves all workers; a semaphore per host caps
the requests in flight to it. Each attempt has one deadline for connect, headers and body together
(a server dripping bytes cannot hold a worker), streams the body under a byte cap, retries 429/5xx
and connection errors with exponential backoff that honours `Retry-After`, follows a bounded number
of redirects, and only ever speaks http(s).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from pipeline.download.config import FetchConfig
from pipeline.download.deadline import DeadlineAdapter, deadline, expire_all
from pipeline.httputil import backoff_seconds, retry_after_seconds

RETRY_STATUSES = {429, 500, 502, 503, 504}
GONE_STATUSES = {404, 410}
RETRIED_REASONS = {"server_error", "rate_limited", "timeout", "unreachable"}
ACCEPTED_NON_IMAGE_TYPES = {"application/octet-stream", "binary/octet-stream", ""}


class FetchFailed(Exception):
    """No image bytes from this URL; `reason` is the summary's key, `status` the last HTTP status."""

    def __init__(
        self, reason: str, status: int | None = None, detail: str = "", retry_after: float | None = None
    ):
        super().__init__(f"{reason}{f' (HTTP {status})' if status else ''}{f': {detail}' if detail else ''}")
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    @property
    def gone(self) -> bool:
        """The URL itself is dead (not a passing fault): worth trying an archived copy."""
        return self.reason in ("not_found", "unresolvable", "unreachable")


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str


def connection_problem(error: BaseException) -> str:
    """`connection refused`, `connection reset`, ... : what went wrong under requests' wrappers."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, ConnectionResetError):
            return "connection reset"
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending += [linked_error for linked_error in linked if isinstance(linked_error, BaseException)]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    text = str(error).lower()
    for problem in ("connection refused", "connection reset", "network is unreachable", "no route to host"):
        if problem in text:
            return problem
    return "connection failed"


def status_reason(status: int) -> str:
    if status in GONE_STATUSES:
        return "not_found"
    if status == 429:
        return "rate_limited"
    return "server_error" if status in RETRY_STATUSES else "http_error"


def forbids_ai_use(x_robots_tag: str | None) -> bool:
    """True when `X-Robots-Tag` says noai or noimageai, for all agents or for any one of them."""
    if not x_robots_tag:
        return False
    for directive in x_robots_tag.lower().replace(";", ",").split(","):
        token = directive.split(":")[-1].strip()
        if token in ("noai", "noimageai"):
            return True
    return False


class Fetcher:
    def __init__(self, config: FetchConfig, pool_size: int = 16):
        self.config = config
        self.session = requests.Session()
        self.session.max_redirects = config.max_redirects
        self.session.headers.update({"User-Agent": config.user_agent, "Accept": "image/*,*/*;q=0.5"})
        adapter = DeadlineAdapter(pool_connections=64, pool_maxsize=max(pool_size, config.per_host))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._host_slots: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(config.per_host)
        )
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def close(self) -> None:
        self.session.close()

    def stop(self) -> None:
        """The run is interrupted: cut the requests in flight, start and retry none."""
        self._stopped.set()
        expire_all()

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._host_slots[host]

    def fetch(self, url: str) -> Fetched:
        """The image bytes at `url`, after retries; raises `FetchFailed`."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed("unsupported_url", detail=url[:80])
        attempt = 0
        while True:
            if self._stopped.is_set():
                raise FetchFailed("interrupted")
            try:
                with self._slot(parts.hostname):
                    return self._fetch_once(url)
            except FetchFailed as failure:
                if failure.reason not in RETRIED_REASONS or attempt >= self.config.retries:
                    raise
                wait = failure.retry_after
            self._stopped.wait(backoff_seconds(attempt, self.config.backoff, wait))
            attempt += 1

    def _fetch_once(self, url: str) -> Fetched:
        with deadline(self.config.timeout) as watch:
            try:
                fetched = self._request(url)
            except (FetchFailed, requests.RequestException) as failure:
                if watch.expired:
                    status = getattr(failure, "status", None)
                    raise FetchFailed("timeout", status, "no answer in time") from None
                raise
            if watch.expired:  # cut while reading a body that has no declared length
                raise FetchFailed("timeout", detail="no answer in time")
            return fetched

    def _request(self, url: str) -> Fetched:
        try:
            response = self.session.get(url, stream=True, timeout=self.config.timeout)
        except requests.TooManyRedirects:
            raise FetchFailed("too_many_redirects") from None
        except requests.exceptions.InvalidSchema:
            raise FetchFailed("unsupported_url", detail="redirected off http(s)") from None
        except (requests.Timeout, requests.exceptions.ChunkedEncodingError):
            raise FetchFailed("timeout") from None
        except requests.ConnectionError as error:
            if "resolve" in str(error).lower():  # DNS says no such host: retrying will not help
                raise FetchFailed("unresolvable") from None
            raise FetchFailed("unreachable", detail=connection_problem(error)) from None
        except requests.RequestException as error:
            raise FetchFailed("bad_request", detail=str(error)[:120]) from None

        with response:
            status = response.status_code
            if status != 200:
                raise FetchFailed(
                    status_reason(status),
                    status,
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
            if self.config.respect_noai and forbids_ai_use(response.headers.get("X-Robots-Tag")):
                raise FetchFailed("x_robots_noai", status)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if not content_type.startswith("image/") and content_type not in ACCEPTED_NON_IMAGE_TYPES:
                raise FetchFailed("not_an_image", status, content_type)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.config.max_bytes:
                raise FetchFailed("too_large", status, f"{int(declared):,} bytes")
            body = bytearray()
            try:
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > self.config.max_bytes:
                        raise FetchFailed("too_large", status, f"over {self.config.max_bytes:,} bytes")
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                raise FetchFailed("timeout", status, "body interrupted") from None
            return Fetched(response.url, bytes(body), content_type)
