"""Shared fixtures: a loopback page server, a CLI runner, watchlist writing."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from backends import pg_url, postgres_server, s3_server, s3_url, store_options  # noqa: F401 (fixtures)

from monitor.cli import main
from monitor.demo import Pages, serve


@contextmanager
def loopback(
    handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 answering with ``handler`` (HTTPS with a
    ``tls`` server context); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def pytest_configure(config: pytest.Config) -> None:
    """The watchlist start-up cache (config/cache.py) of this run's own, never ~/.cache."""
    os.environ["MONITOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="monitor-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("MONITOR_CACHE_DIR", ""), ignore_errors=True)


@dataclass
class Site:
    """Pages served from 127.0.0.1; ``set`` changes what a path serves."""

    pages: Pages
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, html: str | bytes) -> None:
        self.pages.set(path, html.encode() if isinstance(html, str) else html)


@pytest.fixture
def site() -> Iterator[Site]:
    pages = Pages()
    server = serve(pages)
    try:
        yield Site(pages, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def run_cli(*args: str) -> Result:
    """Run the monitor command in-process; returns exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())


def monitor_on(spec: Any) -> Callable[..., Result]:
    """``run_cli`` against one store spec (a data directory or PostgreSQL + blobs)."""
    return lambda *args: run_cli(*store_options(spec), *args)


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``cli("check", ...)`` with a per-test data directory."""
    data = tmp_path / "data"

    def invoke(*args: str) -> Result:
        return run_cli("--data-dir", str(data), *args)

    invoke.data_dir = data  # type: ignore[attr-defined]
    return invoke


def write_watchlist(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def pages_watchlist(
    path: Path, site: Site, paths: list[str], prefix: str = "", extra: str = ""
) -> Path:
    """A watchlist with one watch per served path, named ``{prefix}p{i}``."""
    entries = "".join(
        f"  - name: {prefix}p{i}\n    url: {site.url(p)}\n{extra}" for i, p in enumerate(paths)
    )
    return write_watchlist(path, f"watches:\n{entries}{FAST_SETTINGS}")


def count_captures(data: Path) -> int:
    """Captures in a data directory, read-only (it may belong to a running monitor)."""
    database = data / "monitor.db"
    if not database.exists():
        return 0
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM captures").fetchone()[0])
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return 0  # the monitor is still creating its schema
        raise
    finally:
        connection.close()


# Fast fetch settings for tests: loopback only, no politeness delay, quick retries.
FAST_SETTINGS = """
settings:
  host_delay: 0
  per_host: 4
  retries: 0
  timeout: 10
"""

PYTHON = sys.executable


@contextmanager
def first_generation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Extraction as its generation 1 did it: a heading took in the text after it."""
    import monitor.documents.html as html
    import monitor.documents.walker as walker

    real = walker.inner_text
    with monkeypatch.context() as old:
        old.setattr(html, "HTML_GENERATION", 1)
        old.setattr(walker, "inner_text", lambda element: real(element) + (element.tail or ""))
        yield
