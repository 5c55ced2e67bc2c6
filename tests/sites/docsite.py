"""A local documentation site on 127.0.0.1 for the sites and locales tests.

Chinese and English versions of a small face-recognition API reference, with a
robots.txt that names a sitemap index, gzip-compressed child sitemaps (one per
language), a table-of-contents page per language, and a private page robots.txt
disallows. Tests edit it between discovery runs: add, delist, delete (404) and rename
(301) pages, or change a page's wording.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


@dataclass
class DocSite:
    """What the server serves (path -> route) and what it was asked for."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, User-Agent)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def set(self, path: str, body: bytes | str, content_type: str | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self.lock:
            self.routes[path] = Route(200, data, content_type or "text/html; charset=utf-8")

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        with self.lock:
            self.routes[path] = Route(status, b"", location=to)

    def remove(self, path: str) -> None:
        with self.lock:
            self.routes.pop(path, None)

    def paths_requested(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests]


@contextmanager
def serve(site: DocSite) -> Iterator[DocSite]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with site.lock:
                site.requests.append((self.path, self.headers.get("User-Agent", "")))
                route = site.routes.get(self.path)
            if route is None:
                route = Route(404, b"<html><body><h1>404 Not Found</h1></body></html>")
            self.send_response(route.status)
            if route.location:
                self.send_header("Location", site.base + route.location)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------
# The documentation


def page(lang: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}'
        f"</title></head><body><nav><a href='/{lang}/toc.html'>TOC</a></nav>"
        f"<main><h1>{title}</h1>{body}</main><footer>© vendor</footer></body></html>"
    )


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


ZH_ATTRIBUTES = [
    ("gender", "String", "性别"),
    ("age", "Integer", "年龄"),
    ("glasses", "Integer", "是否戴眼镜"),
    ("uygur", "Integer", "是否是维族，取值：0（否）、1（是）"),
]
EN_ATTRIBUTES = [
    ("gender", "String", "The gender"),
    ("age", "Integer", "The age"),
    ("glasses", "Integer", "Whether the person wears glasses"),
]


def zh_attributes(rows: list[tuple[str, ...]] = ZH_ATTRIBUTES) -> str:
    return page(
        "zh",
        "人脸属性识别",
        "<p>支持识别的人脸属性包括：性别、年龄、是否戴眼镜、是否是维族。</p>"
        "<h2>返回参数</h2>" + table(rows, ("参数", "类型", "描述")),
    )


def en_attributes(rows: list[tuple[str, ...]] = EN_ATTRIBUTES) -> str:
    return page(
        "en",
        "Face attribute detection",
        "<p>The supported attributes are gender, age and glasses.</p>"
        "<h2>Response parameters</h2>" + table(rows, ("Parameter", "Type", "Description")),
    )


PAGES = {
    "zh": {
        "detect": ("人脸检测", "<p>DetectFace 接口检测图片中的人脸。</p>"),
        "verify": ("人脸比对", "<p>VerifyFace 接口比对两张人脸。</p>"),
        "old": ("旧版接口", "<p>旧版人脸接口，即将下线。</p>"),
        "legacy": ("历史版本", "<p>历史版本说明。</p>"),
        "compare": ("人脸搜索", "<p>SearchFace 接口在人脸库中搜索。</p>"),
    },
    "en": {
        "detect": ("Face detection", "<p>The DetectFace operation detects faces.</p>"),
        "verify": ("Face verification", "<p>The VerifyFace operation compares two faces.</p>"),
        "old": ("Old operation", "<p>The old face operation, to be retired.</p>"),
        "legacy": ("Legacy versions", "<p>Notes on legacy versions.</p>"),
        "compare": ("Face search", "<p>The SearchFace operation searches a face set.</p>"),
    },
}


def urlset(base: str, paths: list[str]) -> bytes:
    entries = "".join(
        f"<url><loc>{base}{p}</loc><lastmod>2020-12-01</lastmod></url>" for p in paths
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )
    return gzip.compress(xml.encode("utf-8"), mtime=0)


def toc(lang: str, paths: list[str]) -> str:
    links = "".join(f'<li><a href="{p}">{p}</a></li>' for p in paths)
    return page(lang, "目录" if lang == "zh" else "Contents", f"<ul>{links}</ul>")


class Docs:
    """The documentation as it stands: which pages each language lists and serves."""

    def __init__(self, site: DocSite) -> None:
        self.site = site
        self.listed: dict[str, list[str]] = {}
        self.in_toc: dict[str, list[str]] = {}
        for lang in ("zh", "en"):
            names = ["detect", "attributes", "verify", "old", "legacy"]
            self.listed[lang] = [f"/{lang}/face/{n}.html" for n in names]
            self.in_toc[lang] = [*self.listed[lang], f"/{lang}/face/compare.html"]
            for name, (title, body) in PAGES[lang].items():
                site.set(f"/{lang}/face/{name}.html", page(lang, title, body))
        site.set("/zh/face/attributes.html", zh_attributes())
        site.set("/en/face/attributes.html", en_attributes())
        # Listed, but robots.txt disallows it: never fetched.
        self.listed["zh"].append("/zh/private/internal.html")
        self.in_toc["zh"].append("https://other.example/zh/outside.html")
        site.set("/zh/private/internal.html", page("zh", "内部", "<p>内部文档</p>"))
        site.set(
            "/robots.txt",
            f"User-agent: *\nDisallow: /zh/private/\n\nSitemap: {site.base}/sitemap_index.xml\n",
            "text/plain",
        )
        self.publish()

    def publish(self) -> None:
        base = self.site.base
        index = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemaps/zh.xml.gz</loc></sitemap>"
            f"<sitemap><loc>{base}/sitemaps/en.xml.gz</loc></sitemap></sitemapindex>"
        )
        self.site.set("/sitemap_index.xml", index, "application/xml")
        for lang in ("zh", "en"):
            self.site.set(
                f"/sitemaps/{lang}.xml.gz", urlset(base, self.listed[lang]), "application/gzip"
            )
            self.site.set(f"/{lang}/toc.html", toc(lang, self.in_toc[lang]))

    def delist(self, lang: str, path: str) -> None:
        self.listed[lang].remove(path)
        self.in_toc[lang].remove(path)
        self.publish()

    def add(self, lang: str, path: str, html: str) -> None:
        self.site.set(path, html)
        self.listed[lang].append(path)
        self.publish()

    def rename(self, lang: str, old: str, new: str) -> None:
        route = self.site.routes[old]
        self.site.set(new, route.body)
        self.site.redirect(old, new)
        for listing in (self.listed[lang], self.in_toc[lang]):
            listing[listing.index(old)] = new
        self.publish()


WATCHLIST = """\
settings:
  host_delay: 0
  retries: 0
term_groups:
  uyghur: [维族, 维吾尔, Uyghur, Uighur, Uygur]
sites:
  - name: docs-zh
    sitemap: {base}/robots.txt
    start: {base}/zh/toc.html
    include: ["/zh/"]
    select: main
    tags: [zh]
  - name: docs-en
    sitemap: {base}/robots.txt
    start: {base}/en/toc.html
    include: ["/en/"]
    select: main
    tags: [en]
counterparts:
  - name: docs-zh-en
    sites: {{zh: docs-zh, en: docs-en}}
    map: {{"/zh/": "/en/"}}
"""
