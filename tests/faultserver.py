"""A fault-injection HTTP/1.1 server for the test suite.

Stdlib only and written against raw sockets, so it can misbehave at the byte level:
reset connections, lie about lengths, drip bytes, hang, serve gzip bombs, bot walls,
soft 404s and pages in legacy encodings. Binds 127.0.0.1 on an ephemeral port.

    with FaultServer() as server:
        server.set_sequence("doc", [(200, None, b"v1"), (500, None, b""), (200, None, b"v2")])
        httpx.get(server.url("/page/doc"))
        assert server.hits("/page/doc") == 1

Routes (``?name=value`` parameters in brackets, defaults shown):

=============================  ==============================================================
``/``                          generic site home page (target of ``/redirect-home``)
``/ok`` [delay=0]              200 small UTF-8 HTML page, optionally after ``delay`` seconds
``/page/<name>``               content from ``set_page`` / ``set_sequence``; 404 when unknown
``/status/<code>``             an empty-ish page with that status
``/reset``                     reads the request, then RST (SO_LINGER 0), no response
``/reset-after-headers``       status line and headers, then RST
``/drip`` [bytes=60 delay=0.5] valid response whose body drips 1 byte every ``delay`` s
``/trickle`` [bytes=60          the whole response, status line and headers too, 1 byte
delay=0.5]                     every ``delay`` s (a server that is slow, never silent)
``/hang``                      accepts, never answers (until ``stop()``)
``/truncate`` [length=10000    declares ``length`` bytes, sends ``sent`` bytes, closes
sent=5000]
``/lie-length`` [length=100]   declares fewer bytes than it sends, then closes
``/gzip-bomb`` [mb=1024]       ``Content-Encoding: gzip``, ~1 MB that inflates to ``mb`` MiB
``/big`` [mb=50]               ``mb`` MiB HTML body, streamed in chunks
``/invalid-utf8``              declared UTF-8, invalid byte sequences inside Chinese text
``/gb18030``                   GB18030, declared only by ``<meta charset="gb18030">``
``/gbk-header``                GBK, declared only by the HTTP ``charset=gbk``
``/shift-jis``                 Shift_JIS, declared by ``<meta http-equiv>``
``/utf8-bom``                  UTF-8 with a BOM and no declaration
``/undeclared-gb18030``        ~2 KB+ of Chinese in GB18030, no declaration anywhere
``/redirect-loop``             302 → ``/redirect-loop/b`` → 302 → ``/redirect-loop``
``/redirect-chain`` [n=3       ``n`` redirects (``status`` 301/302/307/308), then 200
status=302]
``/redirect-home[/...]``       302 → ``/`` (a deep URL sent to the site root)
``/redirect-to`` [url          ``status`` → ``url``, any host or port (another server)
status=302]
``/moved-permanently``         301 → ``/page/new-location`` (a default page, overridable)
``/flap``                      odd hits 500, even hits 200
``/500`` ``/503`` ``/404``     that status; ``/503`` [retry_after] adds Retry-After
``/410``
``/429`` [retry_after=1]       odd hits 429 + Retry-After, even hits 200
``/cloudflare``                403 Cloudflare managed challenge ("Just a moment...")
``/aws-waf``                   403 with ``x-amzn-waf-action: captcha``
``/akamai`` [entities=0]       403 Akamai "Access Denied ... Reference #18.2d5e1402..."
``/captcha-200``               200 reCAPTCHA "verify you are human" wall
``/soft404`` ``/soft404-zh``   200 pages whose title says the page does not exist
``/etag``                      ETag ``ETAG``; 304 on a matching If-None-Match
``/last-modified``             Last-Modified ``LAST_MODIFIED``; 304 on If-Modified-Since
=============================  ==============================================================

Pages set with ``set_page`` whose headers carry ``ETag`` / ``Last-Modified`` honour
conditional requests too. ``hits(path)`` counts requests per path (query ignored), and
drives ``/flap`` and ``/429``. HEAD is answered without a body; keep-alive is the default
for HTTP/1.1 except on routes that break the connection on purpose.
"""

from __future__ import annotations

import contextlib
import functools
import http
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qsl, unquote, urlsplit

Headers = Mapping[str, str]
SequenceItem = tuple[int, Headers | None, bytes | str]

HTML = "text/html; charset=utf-8"
ETAG = '"fault-v1-5d41402a"'
LAST_MODIFIED = "Wed, 01 Nov 2023 08:00:00 GMT"
AKAMAI_REFERENCE = "18.2d5e1402.1700000000.1a2b3c"
CF_RAY = "8a1b2c3d4e5f6071-SJC"
MAX_HEADER_BYTES = 65536
_IDLE_TIMEOUT = 30.0  # a forgotten keep-alive client must not keep a thread forever


# --------------------------------------------------------------------------- pages


def _html(title: str, body: str, lang: str = "en", head: str = "") -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title}</title>{head}</head>\n<body>{body}</body></html>\n"
    ).encode()


OK_BODY = _html(
    "Fault server OK",
    "<h1>Fault server OK</h1><p>Plain page: 一切正常 (all good).</p>",
)
HOME_BODY = _html(
    "Example Cloud Documentation",
    '<h1>Welcome to Example Cloud</h1><p>Browse the <a href="/page/new-location">guides</a>, '
    "the API reference and the release notes.</p>",
)
NEW_LOCATION_BODY = _html(
    "New location", "<h1>New location</h1><p>This document moved here permanently.</p>"
)
FLAP_BODY = _html("Flapping page", "<h1>Flapping page</h1><p>Stable content when up.</p>")

# Chinese text used by the encoding routes; each route's decoded text contains it.
ZH_TEXT = "对象存储服务支持跨区域复制，请在控制台中开启版本控制功能。"
ZH_PARAGRAPHS = (
    "云服务器实例支持按量付费和包年包月两种计费方式，您可以根据业务需求随时调整配置。",
    "对象存储提供高可靠、低成本的数据存储能力，数据自动冗余存储在多个可用区中。",
    "访问密钥用于调用应用程序接口时的身份验证，请妥善保管，切勿泄露给第三方。",
    "负载均衡将访问流量自动分发到多台后端服务器，提升应用系统的对外服务能力。",
    "数据库实例支持自动备份与按时间点恢复，备份文件默认保留七天，最长可保留两年。",
    "日志服务可以实时采集、查询和分析海量日志数据，并支持设置告警规则和通知策略。",
    "专有网络为云上资源构建隔离的网络环境，您可以自定义网段、路由表和网关。",
    "内容分发网络把源站内容缓存到边缘节点，使用户就近获取所需内容，降低访问延迟。",
)
# U+20BB7 exists in GB18030 (four-byte form) but not in GBK: only a real GB18030 decode
# gets it right.
GB18030_ONLY_CHAR = "𠮷"
JA_TEXT = "このページでは、ストレージサービスの設定方法について説明します。"

INVALID_UTF8_BODY = (
    b'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>'
    + "无效编码测试".encode()
    + b"</title></head><body><p>"
    + ZH_TEXT[:10].encode()
    + b"\xff\xfe"  # never valid in UTF-8
    + ZH_TEXT[10:].encode()
    + b"</p><p>"
    + "截断的字符".encode()
    + "中".encode()[:2]  # a truncated three-byte sequence
    + b" "
    + b"\xc3\x28"  # invalid continuation byte
    + "结束。".encode()
    + b"</p></body></html>"
)
GB18030_BODY = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="gb18030">'
    f"<title>产品文档</title></head><body><h1>产品文档</h1><p>{ZH_TEXT}</p>"
    f"<p>生僻字：{GB18030_ONLY_CHAR}。{ZH_PARAGRAPHS[0]}</p></body></html>"
).encode("gb18030")
GBK_BODY = (
    '<!DOCTYPE html><html lang="zh-CN"><head><title>接口说明</title></head>'
    f"<body><h1>接口说明</h1><p>{ZH_TEXT}</p><p>{ZH_PARAGRAPHS[1]}</p></body></html>"
).encode("gbk")
SHIFT_JIS_BODY = (
    '<!DOCTYPE html><html lang="ja"><head>'
    '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    f"<title>設定ガイド</title></head><body><h1>設定ガイド</h1><p>{JA_TEXT}</p>"
    "</body></html>"
).encode("shift_jis")
UTF8_BOM_BODY = (
    b"\xef\xbb\xbf"
    + (
        '<!DOCTYPE html><html lang="zh-CN"><head><title>带字节序标记的页面</title></head>'
        f"<body><h1>带字节序标记的页面</h1><p>{ZH_TEXT}</p></body></html>"
    ).encode()
)
UNDECLARED_GB18030_BODY = (
    "<!DOCTYPE html><html><head><title>开发者指南</title></head><body><h1>开发者指南</h1>"
    + "".join(
        f"<h2>第{n + 1}节</h2><p>{p}</p><p>{ZH_TEXT}</p>" for n, p in enumerate(ZH_PARAGRAPHS * 2)
    )
    + "</body></html>"
).encode("gb18030")

CLOUDFLARE_BODY = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
    '<meta name="robots" content="noindex,nofollow">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    "<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15}</style>"
    '</head><body class="no-js"><div class="main-wrapper" role="main">'
    '<div class="main-content"><h1 class="zone-name-title h1">docs.example.com</h1>'
    '<h2 class="h2" id="challenge-running">Verifying you are human. '
    "This may take a few seconds.</h2>"
    '<noscript><div class="h2"><span id="challenge-error-text">'
    "Enable JavaScript and cookies to continue</span></div></noscript></div></div>"
    "<script>(function(){window._cf_chl_opt={cvId: '3',cZone: \"docs.example.com\","
    f"cType: 'managed',cNounce: '41234',cRay: '{CF_RAY.split('-')[0]}',cHash: 'a1b2c3',"
    "cUPMDTk: \"/cloudflare?__cf_chl_tk=abc\",cFPWv: 'g',cTTimeMs: '1000'};"
    "var cpo = document.createElement('script');"
    f"cpo.src = '/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray={CF_RAY}';"
    "document.getElementsByTagName('head')[0].appendChild(cpo);}());</script>"
    '<div class="footer" role="contentinfo"><div class="footer-inner">'
    f'<div class="clearfix diagnostic-wrapper"><div class="ray-id">Ray ID: <code>{CF_RAY}'
    '</code></div></div><div class="text-center">Performance &amp; security by '
    '<a rel="noopener noreferrer" href="https://www.cloudflare.com">Cloudflare</a>'
    "</div></div></div></body></html>"
).encode()
AWS_WAF_BODY = (
    b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    b"<title>Human Verification</title>"
    b'<script type="text/javascript" src="https://0123abcd.token.awswaf.com/0123abcd/'
    b'challenge.js"></script><script>window.awsWafCookieDomainList = [];'
    b'window.gokuProps = {"key":"AQIDAHj","iv":"CgAFVDI","context":"x"};</script>'
    b'</head><body><div id="captcha-container"></div><noscript><h1>JavaScript is disabled'
    b"</h1>In order to continue, you need to verify that you're not a robot by solving a "
    b"CAPTCHA puzzle.</noscript><script>AwsWafIntegration.saveReferrer();"
    b"AwsWafCaptcha.renderCaptcha(document.getElementById('captcha-container'), "
    b"{onSuccess: () => window.location.reload()});</script></body></html>"
)


def _akamai_body(url: str, entities: bool) -> bytes:
    if entities:  # what Akamai really sends: punctuation as numeric entities
        reference = "Reference&#32;&#35;" + AKAMAI_REFERENCE.replace(".", "&#46;")
        url = url.replace(":", "&#58;").replace("/", "&#47;").replace(".", "&#46;")
    else:
        reference = f"Reference #{AKAMAI_REFERENCE}"
    return (
        "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
        f' \nYou don\'t have permission to access "{url}" on this server.<P>\n{reference}\n'
        f"<P>https://errors.edgesuite.net/{AKAMAI_REFERENCE}</P>\n</BODY>\n</HTML>\n"
    ).encode()


CAPTCHA_BODY = _html(
    "Security check",
    '<div class="wall"><h1>Please verify you are human</h1>'
    "<p>We have detected unusual traffic from your network. Complete the check below "
    'to continue to the documentation.</p><form action="/captcha-200" method="post">'
    '<div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI">'
    '</div><button type="submit">Continue</button></form></div>',
    head='<script src="https://www.google.com/recaptcha/api.js" async defer></script>',
)
SOFT404_BODY = _html(
    "Page Not Found",
    '<header><a href="/">Example Cloud Docs</a></header><main><h1>404 - Page not found</h1>'
    "<p>The page you are looking for might have been removed, had its name changed, or is "
    'temporarily unavailable.</p><p><a href="/">Go to the documentation home</a></p></main>',
)
SOFT404_ZH_BODY = _html(
    "页面不存在",
    '<header><a href="/">示例云文档中心</a></header><main><h1>抱歉，您访问的页面不存在</h1>'
    '<p>该页面可能已被删除、更名或暂时不可用。</p><p><a href="/">返回文档首页</a></p></main>',
    lang="zh-CN",
)
ETAG_BODY = _html("ETag page", "<h1>ETag page</h1><p>Validated by its entity tag.</p>")
LAST_MODIFIED_BODY = _html(
    "Last-Modified page", "<h1>Last-Modified page</h1><p>Validated by its date.</p>"
)
# The filler for /big: markup-shaped, so a parser working on it does real work.
_BIG_CHUNK = (b"<p>Lorem ipsum documentation filler, line of a very large page.</p>\n" * 1000)[
    : 64 * 1024
]


@functools.cache
def gzip_bomb(mb: int = 1024) -> bytes:
    """A gzip member that inflates to ``mb`` MiB of zeros, about 1 KB per MiB.

    After a full flush, deflate output for an identical input block is byte-identical,
    so one compressed MiB is repeated instead of compressing the whole gigabyte.
    """
    chunk = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    final = deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(mb):
        crc = zlib.crc32(chunk, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, no mtime, max compression
    trailer = struct.pack("<II", crc, (mb << 20) & 0xFFFFFFFF)
    return header + first + repeat * (mb - 1) + final + trailer


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str
    path: str
    query: dict[str, str]
    version: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps the last value
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def number(self, name: str, default: float) -> float:
        try:
            return float(self.query[name])
        except (KeyError, ValueError):
            return default

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


class _Closed(Exception):
    """The peer went away, or the server is stopping."""


class _Connection:
    """One client socket with a read buffer and blunt ways to end it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.closed = False

    def read_request(self) -> Request | None:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                return None
            if not self._fill():
                return None
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        lines = head.split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        parts = urlsplit(target)
        return Request(
            method.upper(),
            target,
            unquote(parts.path) or "/",
            dict(parse_qsl(parts.query)),
            version,
            headers,
            body,
        )

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        self.buffer += data
        return bool(data)

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise _Closed from exc

    def reset(self) -> None:
        """Abort with a TCP RST instead of a FIN: SO_LINGER on, timeout 0."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close(graceful=False)

    def close(self, graceful: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if graceful:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.sock.close()

    def wake(self) -> None:
        """Unblock a thread sitting in recv() on this socket (close() alone does not)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


def _status_line(status: int) -> str:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"HTTP/1.1 {status} {reason}\r\n"


def _has(headers: Iterable[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _etag_matches(if_none_match: str, etag: str) -> bool:
    def opaque(tag: str) -> str:
        return tag.strip().removeprefix("W/")

    candidates = [opaque(tag) for tag in if_none_match.split(",")]
    return "*" in candidates or opaque(etag) in candidates


def _not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def _conditional_hit(request: Request, headers: Headers) -> bool:
    """Whether a request's validators match the response headers (→ 304)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if_none_match = request.header("if-none-match")
    if if_none_match is not None and "etag" in lowered:
        return _etag_matches(if_none_match, lowered["etag"])
    if_modified_since = request.header("if-modified-since")
    if if_modified_since and "last-modified" in lowered:
        return _not_modified_since(if_modified_since, lowered["last-modified"])
    return False


# --------------------------------------------------------------------------- server

Handler = Callable[[_Connection, Request], bool]  # returns: keep the connection alive


@dataclass(slots=True)
class _Page:
    responses: list[tuple[int, dict[str, str], bytes]]
    served: int = 0
    conditional: bool = False  # set_page pages answer If-None-Match / If-Modified-Since


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


class FaultServer:
    """Threaded raw HTTP/1.1 server with misbehaving routes (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._threads: set[threading.Thread] = set()
        self._hits: Counter[str] = Counter()
        self._requests: list[Request] = []
        self._pages: dict[str, _Page] = {}
        self._routes: dict[str, Handler] = self._route_table()
        self.set_page("new-location", NEW_LOCATION_BODY)

    # ----------------------------------------------------------------- public API

    def start(self) -> FaultServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(128)
        listener.settimeout(0.05)  # lets the accept loop notice stop()
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"faultserver-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: wake hanging handlers, cut every connection, join briefly."""
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once on Linux
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for connection in connections:
            connection.wake()
        deadline = time.monotonic() + 1.0
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def hits(self, path: str) -> int:
        """Requests received for ``path`` (any query string), including HEAD and 304s."""
        with self._lock:
            return self._hits[urlsplit(path).path or "/"]

    def requests(self, path: str | None = None) -> list[Request]:
        """Requests received, oldest first, optionally only those for ``path``."""
        with self._lock:
            wanted = urlsplit(path).path if path else None
            return [r for r in self._requests if wanted is None or r.path == wanted]

    def reset_hits(self) -> None:
        with self._lock:
            self._hits.clear()
            self._requests.clear()

    def set_page(
        self,
        name: str,
        body: bytes | str,
        status: int = 200,
        headers: Headers | None = None,
        *,
        conditional: bool = True,
    ) -> None:
        """Serve ``body`` at ``/page/<name>`` on every hit, replacing any sequence."""
        page = _Page([(status, dict(headers or {}), _as_bytes(body))], conditional=conditional)
        with self._lock:
            self._pages[name] = page

    def set_sequence(self, name: str, responses: Iterable[SequenceItem]) -> None:
        """Serve ``(status, headers, body)`` items at ``/page/<name>`` one per hit.

        The last item repeats once the sequence is exhausted. Setting a sequence
        restarts it from its first item.
        """
        items = [(status, dict(hdrs or {}), _as_bytes(body)) for status, hdrs, body in responses]
        if not items:
            raise ValueError("a sequence needs at least one response")
        with self._lock:
            self._pages[name] = _Page(items)

    def remove_page(self, name: str) -> None:
        with self._lock:
            self._pages.pop(name, None)

    # ----------------------------------------------------------------- plumbing

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(_IDLE_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            with self._lock:
                self._connections.add(connection)
                self._threads.add(thread)
            thread.start()

    def _serve(self, connection: _Connection) -> None:
        try:
            while not self._stopping.is_set():
                request = connection.read_request()
                if request is None or self._stopping.is_set():
                    break
                self._record(request)
                if not self._dispatch(connection, request):
                    break
        except _Closed:
            pass
        finally:
            connection.close()
            with self._lock:
                self._connections.discard(connection)
                self._threads.discard(threading.current_thread())

    def _record(self, request: Request) -> None:
        with self._lock:
            self._hits[request.path] += 1
            self._requests.append(request)

    def _hit_count(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    def _dispatch(self, connection: _Connection, request: Request) -> bool:
        handler = self._routes.get(request.path)
        if handler is None:
            for prefix, prefix_handler in (
                ("/page/", self._page),
                ("/status/", self._status_code),
                ("/redirect-home/", self._redirect_home),
            ):
                if request.path.startswith(prefix):
                    handler = prefix_handler
                    break
        if handler is None:
            return self._respond(connection, request, 404, _html("Not Found", "<h1>Not Found</h1>"))
        return handler(connection, request)

    def _respond(
        self,
        connection: _Connection,
        request: Request,
        status: int,
        body: bytes,
        headers: Headers | None = None,
        *,
        close: bool = False,
    ) -> bool:
        """Send a complete response; returns whether the connection stays open."""
        fields = list((headers or {}).items())
        keep_alive = request.keep_alive and not close
        no_body = request.method == "HEAD" or status in (204, 304) or status < 200
        if not _has(fields, "content-type") and status not in (204, 304):
            fields.append(("Content-Type", HTML))
        declared = next((v for k, v in fields if k.lower() == "content-length"), None)
        if declared is None and status not in (204, 304):
            fields.append(("Content-Length", str(len(body))))
        elif declared is not None and declared != str(len(body)):
            keep_alive = False  # a caller-made lie would desynchronise the next response
        connection.send(self._head(status, fields, keep_alive) + (b"" if no_body else body))
        return keep_alive

    @staticmethod
    def _head(status: int, fields: list[tuple[str, str]], keep_alive: bool = True) -> bytes:
        lines = [_status_line(status)]
        if not _has(fields, "date"):
            lines.append(f"Date: {formatdate(usegmt=True)}\r\n")
        if not _has(fields, "server"):
            lines.append("Server: faultserver\r\n")
        lines.extend(f"{name}: {value}\r\n" for name, value in fields)
        if not keep_alive:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _wait(self, seconds: float) -> None:
        """Sleep, but give up as soon as the server stops."""
        if self._stopping.wait(seconds):
            raise _Closed

    # ----------------------------------------------------------------- routes

    def _route_table(self) -> dict[str, Handler]:
        static: dict[str, tuple[int, bytes, dict[str, str]]] = {
            "/": (200, HOME_BODY, {}),
            "/404": (404, _html("404 Not Found", "<h1>Not Found</h1>"), {}),
            "/410": (410, _html("410 Gone", "<h1>Gone</h1>"), {}),
            "/500": (500, _html("500 Internal Server Error", "<h1>Server error</h1>"), {}),
            "/invalid-utf8": (200, INVALID_UTF8_BODY, {"Content-Type": HTML}),
            "/gb18030": (200, GB18030_BODY, {"Content-Type": "text/html"}),
            "/gbk-header": (200, GBK_BODY, {"Content-Type": "text/html; charset=gbk"}),
            "/shift-jis": (200, SHIFT_JIS_BODY, {"Content-Type": "text/html"}),
            "/utf8-bom": (200, UTF8_BOM_BODY, {"Content-Type": "text/html"}),
            "/undeclared-gb18030": (200, UNDECLARED_GB18030_BODY, {"Content-Type": "text/html"}),
            "/aws-waf": (
                403,
                AWS_WAF_BODY,
                {
                    "Content-Type": HTML,
                    "x-amzn-waf-action": "captcha",
                    "x-amzn-RequestId": "6f0e1d2c-3b4a-5968-7788-99aabbccddee",
                    "Cache-Control": "no-store, max-age=0",
                },
            ),
            "/captcha-200": (200, CAPTCHA_BODY, {}),
            "/soft404": (200, SOFT404_BODY, {}),
            "/soft404-zh": (200, SOFT404_ZH_BODY, {}),
        }
        routes: dict[str, Handler] = {
            path: self._static(status, body, headers)
            for path, (status, body, headers) in static.items()
        }
        routes.update(
            {
                "/ok": self._ok,
                "/reset": self._reset,
                "/reset-after-headers": self._reset_after_headers,
                "/drip": self._drip,
                "/trickle": self._trickle,
                "/hang": self._hang,
                "/redirect-to": self._redirect_to,
                "/truncate": self._truncate,
                "/lie-length": self._lie_length,
                "/gzip-bomb": self._gzip_bomb,
                "/big": self._big,
                "/redirect-loop": self._redirect("/redirect-loop/b"),
                "/redirect-loop/b": self._redirect("/redirect-loop"),
                "/redirect-chain": self._redirect_chain,
                "/redirect-home": self._redirect_home,
                "/moved-permanently": self._redirect("/page/new-location", 301),
                "/flap": self._flap,
                "/503": self._503,
                "/429": self._429,
                "/cloudflare": self._cloudflare,
                "/akamai": self._akamai,
                "/etag": self._etag,
                "/last-modified": self._last_modified,
            }
        )
        return routes

    def _static(self, status: int, body: bytes, headers: dict[str, str]) -> Handler:
        def handler(connection: _Connection, request: Request) -> bool:
            return self._respond(connection, request, status, body, headers)

        return handler

    def _redirect(self, location: str, status: int = 302) -> Handler:
        def handler(connection: _Connection, request: Request) -> bool:
            body = _html("Redirect", f'<a href="{location}">{location}</a>')
            return self._respond(connection, request, status, body, {"Location": location})

        return handler

    def _ok(self, connection: _Connection, request: Request) -> bool:
        self._wait(request.number("delay", 0))
        return self._respond(connection, request, 200, OK_BODY)

    def _page(self, connection: _Connection, request: Request) -> bool:
        name = request.path.removeprefix("/page/")
        with self._lock:
            page = self._pages.get(name)
            if page is not None:
                status, headers, body = page.responses[min(page.served, len(page.responses) - 1)]
                page.served += 1
        if page is None:
            body = _html("Not Found", f"<h1>No page named {name!r}</h1>")
            return self._respond(connection, request, 404, body)
        if page.conditional and status == 200 and _conditional_hit(request, headers):
            kept = {k: v for k, v in headers.items() if k.lower() in ("etag", "last-modified")}
            return self._respond(connection, request, 304, b"", kept)
        return self._respond(connection, request, status, body, headers)

    def _status_code(self, connection: _Connection, request: Request) -> bool:
        try:
            status = int(request.path.removeprefix("/status/"))
        except ValueError:
            status = 400
        return self._respond(connection, request, status, _html(f"HTTP {status}", ""))

    def _reset(self, connection: _Connection, request: Request) -> bool:
        connection.reset()
        return False

    def _reset_after_headers(self, connection: _Connection, request: Request) -> bool:
        fields = [("Content-Type", HTML), ("Content-Length", "1000")]
        connection.send(self._head(200, fields))
        time.sleep(0.05)  # let the headers leave before the RST discards the send queue
        connection.reset()
        return False

    def _drip(self, connection: _Connection, request: Request) -> bool:
        size = int(request.number("bytes", 60))
        delay = request.number("delay", 0.5)
        body = (b"drip." * (size // 5 + 1))[:size]
        fields = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(size))]
        connection.send(self._head(200, fields, request.keep_alive))
        if request.method == "HEAD":
            return request.keep_alive
        for index in range(size):
            if index:
                self._wait(delay)
            connection.send(body[index : index + 1])
        return request.keep_alive

    def _trickle(self, connection: _Connection, request: Request) -> bool:
        size = int(request.number("bytes", 60))
        delay = request.number("delay", 0.5)
        fields = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(size))]
        response = self._head(200, fields, keep_alive=False) + (b"slow." * (size // 5 + 1))[:size]
        for index in range(len(response)):
            if index:
                self._wait(delay)
            connection.send(response[index : index + 1])
        return False

    def _redirect_to(self, connection: _Connection, request: Request) -> bool:
        location = request.query.get("url", "/")
        status = int(request.number("status", 302))
        return self._redirect(location, status)(connection, request)

    def _hang(self, connection: _Connection, request: Request) -> bool:
        self._stopping.wait()
        return False

    def _truncate(self, connection: _Connection, request: Request) -> bool:
        length = int(request.number("length", 10000))
        sent = int(request.number("sent", 5000))
        fields = [("Content-Type", "text/plain"), ("Content-Length", str(length))]
        connection.send(self._head(200, fields, keep_alive=False) + b"x" * sent)
        return False

    def _lie_length(self, connection: _Connection, request: Request) -> bool:
        body = _html("Lying length", "<p>" + "This body is longer than declared. " * 30 + "</p>")
        declared = str(int(request.number("length", 100)))
        fields = [("Content-Type", HTML), ("Content-Length", declared)]
        connection.send(self._head(200, fields, keep_alive=False) + body)
        return False

    def _gzip_bomb(self, connection: _Connection, request: Request) -> bool:
        body = gzip_bomb(max(1, int(request.number("mb", 1024))))
        headers = {"Content-Type": HTML, "Content-Encoding": "gzip"}
        return self._respond(connection, request, 200, body, headers)

    def _big(self, connection: _Connection, request: Request) -> bool:
        total = int(request.number("mb", 50) * (1 << 20))
        fields = [("Content-Type", HTML), ("Content-Length", str(total))]
        connection.send(self._head(200, fields, request.keep_alive))
        if request.method == "HEAD":
            return request.keep_alive
        remaining = total
        while remaining > 0:  # streamed: never more than one chunk in memory
            if self._stopping.is_set():
                raise _Closed
            piece = _BIG_CHUNK[: min(remaining, len(_BIG_CHUNK))]
            connection.send(piece)
            remaining -= len(piece)
        return request.keep_alive

    def _redirect_chain(self, connection: _Connection, request: Request) -> bool:
        left = int(request.number("n", 3))
        status = int(request.number("status", 302))
        if left <= 0:
            body = _html("Redirect chain end", "<h1>Redirect chain end</h1>")
            return self._respond(connection, request, 200, body)
        location = f"/redirect-chain?n={left - 1}&status={status}"
        return self._redirect(location, status)(connection, request)

    def _redirect_home(self, connection: _Connection, request: Request) -> bool:
        return self._redirect("/")(connection, request)

    def _flap(self, connection: _Connection, request: Request) -> bool:
        if self._hit_count(request.path) % 2:
            return self._respond(connection, request, 500, _html("Error", "<h1>Error</h1>"))
        return self._respond(connection, request, 200, FLAP_BODY)

    def _503(self, connection: _Connection, request: Request) -> bool:
        retry_after = request.query.get("retry_after")
        headers = {"Retry-After": retry_after} if retry_after else {}
        body = _html("503 Service Unavailable", "<h1>Service Unavailable</h1>")
        return self._respond(connection, request, 503, body, headers)

    def _429(self, connection: _Connection, request: Request) -> bool:
        if self._hit_count(request.path) % 2:
            headers = {"Retry-After": request.query.get("retry_after", "1")}
            body = _html("429 Too Many Requests", "<h1>Too Many Requests</h1>")
            return self._respond(connection, request, 429, body, headers)
        return self._respond(connection, request, 200, OK_BODY)

    def _cloudflare(self, connection: _Connection, request: Request) -> bool:
        headers = {
            "Content-Type": "text/html; charset=UTF-8",
            "Server": "cloudflare",
            "cf-mitigated": "challenge",
            "CF-RAY": CF_RAY,
            "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate",
            "Cross-Origin-Embedder-Policy": "require-corp",
        }
        return self._respond(connection, request, 403, CLOUDFLARE_BODY, headers)

    def _akamai(self, connection: _Connection, request: Request) -> bool:
        body = _akamai_body(self.url(request.path), bool(request.number("entities", 0)))
        headers = {"Content-Type": "text/html", "Server": "AkamaiGHost", "Mime-Version": "1.0"}
        return self._respond(connection, request, 403, body, headers)

    def _etag(self, connection: _Connection, request: Request) -> bool:
        if_none_match = request.header("if-none-match")
        if if_none_match is not None and _etag_matches(if_none_match, ETAG):
            return self._respond(connection, request, 304, b"", {"ETag": ETAG})
        return self._respond(connection, request, 200, ETAG_BODY, {"ETag": ETAG})

    def _last_modified(self, connection: _Connection, request: Request) -> bool:
        headers = {"Last-Modified": LAST_MODIFIED}
        since = request.header("if-modified-since")
        if since and _not_modified_since(since, LAST_MODIFIED):
            return self._respond(connection, request, 304, b"", headers)
        return self._respond(connection, request, 200, LAST_MODIFIED_BODY, headers)
