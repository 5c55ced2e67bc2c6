"""The web dashboard (``monitor serve``): pages, JSON API with OpenAPI schema, Atom feed.

>>> import tempfile
>>> from fastapi.testclient import TestClient
>>> app = create_app(tempfile.mkdtemp(), create=True)
>>> with TestClient(app, base_url="http://127.0.0.1") as client:
...     client.get("/").status_code, client.get("/api/watches").json()
(200, [])
"""

from __future__ import annotations

from .app import create_app
from .auth import Auth, check_bind, hash_password

__all__ = ["Auth", "check_bind", "create_app", "hash_password"]
