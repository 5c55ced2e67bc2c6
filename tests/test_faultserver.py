"""Sanity checks for every route of the fault-injection server (short timeouts)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from faultserver import (
    AKAMAI_REFERENCE,
    ETAG,
    GB18030_ONLY_CHAR,
    JA_TEXT,
    LAST_MODIFIED,
    ZH_TEXT,
    FaultServer,
    gzip_bomb,
)

TIMEOUT = httpx.Timeout(2.0)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT) as http:
        yield http


def _connect(server: FaultServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=2)
    return sock


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """Read one Content-Length-framed response; returns (head, body)."""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    buffer[:] = rest
    while len(buffer) < length:
        buffer += sock.recv(65536)
    body = bytes(buffer[:length])
    del buffer[:length]
    return head, body


def _read_all(sock: socket.socket) -> bytes:
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    return bytes(data)


# ------------------------------------------------------------------ basics


def test_ok_keep_alive_and_hits(server: FaultServer) -> None:
    with _connect(server) as sock:
        buffer = bytearray()
        for _ in range(3):  # three responses on one connection
            sock.sendall(_get("/ok?x=1"))
            head, body = _read_response(sock, buffer)
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b"Connection: close" not in head
            assert "一切正常".encode() in body
    assert server.hits("/ok") == 3
    assert server.hits("/ok?anything") == 3
    assert server.hits("/never") == 0
    assert [r.query for r in server.requests("/ok")] == [{"x": "1"}] * 3


def test_connection_close_and_head(server: FaultServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_get("/ok", "Connection: close\r\n"))
        data = _read_all(sock)  # the server closes after answering
    assert b"Connection: close" in data
    with _connect(server) as sock:
        sock.sendall(b"HEAD /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        head = _read_all(sock)
    assert head.endswith(b"\r\n\r\n") and b"Content-Length: " in head


def test_concurrent_clients(server: FaultServer) -> None:
    results: list[int] = []

    def fetch() -> None:
        results.append(httpx.get(server.url("/ok?delay=0.3"), timeout=TIMEOUT).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 10
    assert time.monotonic() - started < 1.5  # served in parallel, not one after another


def test_stop_is_prompt_with_hanging_clients() -> None:
    server = FaultServer().start()
    sockets = [_connect(server) for _ in range(4)]
    paths = ["/hang", "/hang", "/drip?bytes=100&delay=5", "/ok"]
    for sock, path in zip(sockets, paths, strict=True):
        sock.sendall(_get(path))
    sockets.append(_connect(server))  # idle keep-alive client that never sends anything
    time.sleep(0.1)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.5
    for sock in sockets:
        sock.close()


# ------------------------------------------------------------------ pages and sequences


def test_set_page_and_sequence(server: FaultServer, client: httpx.Client) -> None:
    server.set_page("doc", "<p>hello</p>", headers={"X-Test": "1"})
    response = client.get(server.url("/page/doc"))
    assert (response.status_code, response.text, response.headers["x-test"]) == (
        200,
        "<p>hello</p>",
        "1",
    )
    steps = [(200, None, b"v1"), (500, {"Retry-After": "0"}, b"oops"), (200, None, b"v2")]
    server.set_sequence("doc", steps)
    responses = [client.get(server.url("/page/doc")) for _ in range(5)]
    seen = [(r.status_code, r.content) for r in responses]
    assert seen == [(200, b"v1"), (500, b"oops"), (200, b"v2"), (200, b"v2"), (200, b"v2")]
    assert server.hits("/page/doc") == 6
    assert client.get(server.url("/page/missing")).status_code == 404
    assert client.get(server.url("/page/new-location")).status_code == 200


def test_set_page_honours_conditionals(server: FaultServer, client: httpx.Client) -> None:
    server.set_page("cond", b"<p>x</p>", headers={"ETag": '"abc"'})
    url = server.url("/page/cond")
    assert client.get(url, headers={"If-None-Match": '"abc"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"zzz"'}).status_code == 200
    server.set_page("plain", b"<p>x</p>", headers={"ETag": '"abc"'}, conditional=False)
    plain = client.get(server.url("/page/plain"), headers={"If-None-Match": '"abc"'})
    assert plain.status_code == 200


# ------------------------------------------------------------------ broken connections


def test_reset_sends_rst_without_response(server: FaultServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_get("/reset"))
        with pytest.raises(ConnectionResetError):
            sock.recv(65536)


def test_reset_after_headers(server: FaultServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_get("/reset-after-headers"))
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(65536)
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url("/reset-after-headers"), timeout=TIMEOUT)


def test_drip(server: FaultServer) -> None:
    started = time.monotonic()
    with httpx.stream("GET", server.url("/drip?bytes=5&delay=0.1"), timeout=1) as response:
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == b"drip."
    assert len(chunks) >= 3  # it arrived in pieces
    assert time.monotonic() - started >= 0.35


def test_trickle_is_slow_from_the_first_byte(server: FaultServer) -> None:
    with _connect(server) as sock:
        sock.settimeout(1)
        sock.sendall(_get("/trickle?bytes=3&delay=0.05"))
        started = time.monotonic()
        first = sock.recv(65536)
        data = first + _read_all(sock)
        elapsed = time.monotonic() - started
    assert len(first) == 1  # even the status line comes one byte at a time
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\nslo")
    assert elapsed >= 0.05 * (len(data) - 2)


def test_hang_times_out(server: FaultServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url("/hang"), timeout=0.2)


def test_truncate(server: FaultServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url("/truncate"), timeout=TIMEOUT)
    with _connect(server) as sock:
        sock.sendall(_get("/truncate"))
        head, _, body = _read_all(sock).partition(b"\r\n\r\n")
    assert b"Content-Length: 10000" in head and len(body) == 5000


def test_lie_length(server: FaultServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_get("/lie-length"))
        head, _, body = _read_all(sock).partition(b"\r\n\r\n")
    assert b"Content-Length: 100\r\n" in head and len(body) > 500
    assert len(httpx.get(server.url("/lie-length"), timeout=TIMEOUT).content) == 100


# ------------------------------------------------------------------ large bodies


def test_gzip_bomb(server: FaultServer) -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 << 20)  # a valid gzip member
    with httpx.stream("GET", server.url("/gzip-bomb"), timeout=TIMEOUT) as response:
        compressed = int(response.headers["content-length"])
        assert response.headers["content-encoding"] == "gzip"
        inflated = 0
        for chunk in response.iter_bytes():
            assert not chunk.strip(b"\0")
            inflated += len(chunk)
            if inflated >= 8 << 20:
                break
    assert compressed < 2 << 20  # ~1 MB on the wire ...
    assert inflated >= 8 << 20  # ... that keeps inflating
    bomb = gzip_bomb(1024)
    assert int.from_bytes(bomb[-4:], "little") == (1 << 30) & 0xFFFFFFFF


def test_big_streams(server: FaultServer, client: httpx.Client) -> None:
    head = client.head(server.url("/big"))
    assert head.headers["content-length"] == str(50 << 20)
    with client.stream("GET", server.url("/big?mb=2")) as response:
        assert sum(len(chunk) for chunk in response.iter_raw()) == 2 << 20
    assert client.get(server.url("/ok")).status_code == 200  # connection reusable after


# ------------------------------------------------------------------ encodings


def test_invalid_utf8(server: FaultServer, client: httpx.Client) -> None:
    response = client.get(server.url("/invalid-utf8"))
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    assert ZH_TEXT[:10] in response.content.decode("utf-8", "replace")


def test_gb18030_meta_only(server: FaultServer, client: httpx.Client) -> None:
    response = client.get(server.url("/gb18030"))
    assert "charset" not in response.headers["content-type"]
    assert b'<meta charset="gb18030">' in response.content
    text = response.content.decode("gb18030")
    assert ZH_TEXT in text and GB18030_ONLY_CHAR in text
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("gbk")  # needs the real GB18030 four-byte forms


def test_gbk_header(server: FaultServer, client: httpx.Client) -> None:
    response = client.get(server.url("/gbk-header"))
    assert response.headers["content-type"] == "text/html; charset=gbk"
    assert b"charset" not in response.content
    assert ZH_TEXT in response.text


def test_shift_jis(server: FaultServer, client: httpx.Client) -> None:
    response = client.get(server.url("/shift-jis"))
    assert "charset" not in response.headers["content-type"]
    assert b'http-equiv="Content-Type" content="text/html; charset=Shift_JIS"' in response.content
    assert JA_TEXT in response.content.decode("shift_jis")


def test_utf8_bom(server: FaultServer, client: httpx.Client) -> None:
    response = client.get(server.url("/utf8-bom"))
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert b"charset" not in response.content and "charset" not in response.headers["content-type"]
    assert ZH_TEXT in response.content.decode("utf-8-sig")


def test_undeclared_gb18030(server: FaultServer, client: httpx.Client) -> None:
    import charset_normalizer

    response = client.get(server.url("/undeclared-gb18030"))
    body = response.content
    assert "charset" not in response.headers["content-type"] and b"charset" not in body
    assert len(body) >= 2000
    assert ZH_TEXT in body.decode("gb18030")
    best = charset_normalizer.from_bytes(body).best()
    assert best is not None and ZH_TEXT in str(best)  # long enough to be detected


# ------------------------------------------------------------------ redirects


def test_redirects(server: FaultServer, client: httpx.Client) -> None:
    with pytest.raises(httpx.TooManyRedirects):
        client.get(server.url("/redirect-loop"), follow_redirects=True)
    loop = client.get(server.url("/redirect-loop"))
    assert (loop.status_code, loop.headers["location"]) == (302, "/redirect-loop/b")
    assert client.get(server.url("/redirect-loop/b")).headers["location"] == "/redirect-loop"

    chain = client.get(server.url("/redirect-chain?n=3"), follow_redirects=True)
    assert chain.status_code == 200 and len(chain.history) == 3

    home = client.get(server.url("/redirect-home/docs/api/v2/removed"), follow_redirects=True)
    assert home.url.path == "/" and "Welcome" in home.text
    assert client.get(server.url("/redirect-home")).headers["location"] == "/"

    elsewhere = "http://127.0.0.1:9/x?y=1"
    to = client.get(server.url("/redirect-to"), params={"url": elsewhere, "status": "307"})
    assert (to.status_code, to.headers["location"]) == (307, elsewhere)

    moved = client.get(server.url("/moved-permanently"), follow_redirects=True)
    assert [r.status_code for r in moved.history] == [301]
    assert moved.url.path == "/page/new-location" and moved.status_code == 200


# ------------------------------------------------------------------ statuses


def test_flap(server: FaultServer, client: httpx.Client) -> None:
    statuses = [client.get(server.url("/flap")).status_code for _ in range(4)]
    assert statuses == [500, 200, 500, 200]


def test_error_statuses(server: FaultServer, client: httpx.Client) -> None:
    for code in (500, 503, 404, 410):
        assert client.get(server.url(f"/{code}")).status_code == code
    assert client.get(server.url("/503?retry_after=7")).headers["retry-after"] == "7"
    assert client.get(server.url("/status/418")).status_code == 418


def test_429_then_ok(server: FaultServer, client: httpx.Client) -> None:
    first = client.get(server.url("/429?retry_after=2"))
    assert (first.status_code, first.headers["retry-after"]) == (429, "2")
    assert client.get(server.url("/429?retry_after=2")).status_code == 200


# ------------------------------------------------------------------ walls and soft 404s


def test_cloudflare(server: FaultServer, client: httpx.Client) -> None:
    response = client.get(server.url("/cloudflare"))
    assert response.status_code == 403
    assert response.headers["server"] == "cloudflare"
    assert response.headers["cf-mitigated"] == "challenge" and response.headers["cf-ray"]
    for marker in ("<title>Just a moment...</title>", "_cf_chl_opt", "challenge-platform"):
        assert marker in response.text


def test_aws_waf_and_akamai(server: FaultServer, client: httpx.Client) -> None:
    waf = client.get(server.url("/aws-waf"))
    assert (waf.status_code, waf.headers["x-amzn-waf-action"]) == (403, "captcha")
    akamai = client.get(server.url("/akamai"))
    assert (akamai.status_code, akamai.headers["server"]) == (403, "AkamaiGHost")
    assert "Access Denied" in akamai.text and f"Reference #{AKAMAI_REFERENCE}" in akamai.text
    encoded = client.get(server.url("/akamai?entities=1")).text
    assert "Reference&#32;&#35;18&#46;2d5e1402" in encoded


def test_captcha_and_soft_404(server: FaultServer, client: httpx.Client) -> None:
    captcha = client.get(server.url("/captcha-200"))
    assert captcha.status_code == 200
    assert 'class="g-recaptcha"' in captcha.text and "verify you are human" in captcha.text
    soft = client.get(server.url("/soft404"))
    assert soft.status_code == 200 and "<title>Page Not Found</title>" in soft.text
    assert "<h1>404 - Page not found</h1>" in soft.text
    soft_zh = client.get(server.url("/soft404-zh"))
    assert soft_zh.status_code == 200 and "<title>页面不存在</title>" in soft_zh.text


# ------------------------------------------------------------------ validators


def test_etag(server: FaultServer, client: httpx.Client) -> None:
    url = server.url("/etag")
    first = client.get(url)
    assert (first.status_code, first.headers["etag"]) == (200, ETAG)
    for validator in (ETAG, f"W/{ETAG}", f'"other", {ETAG}', "*"):
        again = client.get(url, headers={"If-None-Match": validator})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", ETAG)
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_last_modified(server: FaultServer, client: httpx.Client) -> None:
    url = server.url("/last-modified")
    assert client.get(url).headers["last-modified"] == LAST_MODIFIED
    assert client.get(url, headers={"If-Modified-Since": LAST_MODIFIED}).status_code == 304
    later = "Thu, 02 Nov 2023 08:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": later}).status_code == 304
    earlier = "Tue, 31 Oct 2023 08:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "garbage"}).status_code == 200
