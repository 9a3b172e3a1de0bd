"""Serves the files of a folder on 127.0.0.1 with added latency, in a process of its own (as a shop is
another machine): `python benchmarks/photo_server.py FOLDER LATENCY` prints its base URL, then serves."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pipeline.testing.server import LocalServer, Reply


def main() -> None:
    folder, latency = Path(sys.argv[1]), float(sys.argv[2])
    with LocalServer() as server:
        server.default_delay = latency
        for path in folder.iterdir():
            server.routes[f"/img/{path.name}"] = Reply(
                body=path.read_bytes(), headers={"Content-Type": "image/jpeg"}
            )
        print(server.base, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
