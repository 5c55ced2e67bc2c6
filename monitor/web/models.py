"""The JSON API's shapes (pydantic): they validate every response and make the OpenAPI
schema the server publishes at ``/openapi.json``.

A change has exactly the fields of ``monitor changes --format json`` (docs/cli.md), and
allows more: fields added to the command-line contract later pass through unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TriageMark = Literal["reviewed", "important", "noise"]


class Flag(BaseModel):
    term: str
    direction: Literal["removed", "added"]
    before: int
    after: int


class Mark(BaseModel):
    mark: TriageMark
    note: str
    author: str
    at: str = Field(description="ISO-8601 UTC time the mark was made")


class Triage(BaseModel):
    state: TriageMark | None = Field(description="the latest mark, or null")
    marks: list[Mark] = Field(description="every mark, oldest first (append-only)")


class Change(BaseModel):
    """A change event, as ``monitor changes --format json`` prints it."""

    model_config = ConfigDict(extra="allow")

    id: int
    watch: str
    url: str
    detected_at: str
    kind: str
    removed: list[str]
    added: list[str]
    flags: list[Flag]
    from_snapshot: str | None = Field(description="SHA-256 of the previous raw body")
    to_snapshot: str | None = Field(description="SHA-256 of this raw body")
    from_capture: int | None
    to_capture: int
    triage: Triage


class ChangeWithDetail(Change):
    detail: dict[str, Any] = Field(
        description="removed/added fragments with their place in the page, moves, hunks"
    )


class ChangePage(BaseModel):
    total: int = Field(description="changes matching the filters, in all")
    offset: int
    limit: int
    changes: list[Change] = Field(description="newest first")


class TriageIn(BaseModel):
    mark: TriageMark
    note: str = Field(default="", max_length=4000)
    author: str = Field(
        default="",
        max_length=200,
        description="who marks; ignored when the server authenticates users",
    )


class WatchHealth(BaseModel):
    name: str
    url: str
    vendor: str | None
    tags: list[str]
    status: str = Field(description="new, up, unreachable, gone, blocked or selector_missing")
    needs_attention: bool
    captures: int
    last_check: str | None
    last_outcome: str | None
    last_change: str | None
    events: int
    flagged: int


class Capture(BaseModel):
    """A capture: the fields of ``monitor history --format json``, and more."""

    model_config = ConfigDict(extra="allow")

    id: int
    watch: str
    url: str
    fetched_at: str
    status: int | None
    final_url: str | None
    outcome: str
    body_sha256: str | None
    body_size: int | None
    text_sha256: str | None
    encoding: str | None
    elapsed_ms: int | None
    attempts: int
    error_class: str | None
    error: str | None
    headers: list[list[str]]
    redirects: list[list[Any]]


class Block(BaseModel):
    kind: str
    text: str
    path: list[str]


class CaptureText(BaseModel):
    capture: int
    title: str
    blocks: list[Block]


class Transition(BaseModel):
    event: Literal["appeared", "vanished"]
    capture: int
    at: str
    change: int | None
    change_kind: str | None
    first_capture: bool


class SearchHit(BaseModel):
    """One watch in ``monitor search --format json``."""

    model_config = ConfigDict(extra="allow")

    watch: str
    url: str
    present_now: bool
    first_seen: str
    first_capture: int
    last_seen: str
    last_capture: int
    transitions: list[Transition]
    snippet: str | None
    snippet_capture: int | None
    latest_outcome: str | None
