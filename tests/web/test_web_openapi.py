"""The JSON API against its own published OpenAPI schema (schemathesis generates requests:
every response must be valid for the schema, and no input may cause a server error)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from webdata import client, make_demo

from monitor.web import create_app


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    data = make_demo(tmp_path_factory.mktemp("openapi") / "data")
    app = create_app(str(data))
    yield schemathesis.openapi.from_asgi("/openapi.json", loopback(app))
    app.state.web.close()


def loopback(app: Any) -> Any:
    """Requests addressed to 127.0.0.1, as from a browser on this machine (the server
    answers no other name when it has no authentication)."""

    async def addressed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope = {**scope, "headers": [*headers, (b"host", b"127.0.0.1")]}
        await app(scope, receive, send)

    return addressed


def test_every_api_operation_keeps_its_schema(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=int(os.environ.get("MONITOR_API_EXAMPLES", "25")),
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        check()


def test_the_schema_documents_the_contract(tmp_path: Path) -> None:
    with client(tmp_path / "empty") as web:
        spec = web.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/changes", "/api/changes/{change_id}", "/api/search", "/api/watches"):
        assert path in paths
    change = spec["components"]["schemas"]["Change"]["properties"]
    for field in ("id", "watch", "url", "detected_at", "kind", "removed", "added", "flags"):
        assert field in change
    assert {"from_snapshot", "to_snapshot", "triage"} <= set(change)
    assert not any(p.startswith("/changes") or p == "/" for p in paths)  # pages are not API
