"""Hostile input against the operator's terminal and the operator's secrets (issue 9).

Two tables: hostile page text (escape sequences, C1 controls, bidi overrides) that must
reach no output raw, in any command or format; and hostile or secret configuration
(credentials in URLs, secret headers, non-ASCII header values and contacts) that must be
refused with a clear message, or used without ever being stored or shown.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, Site, write_watchlist
from lxml import html as lxml_html

from monitor.safe import BIDI_CHARS, CONTROL_CHARS, json_text, redact, terminal

RAW_CONTROL = re.compile(f"[{CONTROL_CHARS}]")  # tab and line feed are allowed
RAW_BIDI = re.compile(f"[{BIDI_CHARS}]")
PASSWORD = "pa55-W0rd-s3cret"

# (name, hostile text put into the page's removed and added wording and its title)
HOSTILE_TEXT = [
    ("clear-screen", "\x1b[2J\x1b[H"),
    ("osc-title", "\x1b]0;owned by a page\x07"),
    ("osc8-link", "\x1b]8;;http://evil.example/\x1b\\click here\x1b]8;;\x1b\\"),
    ("c1-csi", "\x9b2J\x9b31m"),
    ("c1-osc-st", "\x9d0;title\x9c"),
    ("del-and-bell", "\x7f\x07\x08\x08\x08"),
    ("bidi-override", "\u202eevil\u202c"),
    ("bidi-isolate", "\u2066\u2067rtl\u2069\u2069"),
    ("bidi-marks", "\u200f\u200e\u061c"),
]


def _page(hostile: str, version: int) -> str:
    wording = f"旧的说法{hostile}第一版" if version == 1 else f"新的说法{hostile}第二版"
    return (
        f"<html><head><title>标题{hostile}</title></head><body><main>"
        f"<h1>章节{hostile}</h1><p>人脸属性识别：是否戴眼镜、是否微笑。</p>"
        f"<p>{wording}</p></main></body></html>"
    )


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def assert_terminal_safe(text: str, where: str) -> None:
    assert not RAW_CONTROL.search(text), f"raw control character in {where}: {text!r}"
    assert not RAW_BIDI.search(text), f"raw bidi character in {where}: {text!r}"
    assert PASSWORD not in text, f"password in {where}"


def assert_html_safe(document: str, where: str) -> None:
    """HTML: no raw control characters, no password; bidi characters only inside <bdi>."""
    assert not RAW_CONTROL.search(document), f"raw control character in {where}"
    assert PASSWORD not in document, f"password in {where}"
    tree = lxml_html.fromstring(document)
    for element in tree.iter():
        for text, holder in ((element.text, element), (element.tail, element.getparent())):
            if not text or not RAW_BIDI.search(text):
                continue
            isolated = holder is not None and (
                holder.tag == "bdi" or any(a.tag == "bdi" for a in holder.iterancestors())
            )
            assert isolated, f"bidi character outside <bdi> in {where}: {text!r}"


@pytest.mark.parametrize(("name", "hostile"), HOSTILE_TEXT, ids=[n for n, _ in HOSTILE_TEXT])
def test_hostile_page_text_reaches_no_output_raw(
    name: str, hostile: str, tmp_path: Path, site: Site, cli
) -> None:  # type: ignore[no-untyped-def]
    path = write_watchlist(
        tmp_path / "watch.yaml",
        f"watches:\n  - name: hostile\n    url: {site.url('/h')}\n    select: main\n"
        f"    terms: [说法]\n{FAST_SETTINGS}",
    )
    site.set("/h", _page(hostile, 1))
    first = cli("check", "--watchlist", str(path))
    site.set("/h", _page(hostile, 2))
    second = cli("check", "--watchlist", str(path))
    assert first.code == 0 and second.code == 0, second.err
    (change,) = cli("changes", "--format", "json").json()  # type: ignore[misc]
    assert change["kind"] == "changed"
    # The wording is kept exactly, as evidence: only its display is made safe.
    detail = cli("diff", str(change["id"]), "--format", "json").json()["detail"]  # type: ignore[index]
    assert any(hostile in text for text in _strings(detail)), detail
    report = tmp_path / "report.html"
    outputs = {
        "check": first.out + first.err + second.out + second.err,
        "changes": cli("changes").out,
        "diff": cli("diff", str(change["id"]), "--html", str(report)).out,
        "show": cli("show", "hostile").out,
        "history": cli("history", "hostile").out,
        "check --format json": cli("check", "--watchlist", str(path), "--format", "json").out,
    }
    for command, text in outputs.items():
        assert_terminal_safe(text, command)
    for command in (
        ("changes",),
        ("diff", str(change["id"])),
        ("show", "hostile"),
        ("history", "hostile"),
    ):
        result = cli(*command, "--format", "json")
        assert_terminal_safe(result.out, f"{' '.join(command)} --format json")
        json.loads(result.out)  # still valid JSON, the hostile text escaped inside
    assert_html_safe(report.read_text(encoding="utf-8"), "the HTML report")
    atom = cli("changes", "--format", "atom").out
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", atom), "raw control in Atom"
    assert PASSWORD not in atom


def test_a_selector_missing_page_shows_its_hostile_text_safely(
    tmp_path: Path, site: Site, cli
) -> None:  # type: ignore[no-untyped-def]
    path = write_watchlist(
        tmp_path / "watch.yaml",
        f"watches:\n  - name: gone-main\n    url: {site.url('/m')}\n    select: main\n"
        f"{FAST_SETTINGS}",
    )
    site.set("/m", _page("", 1))
    cli("check", "--watchlist", str(path))
    hostile = "".join(text for _, text in HOSTILE_TEXT)
    site.set("/m", f"<html><body><div>改版 {hostile} " + "新内容 " * 50 + "</div></body></html>")
    outputs = [cli("check", "--watchlist", str(path)) for _ in range(2)]
    (event,) = cli("changes", "--format", "json").json()  # type: ignore[misc]
    assert event["kind"] == "selector_missing"
    shown = cli("diff", str(event["id"])).out
    assert "\\x1b" in shown and "<U+202E>" in shown  # shown, visibly
    for text in [shown, *(r.out + r.err for r in outputs)]:
        assert_terminal_safe(text, "selector_missing")


# ---------------------------------------------------------------------------
# Configuration: refused at validation, exit 2, the secret never repeated

BAD_CONFIG = [
    # (name, watch keys (YAML, indented under the watch), what the message says)
    ("password-in-url", f"url: http://admin:{PASSWORD}@127.0.0.1/p", "auth_env"),
    ("token-in-url", f"url: https://{PASSWORD}@127.0.0.1/p", "credentials"),
    ("odd-password-in-url", f"url: 'http://admin:<\"{PASSWORD}@127.0.0.1/p'", "credentials"),
    (
        "authorization-header",
        f"url: http://127.0.0.1/p\n    headers: {{Authorization: 'Bearer {PASSWORD}'}}",
        "headers_env",
    ),
    (
        "cookie-header",
        f"url: http://127.0.0.1/p\n    headers: {{Cookie: 's={PASSWORD}'}}",
        "headers_env",
    ),
    ("non-ascii-header", "url: http://127.0.0.1/p\n    headers: {X-Team: 研究组}", "ASCII only"),
    ("control-in-header", 'url: http://127.0.0.1/p\n    headers: {X-Team: "a\\e[2Jb"}', "control"),
    ("c1-in-header", 'url: http://127.0.0.1/p\n    headers: {X-Team: "a\\x9bb"}', "control"),
    ("escape-in-url", 'url: "http://127.0.0.1/p\\e[2J"', "control"),
    ("bidi-in-url", 'url: "http://127.0.0.1/p\\u202e"', "bidirectional"),
    (
        "value-as-env-name",
        f"url: http://127.0.0.1/p\n    headers_env: {{X-Key: '{PASSWORD}!'}}",
        "not its value",
    ),
    (
        "auth-env-unknown-key",
        "url: http://127.0.0.1/p\n    auth_env: {user: A, password: B}",
        "username",
    ),
]


@pytest.mark.parametrize(("name", "keys", "says"), BAD_CONFIG, ids=[c[0] for c in BAD_CONFIG])
def test_a_bad_or_secret_watch_is_refused_without_repeating_it(
    name: str, keys: str, says: str, tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    path = write_watchlist(tmp_path / "w.yaml", f"watches:\n  - name: w\n    {keys}\n")
    for args in (("watchlist", "validate", str(path)), ("check", "--watchlist", str(path))):
        result = cli(*args)
        assert result.code == 2, (name, result.out, result.err)
        assert says in result.err, result.err
        assert_terminal_safe(result.out + result.err, " ".join(args[:2]))
        assert "internal error" not in result.err
    assert not (tmp_path / "data" / "monitor.db").exists()  # nothing was recorded


@pytest.mark.parametrize(
    ("where", "contact"),
    [
        ("env", "研究组@example.org"),
        ("env", "ops@example.org\x1b[2J"),
        ("file", "研究@example.org"),
    ],
)
def test_a_contact_no_user_agent_can_carry_is_refused(
    where: str, contact: str, tmp_path: Path, site: Site, cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    settings = (
        FAST_SETTINGS if where == "env" else FAST_SETTINGS + f"  user_agent_contact: {contact}\n"
    )
    if where == "env":
        monkeypatch.setenv("MONITOR_CONTACT", contact)
    site.set("/p", _page("", 1))
    path = write_watchlist(
        tmp_path / "w.yaml", f"watches:\n  - name: w\n    url: {site.url('/p')}\n{settings}"
    )
    result = cli("check", "--watchlist", str(path))
    assert result.code == 2, result.err
    assert "contact" in result.err and "ASCII" in result.err
    assert ("MONITOR_CONTACT" in result.err) == (where == "env")
    assert "internal error" not in result.err
    assert_terminal_safe(result.err, "the contact's error")


# ---------------------------------------------------------------------------
# Secrets from the environment: sent, never stored or shown


@pytest.fixture
def guarded() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A page that answers only with the right basic auth and API key; records headers."""
    seen: list[dict[str, str]] = []
    expected = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            ok = self.headers.get("Authorization") == expected and (
                self.headers.get("X-Api-Key") == PASSWORD
            )
            body = _page("", 1).encode() if ok else b"denied"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/private", seen
    finally:
        server.shutdown()
        server.server_close()


def _stored_bytes(data: Path) -> bytes:
    """Every byte the data directory holds, gzip blobs decompressed."""
    found = b""
    for file in data.rglob("*"):
        if file.is_file():
            raw = file.read_bytes()
            found += gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return found


def test_secrets_from_the_environment_are_sent_and_never_stored(
    tmp_path: Path, guarded, cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    url, seen = guarded
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: private\n    url: {url}\n"
        "    headers_env: {X-Api-Key: TEST_DOCS_KEY}\n"
        "    auth_env: {username: TEST_DOCS_USER, password: TEST_DOCS_PASSWORD}\n"
        f"{FAST_SETTINGS}",
    )
    assert cli("watchlist", "validate", str(path)).code == 0
    missing = cli("check", "--watchlist", str(path))
    assert missing.code == 0 and "TEST_DOCS_KEY" in missing.out and not seen
    monkeypatch.setenv("TEST_DOCS_KEY", PASSWORD)
    monkeypatch.setenv("TEST_DOCS_USER", "reader")
    monkeypatch.setenv("TEST_DOCS_PASSWORD", PASSWORD)
    result = cli("-vv", "check", "--watchlist", str(path))
    assert result.code == 0 and seen[-1]["X-Api-Key"] == PASSWORD
    (capture,) = [c for c in cli("history", "private", "--format", "json").json() if c["status"]]  # type: ignore[union-attr]
    assert capture["status"] == 200
    outputs = [result.out + result.err, cli("history", "private").out, cli("show", "private").out]
    for text in outputs:
        assert PASSWORD not in text
    stored = _stored_bytes(cli.data_dir)
    assert PASSWORD.encode() not in stored
    assert base64.b64encode(f"reader:{PASSWORD}".encode()) not in stored
    assert b"TEST_DOCS_KEY" in stored  # the variable's name is kept: it says how it was fetched


def test_an_environment_value_no_header_can_carry_fails_the_fetch_naming_the_variable(
    tmp_path: Path, guarded, cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    url, seen = guarded
    monkeypatch.setenv("TEST_DOCS_KEY", f"{PASSWORD}\r\nX-Injected: 1")
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: private\n    url: {url}\n"
        f"    headers_env: {{X-Api-Key: TEST_DOCS_KEY}}\n{FAST_SETTINGS}",
    )
    result = cli("check", "--watchlist", str(path))
    assert result.code == 0 and "TEST_DOCS_KEY" in result.out and "line break" in result.out
    assert PASSWORD not in result.out + result.err and not seen


def test_rows_written_by_older_versions_are_redacted_on_display(
    tmp_path: Path, site: Site, cli
) -> None:  # type: ignore[no-untyped-def]
    """Before URLs with credentials were refused, they were stored: show them redacted."""
    path = write_watchlist(
        tmp_path / "w.yaml", f"watches:\n  - name: old\n    url: {site.url('/o')}\n{FAST_SETTINGS}"
    )
    for version in (1, 2):
        site.set("/o", _page("", version))
        assert cli("check", "--watchlist", str(path)).code == 0
    secret_url = site.url("/o").replace("http://", f"http://admin:{PASSWORD}@")
    database = sqlite3.connect(cli.data_dir / "monitor.db")
    with database:  # what an older version wrote (the append-only triggers lifted for it)
        database.execute("DROP TRIGGER IF EXISTS captures_no_update")
        database.execute("UPDATE captures SET url = ?, final_url = ?", (secret_url, secret_url))
        database.execute("UPDATE watches SET url = ?", (secret_url,))
    database.close()
    (change,) = cli("changes", "--format", "json").json()  # type: ignore[misc]
    assert change["url"] == redact(secret_url) and "***@" in change["url"]
    report = tmp_path / "old.html"
    shown = {
        "changes": cli("changes").out,
        "diff": cli("diff", str(change["id"]), "--html", str(report)).out,
        "diff json": cli("diff", str(change["id"]), "--format", "json").out,
        "history": cli("history", "old").out,
        "history json": cli("history", "old", "--format", "json").out,
        "atom": cli("changes", "--format", "atom").out,
        "html": report.read_text(encoding="utf-8"),
    }
    for where, text in shown.items():
        assert PASSWORD not in text, where


# ---------------------------------------------------------------------------
# The shared functions themselves


@pytest.mark.parametrize(
    ("name", "hostile"),
    [*HOSTILE_TEXT, ("credentials-in-text", f"see http://admin:{PASSWORD}@intranet.example/x")],
)
def test_the_shared_functions_leave_nothing_raw(name: str, hostile: str) -> None:
    assert_terminal_safe(terminal(hostile), "terminal()")
    encoded = json_text({"text": hostile, "中文": "是否是维族"}, indent=None)
    assert_terminal_safe(encoded, "json_text()")
    assert "是否是维族" in encoded  # CJK stays readable
    assert json.loads(encoded)["text"] == redact(hostile)  # escaped, not altered


def test_the_dashboard_and_its_api_show_hostile_text_safely(
    tmp_path: Path, site: Site, cli
) -> None:  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "web"))
    from webdata import client

    hostile = "".join(text for _, text in HOSTILE_TEXT)
    path = write_watchlist(
        tmp_path / "watch.yaml",
        f"watches:\n  - name: hostile\n    url: {site.url('/h')}\n    select: main\n"
        f"{FAST_SETTINGS}",
    )
    for version in (1, 2):
        site.set("/h", _page(hostile, version))
        assert cli("check", "--watchlist", str(path)).code == 0
    with client(cli.data_dir) as web:
        for url in (
            "/",
            "/changes",
            "/changes/1",
            "/watches/hostile",
            "/watches/hostile/diff?old=1&new=2",
        ):
            response = web.get(url)
            assert response.status_code == 200, url
            assert_html_safe(response.text, url)
        for url in ("/api/changes", "/api/changes/1"):
            response = web.get(url)
            assert response.status_code == 200, url
            assert_terminal_safe(response.text, url)
            assert "\\u202e" in response.text  # escaped, not dropped


SECRET_CASES = [
    # (environment, headers, headers_env, auth_env, expected headers or the error's words)
    ({"K": "v"}, (("X-Key", "file"),), (("x-key", "K"),), None, (("x-key", "v"),)),
    ({}, (), (("X-Key", "K"),), None, "K, which is not set"),
    ({"K": "caf\u00e9"}, (), (("X-Key", "K"),), None, "non-ASCII"),
    ({"K": "a\x1b[2J"}, (), (("X-Key", "K"),), None, "control character"),
    ({"U": "user:name", "P": "p"}, (), (), ("U", "P"), "contains ':'"),
    ({"U": "u"}, (), (), ("U", "P"), "P, which is not set"),
    (
        {"U": "reader", "P": PASSWORD},
        (),
        (),
        ("U", "P"),
        (("Authorization", "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()),),
    ),
]


@pytest.mark.parametrize(
    ("environment", "headers", "headers_env", "auth_env", "expected"), SECRET_CASES
)
def test_secrets_are_resolved_or_refused_naming_the_variable_only(
    environment: dict[str, str],
    headers: tuple[tuple[str, str], ...],
    headers_env: tuple[tuple[str, str], ...],
    auth_env: tuple[str, str] | None,
    expected: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.config.secrets import SecretError, request_headers

    for name in ("K", "U", "P"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if isinstance(expected, tuple):
        assert request_headers(headers, headers_env, auth_env) == expected
        return
    with pytest.raises(SecretError) as raised:
        request_headers(headers, headers_env, auth_env)
    assert str(expected) in str(raised.value)
    for value in environment.values():
        assert len(value) < 4 or value not in str(raised.value)  # never the value itself
