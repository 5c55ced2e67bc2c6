"""Dashboard security: binding, authentication, CSRF, headers, hostile page content."""

from __future__ import annotations

import base64
from pathlib import Path

import lxml.html
import pytest
from conftest import FAST_SETTINGS, run_cli, write_watchlist
from webdata import client, csrf, make_demo

from monitor.errors import ConfigError
from monitor.web import Auth, check_bind, hash_password

TOKEN = "s3cret-token-0123456789abcdef"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo") / "data")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_binding_beyond_this_machine_needs_authentication(host: str) -> None:
    with pytest.raises(ConfigError, match="refusing to listen"):
        check_bind(host, Auth())
    check_bind(host, Auth(token=TOKEN))  # allowed once access is protected


def test_monitor_serve_refuses_an_open_bind(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("MONITOR_SERVE_TOKEN", "MONITOR_SERVE_USERS"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli("--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0")
    assert result.code == 2 and "MONITOR_SERVE_TOKEN" in result.err


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MONITOR_SERVE_TOKEN": "short"}, "too short"),
        ({"MONITOR_SERVE_USERS": "ana:hunter2"}, "never given in clear"),
        ({"MONITOR_SERVE_SECRET": "x"}, "too short"),
    ],
)
def test_bad_secrets_in_the_environment_are_refused(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Auth.from_environment(variables)


def test_without_authentication_only_loopback_host_names_are_answered(demo: Path) -> None:
    with client(demo, base_url="http://attacker.example") as web:
        assert web.get("/").status_code == 400  # DNS rebinding finds nothing
    with client(demo, base_url="http://localhost:8765") as web:
        assert web.get("/").status_code == 200


def test_an_unauthenticated_request_to_a_protected_server_is_refused(demo: Path) -> None:
    users = {"ana": hash_password("correct horse battery")}
    auth = Auth(token=TOKEN, users=users)
    with client(demo, auth, base_url="http://192.0.2.1:8765") as web:
        page = web.get("/changes/1")
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        for path in ("/api/changes", "/feed.atom", "/openapi.json", "/captures/1/raw"):
            refused = web.get(path)
            assert refused.status_code in (401, 303), path
        assert web.get("/api/changes").headers["www-authenticate"].startswith("Basic")
        assert web.get("/static/style.css").status_code == 200  # the login page's style

        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert web.get("/api/changes", headers=bearer).status_code == 200
        wrong = {"authorization": "Bearer nope-nope-nope-nope"}
        assert web.get("/api/changes", headers=wrong).status_code == 401

        def basic(user: str, password: str) -> dict[str, str]:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"authorization": f"Basic {pair}"}

        assert (
            web.get("/feed.atom", headers=basic("ana", "correct horse battery")).status_code == 200
        )
        assert web.get("/feed.atom", headers=basic("reader", TOKEN)).status_code == 200
        assert web.get("/feed.atom", headers=basic("ana", "wrong")).status_code == 401


def test_login_gives_a_session_and_marks_carry_the_user(demo: Path, tmp_path: Path) -> None:
    from webdata import copy

    data = copy(demo, tmp_path / "data")
    auth = Auth(users={"ana": hash_password("correct horse battery")})
    with client(data, auth) as web:
        form = web.get("/login?next=/changes/1")
        token = csrf(form.text)
        failed = web.post(
            "/login", data={"user": "ana", "password": "nope", "csrf_token": token, "next": "/"}
        )
        assert failed.status_code == 401
        evil_next = web.post(
            "/login",
            data={
                "user": "ana",
                "password": "correct horse battery",
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
        assert evil_next.status_code == 303 and evil_next.headers["location"] == "/"
        assert web.get("/changes/1").status_code == 200  # the session cookie works
        page = web.get("/changes/1").text
        assert 'name="author"' not in page  # the author is the logged-in user
        web.post(
            "/changes/1/triage",
            data={"mark": "noise", "author": "mallory", "csrf_token": csrf(page)},
        )
        marks = web.get("/api/changes/1").json()["triage"]["marks"]
        assert [m["author"] for m in marks] == ["ana"]
        web.cookies.set("monitor_session", web.cookies["monitor_session"][:-2] + "00")
        assert web.get("/changes/1").status_code == 303  # a tampered session is no session


def test_cross_site_posts_are_refused(demo: Path, tmp_path: Path) -> None:
    from webdata import copy

    data = copy(demo, tmp_path / "data")
    with client(data) as web:
        token = csrf(web.get("/changes/1").text)
        form = {"mark": "important", "note": "x", "author": "a", "csrf_token": token}
        attempts = [
            ({}, {k: v for k, v in form.items() if k != "csrf_token"}),  # no token
            ({}, {**form, "csrf_token": "0" * 64}),  # a forged token
            ({"origin": "http://evil.example"}, form),  # another site's form
            ({"sec-fetch-site": "cross-site"}, form),
            ({"sec-fetch-site": "same-site"}, form),  # another port of this host
            ({"origin": "null"}, form),  # a sandboxed frame
        ]
        for headers, body in attempts:
            assert web.post("/changes/1/triage", data=body, headers=headers).status_code == 403
        assert web.post("/api/changes/1/triage", json={"mark": "noise"}).status_code == 403
        assert web.get("/api/changes/1").json()["triage"]["marks"] == []
        same_origin = {"origin": "http://127.0.0.1", "sec-fetch-site": "same-origin"}
        assert web.post("/changes/1/triage", data=form, headers=same_origin).status_code == 303
        api = web.post(
            "/api/changes/1/triage",
            json={"mark": "reviewed", "note": "api"},
            headers={"x-csrf-token": token},
        )
        assert api.status_code == 200 and api.json()["state"] == "reviewed"


HOSTILE = """<main><h1>Face &lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;</h1>
<p>Attributes: glasses{extra}</p>
<p><a href="javascript:alert(2)">docs</a> <img src=x onerror="alert(3)"></p>
<script>alert(4)</script><style>body{{display:none}}</style></main>"""
EXTRA = (
    ', &lt;img src=x onerror=alert(5)&gt;, "quoted" &amp; javascript:alert(6), '
    "&lt;/textarea&gt;&lt;/title&gt;&lt;/style&gt;&lt;script&gt;alert(7)&lt;/script&gt;, uyghur"
)


def test_hostile_page_content_never_becomes_markup(tmp_path: Path, site, cli) -> None:
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [uyghur, "<script>"]
watches:
  - name: hostile
    url: {site.url("/h")}
    vendor: "<b>Vendor</b>"
    tags: ["<i>tag</i>"]
{FAST_SETTINGS}""",
    )
    site.set("/h", HOSTILE.format(extra=EXTRA))
    assert cli("check", "--watchlist", str(path)).code == 0
    site.set("/h", HOSTILE.format(extra=""))
    assert cli("check", "--watchlist", str(path)).code == 0
    with client(cli.data_dir) as web:
        pages = [
            "/",
            "/changes",
            "/changes/1",
            "/watches/hostile",
            "/watches/hostile/diff?old=1&new=2",
            "/search?q=onerror",
            "/search?q=%3Cscript%3E",
        ]
        for url in pages:
            response = web.get(url)
            assert response.status_code == 200, url
            tree = lxml.html.fromstring(response.text)
            assert not tree.xpath("//script | //iframe | //object | //embed | //img | //style"), url
            assert not tree.xpath("//@*[starts-with(name(), 'on')]"), url
            hrefs = tree.xpath("//@href | //@src | //@action")
            assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], url
            assert len(tree.xpath("//textarea")) <= 1 and len(tree.xpath("//title")) == 1, url
        change = web.get("/changes/1").text
        assert "&lt;img src=x onerror=alert(5)&gt;" in change  # shown, as text
        found = web.get("/search?q=onerror").text
        assert "hostile" in found
