"""Comparisons read a text of an older extractor again from its raw bytes (current.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from monitor.archives.reading import Rules
from monitor.documents.current import current_document, outdated
from monitor.documents.document import Document
from monitor.documents.html import HTML_GENERATION, extract_html

PAGE = "<main><h2>人脸属性</h2>支持识别：是否是维族</main><footer>x</footer>".encode("gb18030")
HEADERS = json.dumps([["Content-Type", "text/html; charset=gb18030"]])


class Blobs(dict[str, bytes]):
    def get_blob(self, digest: str) -> bytes:
        return self[digest]


def first_generation() -> Document:
    """What generation 1 stored for PAGE: the heading took in the text after it."""
    return Document(
        blocks=extract_html("<h2>人脸属性支持识别：是否是维族</h2>支持识别：是否是维族").blocks
    )


@pytest.mark.parametrize("headers", [HEADERS, json.loads(HEADERS)])  # SQLite, PostgreSQL rows
def test_an_older_text_is_read_again_with_the_watchs_rules(headers: object) -> None:
    capture = {"body_sha256": "raw", "headers": headers}
    again = current_document(first_generation(), capture, Blobs(raw=PAGE), Rules("main"))
    assert [(b.kind, b.text) for b in again.blocks] == [
        ("heading", "人脸属性"),
        ("text", "支持识别：是否是维族"),
    ]
    assert again.generation == HTML_GENERATION


@pytest.mark.parametrize(
    ("stored", "capture"),
    [
        # Current texts and other document types are used as stored.
        (
            dataclasses.replace(first_generation(), generation=HTML_GENERATION),
            {"body_sha256": "raw"},
        ),
        (dataclasses.replace(first_generation(), type="pdf"), {"body_sha256": "raw"}),
        # No raw bytes to read again: the comparison is as it always was.
        (first_generation(), {"body_sha256": None}),
        # The page cannot be read in full today (a limit): the stored text, not less.
        (first_generation(), {"body_sha256": "deep", "headers": HEADERS}),
    ],
    ids=["current", "pdf", "no raw bytes", "incomplete today"],
)
def test_otherwise_the_stored_text_is_used(stored: Document, capture: dict[str, object]) -> None:
    blobs = Blobs(raw=PAGE, deep=("<div>" * 2100 + "维族").encode())
    assert current_document(stored, capture, blobs, Rules()) is stored


def test_which_texts_are_outdated() -> None:
    assert outdated(Document.from_json('{"title":"","selected":true,"blocks":[]}'))
    assert not outdated(extract_html("<p>x</p>"))
