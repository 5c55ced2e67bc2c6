"""End to end through `monitor check`, `changes`, `diff`, `show` and `verify`: PDF, OpenAPI
(YAML served as text/plain, as raw file hosts do), Alibaba API metadata JSON, a scan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, write_watchlist

from .pdfs import flowing_pdf, policy, scanned_pdf
from .server import Documents, serving

STRUCTURED = Path(__file__).parent / "structured"


@pytest.fixture
def docs() -> Iterator[Documents]:
    with serving() as documents:
        yield documents


def watchlist(tmp_path: Path, docs: Documents, paths: dict[str, str]) -> Path:
    entries = "".join(
        f"  - name: {name}\n    url: {docs.base}{path}\n" for name, path in paths.items()
    )
    return write_watchlist(
        tmp_path / "watch.yaml",
        f"defaults:\n  terms: [维族, Uygur, uygur]\nwatches:\n{entries}{FAST_SETTINGS}",
    )


def test_pdf_openapi_and_metadata_end_to_end(tmp_path, docs, cli) -> None:
    article = 43  # on page 3 of the Chinese agreement (tests/documents/test_pdf.py)
    sentence = "人脸属性包括是否是维族。"
    docs.set("/terms.pdf", "application/pdf", flowing_pdf(policy("zh", extra={article: sentence})))
    docs.set(
        "/api.yaml",
        "text/plain; charset=utf-8",
        (STRUCTURED / "openapi3-face/before.yaml").read_bytes(),
    )
    docs.set(
        "/api-docs.json", "application/json", (STRUCTURED / "acs-api-face/before.json").read_bytes()
    )
    path = watchlist(
        tmp_path,
        docs,
        {"terms-pdf": "/terms.pdf", "face-openapi": "/api.yaml", "face-acs": "/api-docs.json"},
    )
    first = cli("check", "--watchlist", str(path))
    assert first.code == 0, first.err
    assert "checked 3, changed 0, flagged 0, failed 0" in first.out

    # New bytes, same wording: a regenerated PDF and a re-ordered, re-formatted OpenAPI file.
    docs.set("/terms.pdf", "application/pdf", flowing_pdf(policy("zh", extra={article: sentence})))
    docs.set(
        "/api.yaml",
        "text/plain; charset=utf-8",
        (STRUCTURED / "openapi3-reordered/after.yaml").read_bytes(),
    )
    assert "changed 0" in cli("check", "--watchlist", str(path)).out

    docs.set("/terms.pdf", "application/pdf", flowing_pdf(policy("zh")))
    docs.set(
        "/api.yaml",
        "text/plain; charset=utf-8",
        (STRUCTURED / "openapi3-face/after.yaml").read_bytes(),
    )
    docs.set(
        "/api-docs.json", "application/json", (STRUCTURED / "acs-api-face/after.json").read_bytes()
    )
    third = cli("check", "--watchlist", str(path))
    assert "checked 3, changed 3, flagged 3, failed 0" in third.out, third.out

    events = {e["watch"]: e for e in cli("changes", "--format", "json").json()}  # type: ignore[union-attr]
    assert events["terms-pdf"]["removed"] == [sentence]
    assert events["terms-pdf"]["edits"] == []
    assert [e["summary"] for e in events["face-openapi"]["edits"]][1:3] == [
        "enum value `uygur` of response property `faces[].ethnicity` removed from DetectFace",
        "response property `faces[].uygur` removed from DetectFace",
    ]
    assert (
        events["face-acs"]["edits"][0]["summary"]
        == "request parameter `Uygur` removed from RecognizeFace"
    )
    assert events["face-acs"]["edits"][0]["pointer"] == "/apis/RecognizeFace/parameters/2"

    pdf_diff = cli("diff", str(events["terms-pdf"]["id"])).out
    assert f"- {sentence}" in pdf_diff and "removed from page 3, text under" in pdf_diff
    api_diff = cli("diff", str(events["face-openapi"]["id"]), "--html", str(tmp_path / "api.html"))
    assert "EDIT:     response property `faces[].uygur` removed from DetectFace" in api_diff.out
    report = (tmp_path / "api.html").read_text(encoding="utf-8")
    assert "What changed" in report and "response property <code>" not in report
    assert "response property `faces[].uygur` removed from DetectFace" in report
    shown = cli("show", "face-openapi").out
    assert "operationId: DetectFace" in shown and "uygur:" not in shown
    assert cli("verify").code == 0


def test_scanned_pdf_is_a_warning_event_not_an_empty_document(tmp_path, docs, cli) -> None:
    docs.set("/scan.pdf", "application/pdf", scanned_pdf(pages=2))
    path = watchlist(tmp_path, docs, {"scan": "/scan.pdf"})
    result = cli("check", "--watchlist", str(path))
    assert "scan no_text_layer events: no_text_layer" in " ".join(result.out.split())
    events = cli("changes", "--format", "json").json()
    assert [(e["kind"], e["removed"]) for e in events] == [("no_text_layer", [])]  # type: ignore[index]
    detail = cli("diff", str(events[0]["id"])).out  # type: ignore[index]
    assert "pages: 2" in detail and "images: 2" in detail
    assert "changed 0" in cli("check", "--watchlist", str(path)).out  # one event per episode
    assert len(cli("changes", "--format", "json").json()) == 1  # type: ignore[arg-type]


def test_damaged_documents_are_errors_not_removals(tmp_path, docs, cli) -> None:
    docs.set("/a.json", "application/json", b'{"uygur": true}')
    docs.set("/b.pdf", "application/pdf", flowing_pdf(policy("en")))
    path = watchlist(tmp_path, docs, {"a-json": "/a.json", "b-pdf": "/b.pdf"})
    assert cli("check", "--watchlist", str(path)).code == 0
    docs.set("/a.json", "application/json", b'{"uygur": tr')
    docs.set("/b.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(range(256)) * 4)
    out = " ".join(cli("check", "--watchlist", str(path)).out.split())
    assert "a-json error" in out and "b-pdf error" in out
    assert cli("changes", "--format", "json").json() == []


def test_a_document_far_larger_than_its_bytes_is_incomplete_not_compared(
    tmp_path, docs, cli
) -> None:
    # Each block carries the headings (keys) above it: a long one over many short
    # blocks made a 67 KB JSON file a 381 MB document. Said, kept, never compared.
    key = "k" * 20_000
    docs.set("/a.json", "application/json", b'{"uygur": true}')
    docs.set("/b.html", "text/html", "<h1>维族</h1><p>uygur</p>".encode())
    path = watchlist(tmp_path, docs, {"a-json": "/a.json", "b-html": "/b.html"})
    assert cli("check", "--watchlist", str(path)).code == 0
    docs.set("/a.json", "application/json", f'{{"{key}": {list(range(5000))}}}'.encode())
    docs.set("/b.html", "text/html", f"<h1>{key}</h1>{'<p>x' * 20_000}".encode())
    out = " ".join(cli("check", "--watchlist", str(path)).out.split())
    assert "a-json incomplete" in out and "b-html incomplete" in out
    events = cli("changes", "--format", "json").json()
    assert sorted((e["watch"], e["kind"], e["removed"]) for e in events) == [  # type: ignore[index]
        ("a-json", "incomplete", []),
        ("b-html", "incomplete", []),
    ]
    shown = cli("diff", str(events[0]["id"])).out  # type: ignore[index]
    assert "size_limit" in shown and "eight times the" in shown
