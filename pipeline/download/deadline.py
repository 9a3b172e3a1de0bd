"""A deadline for a whole HTTP request: connect, headers and body together.

requests' timeouts bound each socket operation, so a server that drips a byte a second never trips
them. Here the connection pools tell the thread's `Deadline` which connection its request uses, and a
timer shuts that connection's socket down when the time is up: the blocked read returns at once, the
request fails, and `expired` says why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()
_active: set[Deadline] = set()
_active_lock = threading.Lock()
RECHECK_SECONDS = 0.1  # after the deadline, how often to look for a socket still being opened


class Deadline:
    def __init__(self, seconds: float):
        self.expired = False
        self._done = False  # the request is over: nothing left to cut
        self._connection: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection

    def expire(self) -> None:
        """Cuts the request now."""
        self._timer.cancel()
        self._expire()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = getattr(self._connection, "sock", None)
            if sock is None:  # still connecting (bounded by the connect timeout): look again soon
                self._timer = threading.Timer(RECHECK_SECONDS, self._expire)
                self._timer.daemon = True
                self._timer.start()
                return
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        with self._lock:
            self._done = True
            self._timer.cancel()
            self._connection = None


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Every request this thread makes within the block shares one deadline `seconds` away."""
    watch = Deadline(seconds)
    _current.deadline = watch
    with _active_lock:
        _active.add(watch)
    watch._timer.start()
    try:
        yield watch
    finally:
        watch.cancel()
        _current.deadline = None
        with _active_lock:
            _active.discard(watch)


def expire_all() -> None:
    """Cuts every request in flight (the run is interrupted: workers should return at once)."""
    with _active_lock:
        watches = list(_active)
    for watch in watches:
        watch.expire()


class _Watched:
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        watch = getattr(_current, "deadline", None)
        if watch is not None:
            watch.attach(conn)
        return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPPool(_Watched, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


class DeadlineAdapter(HTTPAdapter):
    """An adapter whose connections a `deadline` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
