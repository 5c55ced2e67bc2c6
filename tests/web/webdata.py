"""Data directories for the dashboard tests, made by the real pipeline (no network)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from monitor.demo import run_demo
from monitor.web import Auth, create_app

LOCAL = "http://127.0.0.1"
ZH = "aliyun-cloud-shield-face-api"


def make_demo(root: Path) -> Path:
    """The demo's data: two watches, the 是否是维族 removal as change 1 (without the
    language-version events the full demo adds, as the evidence tests do)."""
    run_demo(str(root), echo=lambda _line: None, languages=False)
    return root


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def client(data: Path, auth: Auth | None = None, base_url: str = LOCAL) -> TestClient:
    app = create_app(str(data), auth, create=True)
    return TestClient(app, base_url=base_url, follow_redirects=False)


def csrf(page_html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)
