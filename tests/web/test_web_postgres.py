"""The dashboard on a PostgreSQL store: the demo's data directory, migrated, serves the
same pages, API and search answers as the directory does, and takes triage marks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from webdata import LOCAL, ZH, client, copy, csrf, make_demo

from monitor.store import StoreSpec
from monitor.web import create_app

API = ["/api/changes", "/api/changes/1", "/api/watches", f"/api/watches/{ZH}/captures",
       "/api/changes?flagged=1", f"/api/changes?watch={ZH}",
       "/api/changes?triage=untriaged"]  # fmt: skip
PAGES = ["/", "/changes", "/changes?flagged=1", "/changes/1", f"/watches/{ZH}", "/feed.atom",
         "/openapi.json", "/changes/1/bundle.zip"]  # fmt: skip


@pytest.fixture
def both(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, TestClient]]:
    data = copy(make_demo(tmp_path / "demo"), tmp_path / "data")
    blobs = str(tmp_path / "pg-blobs")
    moved = run_cli("--blobs", blobs, "migrate", "--from", str(data), "--to", pg_url)
    assert moved.code == 0, moved.err
    monkeypatch.setenv("MONITOR_KEY_DIR", str(data / "keys"))  # the same signing key
    app = create_app(StoreSpec(pg_url, blobs))
    with client(data) as on_dir, TestClient(app, base_url=LOCAL, follow_redirects=False) as on_pg:
        yield on_dir, on_pg


def test_pages_and_api_answer_as_on_the_directory(both: tuple[TestClient, TestClient]) -> None:
    on_dir, on_pg = both
    for path in API:
        mine, theirs = on_dir.get(path), on_pg.get(path)
        assert theirs.status_code == mine.status_code == 200, (path, theirs.text)
        assert theirs.json() == mine.json(), path
    for path in PAGES:
        response = on_pg.get(path)
        assert response.status_code == 200, (path, response.text[:500])
    assert "是否是维族" in on_pg.get("/changes/1").text
    assert on_pg.get("/changes/99").status_code == 404


def test_triage_marks_on_postgres(both: tuple[TestClient, TestClient]) -> None:
    _, web = both
    token = csrf(web.get("/changes/1").text)
    response = web.post(
        "/changes/1/triage",
        data={"mark": "important", "note": "维族 removed", "author": "ana", "csrf_token": token},
    )
    assert response.status_code == 303, response.text
    triage = web.get("/api/changes/1").json()["triage"]
    assert triage["state"] == "important" and triage["marks"][0]["author"] == "ana"
    assert [c["id"] for c in web.get("/api/changes?triage=important").json()["changes"]] == [1]
    assert web.get("/api/changes?triage=untriaged").json()["total"] == 0
    bad = web.post("/changes/1/triage", data={"mark": "delete", "csrf_token": token})
    assert bad.status_code == 400


def test_search_answers_as_on_the_directory(both: tuple[TestClient, TestClient]) -> None:
    on_dir, on_pg = both  # `monitor migrate` indexed the copy
    for q in ("是否是维族", "族", "face"):
        mine, theirs = on_dir.get("/api/search", params={"q": q}), on_pg.get(
            "/api/search", params={"q": q}
        )
        assert theirs.status_code == mine.status_code == 200, (q, theirs.text)
        assert theirs.json() == mine.json(), q
    assert on_dir.get("/api/search", params={"q": "是否是维族"}).json()  # not vacuous
    page = on_pg.get("/search", params={"q": "是否是維族"})
    assert page.status_code == 200 and "present now" in page.text, page.text[:500]
