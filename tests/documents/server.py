"""A loopback server for typed documents: each path serves a body with its Content-Type."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Documents:
    """What the server serves: path -> (content type, body); ``hits`` counts requests."""

    base: str = ""
    served: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, path: str, content_type: str, body: bytes | str) -> str:
        with self.lock:
            self.served[path] = (content_type, body.encode() if isinstance(body, str) else body)
        return self.base + path


@contextmanager
def serving() -> Iterator[Documents]:
    documents = Documents()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with documents.lock:
                found = documents.served.get(path)
                documents.hits[path] = documents.hits.get(path, 0) + 1
                documents.agents.append(self.headers.get("User-Agent", ""))
            status, (kind, body) = (200, found) if found else (404, ("text/html", b"<h1>404</h1>"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Served-By", "documents-test")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    documents.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield documents
    finally:
        server.shutdown()
        server.server_close()
