"""What a rendered page costs: `fetch: browser` against pages served on 127.0.0.1.

Serves N documentation pages that render their content from JSON after load (like
tests/documents/rendered), renders them with the run's one browser and reports the
browser start, the median and worst time per page, pages per second and the peak
memory (PSS) of the browser's processes, for a pool of 1 and of 2 pages.

    python benchmarks/browser_cost.py            # 20 pages
    python benchmarks/browser_cost.py --pages 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from monitor.config.watchlist import BrowserOptions
from monitor.fetch.browser import BrowserFetcher
from monitor.fetch.http import FetchPolicy, HttpFetcher

SHELL = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>文档</title></head>
<body><div id="app"></div><script>
fetch("/data{n}.json").then(r => r.json()).then(d => {{
  document.getElementById("app").innerHTML = "<main><h1>" + d.title + "</h1>" +
    d.rows.map(r => "<p>" + r + "</p>").join("") + "</main>";
}});
</script></body></html>"""


def serve(pages: int) -> ThreadingHTTPServer:
    data = {
        n: json.dumps(
            {
                "title": f"接口 {n}",
                "rows": [f"第{k}段：人脸属性说明，是否戴眼镜。" * 5 for k in range(200)],
            }
        )
        for n in range(pages)
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/data"):
                body, kind = data[int(self.path[5:].split(".")[0])].encode(), "application/json"
            else:
                body, kind = (
                    SHELL.format(n=int(self.path.strip("/") or 0)).encode(),
                    "text/html; charset=utf-8",
                )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def measure(base: str, pages: int, pool: int) -> None:
    policy = FetchPolicy(host_delay=0, per_host=pool, browser_pages=pool)
    options = BrowserOptions(wait_for="#app main")
    async with HttpFetcher(policy) as http, BrowserFetcher(http) as browser:
        started = time.perf_counter()
        first = await browser.render(f"{base}/0", (), options)
        assert first.error is None, first.error
        first_s = time.perf_counter() - started  # includes starting the browser

        async def one(n: int) -> None:
            capture = await browser.render(f"{base}/{n}", (), options)
            assert capture.error is None, capture.error

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(pages)))
        wall = time.perf_counter() - started
    print(
        f"pool {pool}: first page incl. browser start {first_s:.2f} s; then {pages} pages in "
        f"{wall:.1f} s = {wall / pages:.2f} s per page, {pages / wall:.1f} pages/s; peak "
        f"browser PSS {browser.peak_memory_mb:.0f} MB; restarts {browser.restarts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    server = serve(args.pages)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for pool in (1, 2):
        asyncio.run(measure(base, args.pages, pool))
    server.shutdown()


if __name__ == "__main__":
    main()
