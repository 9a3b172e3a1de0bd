"""A local HTTP server on 127.0.0.1: routes map a path to a canned reply, a list of replies served in
turn, or a function of the request. It serves the demo's catalog, and the tests' catalogs and hostile
answers; every request and the status it got are logged, so a test can assert what was (not) asked for."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (until something binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_length: bool = True


Route = Reply | list[Reply] | Callable[[BaseHTTPRequestHandler], Reply]


class LocalServer:
    def __init__(self, port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.served: list[tuple[str, int]] = []  # (path, status) of every reply sent
        self.default_delay = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = server.reply_for(self)
                time.sleep(reply.delay or server.default_delay)
                with server._lock:
                    server.served.append((self.path, reply.status))
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.content_length:
                    self.send_header("Content-Length", str(len(reply.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)

            do_POST = do_GET

            def json_body(self) -> object:
                return json.loads(self.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.requests)

    def reply_for(self, handler: BaseHTTPRequestHandler) -> Reply:
        path = handler.path
        with self._lock:
            self.requests.append(path)
            route = self.routes.get(path.split("?")[0])
            if route is None:
                return Reply(404, b"not found", {"Content-Type": "text/html"})
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        return route(handler) if callable(route) else route

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
