"""Fixtures for the data tests: a loopback HTTP server and a dead URL (no real network)."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from pathlib import Path

import pytest


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; /short/NAME sends a Content-Length larger than the body, then hangs up;
    /trickle/NAME sends a byte every 50 ms; /endless/NAME never stops sending; /ranged/NAME
    honours a Range header (206) as resuming downloads need."""

    requests: list[str]
    ranges: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.ranges.append(self.headers.get("Range") or "")
        if self.path.startswith("/trickle/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100000):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
            return
        if self.path.startswith("/endless/"):
            self.send_response(200)
            self.end_headers()
            block = bytes(1 << 16)
            try:
                while True:
                    self.wfile.write(block)
            except OSError:
                return
        if self.path.startswith("/ranged/"):
            data = (Path(self.directory) / self.path.split("/")[-1]).read_bytes()
            start = int(self.headers.get("Range", "bytes=0-")[6:].rstrip("-") or 0)
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])
            return
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, list of request paths); shut down after the test."""
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests, "ranges": []})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_url():
    """A loopback URL on a port nobody listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """Point the cache and data env vars at empty temp folders so no real cache is touched."""
    monkeypatch.setenv("TINYGRAD_DIGITS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYGRAD_DIGITS_DATA", raising=False)
    return tmp_path
