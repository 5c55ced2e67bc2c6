"""Hostile servers against the fetcher (issue 9): slow answers and where requests may go.

Two tables. SLOW: servers that trickle, drip, hang or ask for long waits; each check ends
within the fetch's time budget (a bound derived from the timeout) with a recorded
``transient`` outcome and a reason that says why, and a merely slow answer is not asked
for again. WHERE: redirects from one kind of address space to another; a watch of a
public address is never sent into private, loopback or link-local space (checked on the
address each connection is opened to), a loopback or intranet watch may stay in its own.

Only loopback is ever contacted: the test resolver maps ``*.example`` names to 127.0.0.x
and the test classifier declares 127.0.0.2 "public", 127.0.0.3 "private" and 127.0.0.4
"link-local" (a stand-in for a cloud metadata service at 169.254.169.254).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import Result, loopback, run_cli, write_watchlist
from faultserver import FaultServer

from monitor.check import run_checks
from monitor.config.watchlist import BrowserOptions, Settings, Watch, Watchlist
from monitor.fetch.browser import BrowserFetcher, chromium_path
from monitor.fetch.guard import AddressKind, AddressPolicy, IPAddress, address_kind
from monitor.fetch.guarded import VerifyingContext
from monitor.fetch.http import FetchPolicy, HttpFetcher
from monitor.model import Capture
from monitor.store import Store

PUBLIC, PRIVATE, LINK_LOCAL = "127.0.0.2", "127.0.0.3", "127.0.0.4"
DECLARED = {
    PUBLIC: AddressKind.PUBLIC,
    PRIVATE: AddressKind.PRIVATE,
    LINK_LOCAL: AddressKind.LINK_LOCAL,
}


def declared_kind(address: IPAddress, port: int) -> AddressKind:
    return DECLARED.get(str(address)) or address_kind(address)


@dataclass
class NameTable:
    """A resolver that knows only its table; a list of answers is used one per look-up
    (the last one repeats), so a name can rebind between two look-ups."""

    names: dict[str, list[str]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test's table")
        seen = self.lookups.count(host)
        self.lookups.append(host)
        answers = self.names[host]
        return [answers[min(seen, len(answers) - 1)]]


def resolver() -> NameTable:
    return NameTable(
        {
            "public.example": [PUBLIC],
            "docs.public.example": [PUBLIC],
            "intranet.example": [PRIVATE],
            "metadata.example": [LINK_LOCAL],
            "localhost.example": ["127.0.0.1"],
            "rebind.example": [PUBLIC, LINK_LOCAL],  # public when asked first, then not
        }
    )


POLICY = FetchPolicy(
    connect_timeout=1.0,
    read_timeout=0.5,  # so: an attempt may take 1.5 s, a whole fetch 2 s
    retries=2,
    backoff=0.05,
    max_wait=10.0,
    host_delay=0,
    max_bytes=5 * 1024 * 1024,
)
BOUND = POLICY.check_seconds
SLACK = 1.0  # scheduling noise on a shared two-core machine


@dataclass
class Servers:
    loopback: FaultServer
    public: FaultServer
    private: FaultServer
    metadata: FaultServer

    def __iter__(self) -> Iterator[FaultServer]:
        return iter((self.loopback, self.public, self.private, self.metadata))


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    started = Servers(*(FaultServer(host).start() for host in ("127.0.0.1", *DECLARED)))
    try:
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as opened:
        yield opened


def check(store: Store, url: str, policy: FetchPolicy) -> tuple[dict[str, object], float]:
    """One check of ``url``: its recorded capture row, and the check's wall time."""
    watch = Watch(name="w", url=url)
    watchlist = Watchlist(path="<test>", watches=(watch,), settings=Settings())
    started = time.monotonic()
    (result,) = asyncio.run(run_checks(store, watchlist, [watch], policy))
    elapsed = time.monotonic() - started
    assert result.error is None, result.error
    return dict(store.capture(result.capture_id)), elapsed


# ------------------------------------------------------------------ slow servers

SLOW = [
    # path, outcome, error class, attempts, words in the reason
    ("/trickle?bytes=200&delay=0.05", "transient", "transient", 1, "headers were still coming"),
    ("/drip?bytes=400&delay=0.02", "transient", "transient", 1, "bytes of the body had come"),
    ("/hang", "transient", "transient", 3, "the server went silent"),  # worth retrying
    ("/503?retry_after=5", "transient", None, 1, None),  # the wait would outlast the budget
    ("/flap", "ok", None, 2, None),  # a quick failure is still retried
]


@pytest.mark.parametrize(
    ("path", "outcome", "error_class", "attempts", "reason"), SLOW, ids=[s[0] for s in SLOW]
)
def test_a_slow_server_holds_a_check_no_longer_than_its_budget(
    servers: Servers,
    store: Store,
    path: str,
    outcome: str,
    error_class: str | None,
    attempts: int,
    reason: str | None,
) -> None:
    servers.loopback.reset_hits()
    row, elapsed = check(store, servers.loopback.url(path), POLICY)
    assert (row["outcome"], row["error_class"], row["attempts"]) == (
        outcome,
        error_class,
        attempts,
    )
    if reason:
        assert reason in str(row["error"])
    assert servers.loopback.hits(path.split("?")[0]) == attempts
    assert elapsed < BOUND + SLACK, f"the check took {elapsed:.1f}s, bound {BOUND:g}s"


def test_a_slow_answer_is_not_asked_for_again_even_with_time_left(
    servers: Servers, store: Store
) -> None:
    roomy = replace(POLICY, check_deadline=10 * POLICY.attempt_seconds)
    row, elapsed = check(store, servers.loopback.url("/trickle?bytes=200&delay=0.05"), roomy)
    assert (row["outcome"], row["attempts"]) == ("transient", 1)
    assert elapsed < POLICY.attempt_seconds + SLACK


def test_the_bound_follows_the_configured_timeout() -> None:
    policy = FetchPolicy.from_settings(Settings(timeout=30))
    assert (policy.attempt_seconds, policy.check_seconds) == (90.0, 120.0)
    assert FetchPolicy.from_settings(Settings(timeout=0.5)).check_seconds == BOUND


def test_monitor_check_on_a_list_with_a_trickling_page_ends_within_the_bound(
    servers: Servers, tmp_path: Path
) -> None:
    """The command as a user runs it: one trickling page, one good page."""
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
watches:
  - name: trickling
    url: {servers.loopback.url("/trickle?bytes=500&delay=0.05")}
  - name: fine
    url: {servers.loopback.url("/ok")}
settings:
  host_delay: 0
  retries: 2
  timeout: 0.5
""",
    )
    started = time.monotonic()
    result: Result = run_cli(
        "--data-dir", str(tmp_path / "data"), "check", "--watchlist", str(path)
    )
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    assert "transient" in result.out and "too slow" in result.out
    assert elapsed < BOUND + SLACK + 2.0  # plus the command's own start and store


# ------------------------------------------------------------------ where requests may go


# redirect target -> (host in the URL, the server of that kind that would answer)
TARGETS = {
    "public": ("docs.public.example", "public"),
    "loopback": ("127.0.0.1", "loopback"),
    "localhost-name": ("localhost.example", "loopback"),
    "mapped-loopback": ("[::ffff:127.0.0.1]", "loopback"),
    "unspecified": ("0.0.0.0", "loopback"),
    "private": ("intranet.example", "private"),
    "link-local": ("metadata.example", "metadata"),
    "link-local-literal": (LINK_LOCAL, "metadata"),
    "rebind": ("rebind.example", "metadata"),
}


def target_server(servers: Servers, target: str) -> FaultServer:
    server: FaultServer = getattr(servers, TARGETS[target][1])
    return server


def hop(servers: Servers, target: str) -> str:
    return f"http://{TARGETS[target][0]}:{target_server(servers, target).port}/ok"


STARTS = {
    "public": ("public.example", "public"),
    "loopback": ("127.0.0.1", "loopback"),
    "private": ("intranet.example", "private"),
}

WHERE = [
    # start, redirect target (None: no redirect), outcome, error class, words in the reason
    ("public", None, "ok", None, None),
    ("public", "public", "ok", None, None),
    ("public", "loopback", "error", "refused", "loopback address space"),
    ("public", "localhost-name", "error", "refused", "loopback address space"),
    ("public", "mapped-loopback", "error", "refused", "loopback address space"),
    ("public", "unspecified", "error", "refused", "loopback address space"),
    ("public", "private", "error", "refused", "private address space"),
    ("public", "link-local", "error", "refused", "cloud metadata"),
    ("public", "link-local-literal", "error", "refused", "link-local address space"),
    ("rebind", None, "error", "refused", "link-local"),  # public at first look, then not
    ("loopback", None, "ok", None, None),
    ("loopback", "loopback", "ok", None, None),
    ("loopback", "public", "ok", None, None),
    ("loopback", "private", "error", "refused", "private address space"),
    ("loopback", "link-local", "error", "refused", "link-local"),
    ("private", "private", "ok", None, None),
    ("private", "public", "ok", None, None),
    ("private", "loopback", "error", "refused", "loopback address space"),
    ("private", "link-local", "error", "refused", "link-local"),
]


def start_url(servers: Servers, start: str, target: str | None) -> str:
    if start == "rebind":
        return hop(servers, "rebind")
    name, kind = STARTS[start]
    server = {"public": servers.public, "loopback": servers.loopback}.get(kind, servers.private)
    base = f"http://{name}:{server.port}"
    if target is None:
        return f"{base}/ok"
    return f"{base}/redirect-to?url={quote(hop(servers, target), safe='')}"


@pytest.mark.parametrize(
    ("start", "target", "outcome", "error_class", "reason"),
    WHERE,
    ids=[f"{w[0]}->{w[1] or 'itself'}" for w in WHERE],
)
def test_redirects_stay_out_of_private_space(
    servers: Servers,
    store: Store,
    start: str,
    target: str | None,
    outcome: str,
    error_class: str | None,
    reason: str | None,
) -> None:
    for server in servers:
        server.reset_hits()
    names = resolver()
    policy = replace(POLICY, addresses=AddressPolicy(names, declared_kind))
    row, _ = check(store, start_url(servers, start, target), policy)
    assert (row["outcome"], row["error_class"]) == (outcome, error_class), row["error"]
    if reason is not None:
        assert reason in str(row["error"]) and "refused to connect" in str(row["error"])
        assert row["attempts"] == 1  # a refusal is final, never retried
        never = target_server(servers, target or start)
        assert never.hits("/ok") == 0  # the refused address was never contacted


def test_a_pooled_loopback_connection_is_not_reused_by_a_public_watch(
    servers: Servers,
) -> None:
    """A keep-alive connection opened for a loopback watch is never handed to a public
    watch's redirect hop to the same address and port (each zone has its own pool)."""
    policy = replace(POLICY, addresses=AddressPolicy(resolver(), declared_kind))
    local = servers.loopback.url("/ok")
    public = start_url(servers, "public", "loopback")

    async def both() -> tuple[str | None, str | None]:
        async with HttpFetcher(policy) as fetcher:
            first = await fetcher.fetch(local)
            second = await fetcher.fetch(public)
            return first.error_class, second.error_class

    assert asyncio.run(both()) == (None, "refused")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),  # AWS, GCP, Azure metadata
        ("fd00:ec2::254", "private"),  # AWS metadata over IPv6 (unique-local)
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 form of it
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # shared address space (carrier-grade NAT)
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "loopback"),
        ("224.0.0.1", "private"),  # multicast: never a web server
        ("8.8.8.8", "public"),
        ("2a00:1450:4001::1", "public"),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    """The real classifier (no connection is made to any of these)."""
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_the_default_policy_refuses_a_public_watch_sent_to_a_literal_metadata_address() -> None:
    """With the real resolver and classifier: refused before any connection is tried."""

    async def zone_and_refusal() -> tuple[AddressKind, str]:
        policy = AddressPolicy()
        where = await policy.zone_of("https://8.8.8.8/docs")
        try:
            await policy.permitted("169.254.169.254", 80, where)
        except Exception as error:  # AddressRefused
            return where, str(error)
        return where, ""

    where, refusal = asyncio.run(zone_and_refusal())
    assert where is AddressKind.PUBLIC
    assert "169.254.169.254" in refusal and "cloud metadata" in refusal


# ------------------------------------------------------------------ the browser, too

browser_needed = pytest.mark.skipif(
    not os.access(chromium_path(), os.X_OK) and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it; CI never skips)",
)

SCRIPTED = """<html><head><title>Docs</title></head><body><main><h1>Face API</h1>
<p>Detects faces.</p><p id="extra">-</p></main><script>{script}</script></body></html>"""
SCRIPTS = {
    # a subresource (XHR) into link-local space: refused, the page itself is fine
    "fetch-metadata": "fetch('{metadata}').then(r => r.text())"
    ".then(t => document.getElementById('extra').textContent = t).catch(() => 0);",
    # the page sends the browser itself there: the render is refused
    "navigate-metadata": "location.href = '{metadata}';",
}

BROWSER_WHERE = [
    # start, redirect target or script, outcome (error class, or None for a page)
    ("public", None, None),
    ("public", "public", None),
    ("public", "loopback", "refused"),
    ("public", "link-local", "refused"),
    ("rebind", None, "refused"),
    ("loopback", "loopback", None),
    ("loopback", "private", "refused"),
    ("public", "fetch-metadata", None),
    ("public", "navigate-metadata", "refused"),
]


def browser_start(servers: Servers, start: str, target: str | None) -> str:
    if target not in SCRIPTS:
        return start_url(servers, start, target)
    metadata = hop(servers, "link-local")
    servers.public.set_page(
        "scripted", SCRIPTED.format(script=SCRIPTS[target]).replace("{metadata}", metadata)
    )
    return f"http://public.example:{servers.public.port}/page/scripted"


@browser_needed
@pytest.mark.parametrize(
    ("start", "target", "error_class"),
    BROWSER_WHERE,
    ids=[f"{w[0]}->{w[1] or 'itself'}" for w in BROWSER_WHERE],
)
def test_a_browser_render_is_held_to_the_same_rule(
    servers: Servers, start: str, target: str | None, error_class: str | None
) -> None:
    for server in servers:
        server.reset_hits()
    policy = replace(POLICY, addresses=AddressPolicy(resolver(), declared_kind))
    url = browser_start(servers, start, target)
    options = BrowserOptions(wait_until="load", delay=0.5, timeout=10)

    async def render() -> Capture:
        async with HttpFetcher(policy) as http, BrowserFetcher(http) as browser:
            return await browser.render(url, (), options)

    capture = asyncio.run(render())
    assert capture.error_class == error_class, capture.error
    if error_class is not None:
        assert capture.error and "refused to connect" in capture.error
    else:
        wording = b"Detects faces" if target in SCRIPTS else b"Fault server OK"
        assert capture.status == 200 and wording in capture.body
    if error_class is not None or target in SCRIPTS:
        never = servers.metadata if target in SCRIPTS else target_server(servers, target or start)
        assert never.hits("/ok") == 0  # the refused address was never contacted


# ------------------------------------------------------------------ TLS, always verified


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with this certificate; yields its URL."""

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<main>Detects faces</main>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with loopback(Hello, tls=context) as base:
        yield f"{base}/"


def fetch_once(url: str) -> Capture:
    async def fetch() -> Capture:
        async with HttpFetcher(replace(POLICY, retries=0)) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(fetch())


def test_tls_is_verified_through_the_guard(tmp_path: Path) -> None:
    """An HTTPS server whose certificate no CA signed: the fetch fails, nothing is read."""
    with tls_server(*self_signed(tmp_path)) as url:
        capture = fetch_once(url)
    assert capture.status is None and capture.error_class == "transient"
    assert capture.error and "CERTIFICATE_VERIFY_FAILED" in capture.error


def test_the_ca_bundle_is_read_at_the_first_handshake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context reads its CA bundle when a TLS connection needs it, not before (a
    plain-HTTP watchlist never pays for it), and a peer that chains to it is trusted."""
    assert VerifyingContext().cert_store_stats()["x509"] == 0
    cert, key = self_signed(tmp_path)
    monkeypatch.setattr("monitor.fetch.guarded.ca_bundle", lambda: str(cert))
    with tls_server(cert, key) as url:
        capture = fetch_once(url)
    assert capture.status == 200 and b"Detects faces" in capture.body
    trusting = VerifyingContext()
    trusting.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="127.0.0.1")
    assert trusting.cert_store_stats()["x509"] == 1


@browser_needed
def test_a_render_ends_within_its_timeout_for_all_of_it(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow load followed by a ``wait_for`` that never comes: each step alone stays
    under the timeout, together they would not; the render's own deadline ends it."""
    monkeypatch.setattr("monitor.fetch.browser._READ_GRACE_SECONDS", 0.0)
    url = servers.loopback.url("/drip?bytes=30&delay=0.05")  # about 1.5 s to load
    options = BrowserOptions(wait_until="load", wait_for="#never", timeout=2)

    async def render() -> Capture:
        async with HttpFetcher(POLICY) as http, BrowserFetcher(http) as browser:
            await browser.render(servers.loopback.url("/ok"), (), BrowserOptions("load"))
            started = time.monotonic()
            capture = await browser.render(url, (), options)
            return replace(capture, elapsed=time.monotonic() - started)

    capture = asyncio.run(render())
    assert capture.error_class == "transient"
    assert capture.error == "browser: the page did not finish rendering within 2s"
    assert capture.elapsed is not None and capture.elapsed < 2 + SLACK
