"""A real uvicorn server on a free local port, for tests that talk HTTP: in a thread, or in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, thread.is_alive, 20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait(ready: Callable[[], bool], alive: Callable[[], bool], guard: float) -> None:
    """Until ``ready()``; ``guard`` seconds only stop a server that never starts (nothing is timed)."""
    deadline = time.monotonic() + guard
    while not ready():
        if time.monotonic() > deadline or not alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def service_process(environ: dict[str, str]) -> Iterator[str]:
    """``yibao serve``'s service in a process of its own: uvicorn imports the factory, configured by ``environ``."""
    port = free_port()
    factory = [sys.executable, "-m", "uvicorn", "--factory", "yibao.entrypoints.http:app_from_settings"]
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen([*factory, "--port", str(port), "--log-level", "warning"], env=os.environ | environ) as proc:
        try:
            _wait(lambda: _answers(url), lambda: proc.poll() is None, 120)
            yield url
        finally:
            proc.terminate()  # uvicorn stops on SIGTERM; leaving the block waits for it
