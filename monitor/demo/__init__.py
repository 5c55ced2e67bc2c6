"""``monitor demo``: the 2020 Cloud Shield case, replayed offline through the real pipeline.

A local server on 127.0.0.1 serves a reconstruction of Alibaba Cloud's Chinese API guide
for Cloud Shield face attributes (which listed 是否是维族, "is it Uyghur") and its English
international counterpart (which never did). Three checks run the real fetch, store,
extract, compare and flag stages: a first capture; a recapture where only the page's
"更新时间" timestamp changed (no event, thanks to an ``ignore`` rule); and a recapture
after the silent edit, which is flagged. The demo's watchlist has an alert route to a
local webhook (standing in for e-mail or a team chat), and the alert it received is
shown at the end.

The two pages are declared counterparts, with the ``uyghur`` term group: the first
capture already shows a ``locale_gap`` (the Chinese guide lists the attribute, the
English one never did, and the ``uygur`` row is the structural difference), and the
silent edit closes it.

A local stand-in of the Wayback Machine (wayback.py) witnesses the flagged edit: its
Save Page Now captures the page, and the copy is fetched back and found identical to
ours. (`monitor import wayback` brings a page's archived history in;
tests/archives/test_import.py runs it on this case.)
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from ..analysis.locales import GapChange
from ..check import CheckResult, run_checks
from ..config.watchlist import load_watchlist
from ..evidence.bundle_verify import verify_bundle
from ..evidence.exporting import write_bundle
from ..evidence.keys import fingerprint
from ..evidence.service import make_checkpoint
from ..fetch.http import FetchPolicy
from ..notify import Notifier, open_outbox
from ..report.html import change_html
from ..report.locales import locales_text
from ..report.text import change_text
from ..report.view import load_change
from ..run.once import summarize
from ..search import catch_up as search_catch_up
from ..sites.counterparts import compare_all, describe
from ..store import Store
from .history import witness_changes
from .wayback import WaybackStub

ZH_PATH = "/document_detail/70429.html"
EN_PATH = "/en/document_detail/70429.html"

WATCHLIST = """\
# Written by 'monitor demo': the watches of the offline demonstration.
defaults:
  every: 6h
  terms: [维族, 维吾尔, Uyghur, Uighur, ethnicity, 民族]
watches:
  # The Chinese API guide that listed 是否是维族 among face attributes in 2020.
  - name: aliyun-cloud-shield-face-api
    url: {base}{zh}
    vendor: Alibaba Cloud
    tags: [face-recognition, content-moderation, zh]
    select: "main"
    exclude: [".feedback", ".sidebar", "nav"]
    ignore: ['^更新时间[:：].*$']
    terms: [是否是维族]
    every: 1h
  # The English international counterpart, which never listed the attribute.
  - name: aliyun-cloud-shield-face-api-en
    url: {base}{en}
    vendor: Alibaba Cloud
    tags: [face-recognition, content-moderation, en]
    select: "main"
    exclude: [".feedback", ".sidebar", "nav"]
    ignore: ['^Last [Uu]pdated:? .*$']
notify:
  # Alerts (README, Alerts): a local webhook stands in for your inbox or team chat.
  # For e-mail: urls_env: MONITOR_NOTIFY_TEAM, with that variable holding mailtos://…
  - name: demo-alerts
    urls: ["json://{host}/alerts"]
    flagged_only: true
settings:
  witness: wayback      # ask the (local stand-in) Wayback Machine to witness flagged edits
"""
# The language versions (sites/counterparts.py); left out by run_demo(languages=False).
LANGUAGES = """\
# One concept in every language and script it is written in.
term_groups:
  uyghur: [维族, 维吾尔, Uyghur, Uighur, Uygur]
# The same API guide in Chinese and in English: what one says and the other omits.
counterparts:
  - name: aliyun-cloud-shield-face-api
    watches: {{zh: aliyun-cloud-shield-face-api, en: aliyun-cloud-shield-face-api-en}}
"""


def demo_page(name: str) -> bytes:
    return (resources.files("monitor.demo") / "pages" / name).read_bytes()


class Pages:
    """What the demo server currently serves: path -> body, or a function making one."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes | Callable[[], bytes]] = {}
        self.posted: list[bytes] = []  # what alert webhooks delivered here
        self.lock = threading.Lock()

    def set(self, path: str, body: bytes | Callable[[], bytes]) -> None:
        with self.lock:
            self.bodies[path] = body

    def get(self, path: str) -> bytes | None:
        with self.lock:
            body = self.bodies.get(path)
        return body() if callable(body) else body


def serve(pages: Pages) -> ThreadingHTTPServer:
    """Start a loopback-only server for the demo pages on an ephemeral port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            status = 200 if body is not None else 404
            body = body if body is not None else b"<h1>404 Not Found</h1>"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # the demo's alert webhook
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with pages.lock:
                pages.posted.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:  # keep the demo output readable
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_demo(
    data_dir: str | None, echo: Callable[[str], None] = print, languages: bool = True
) -> Path:
    """Run the demonstration; returns the path of the HTML report.

    ``languages=False`` leaves out the counterparts and term groups (and so the
    locale_gap events): the evidence tests pin the chain positions of that run.
    """
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    pages = Pages()
    server = serve(pages)
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        watchlist_path = root / "demo-watchlist.yaml"
        text = WATCHLIST + (LANGUAGES if languages else "")
        watchlist_path.write_text(
            text.format(base=f"http://{host}", host=host, zh=ZH_PATH, en=EN_PATH),
            encoding="utf-8",
        )
        watchlist = load_watchlist(watchlist_path)
        policy = FetchPolicy(host_delay=0.0, retries=0)
        pages.set(EN_PATH, demo_page("aliyun-en.html"))
        steps = [
            ("aliyun-zh-v1.html", "1. First capture of both pages (December 2020)", ""),
            (
                "aliyun-zh-v2.html",
                "2. Recapture: only the page's 更新时间 timestamp changed",
                "   new bytes were stored as evidence, but the text after the watch's ignore "
                "rule is the same: no event",
            ),
            ("aliyun-zh-v3.html", "3. Recapture after the silent edit", ""),
        ]
        with Store(root) as store, open_outbox(store.location) as outbox, WaybackStub() as archive:
            notifier = Notifier(outbox, watchlist.routes, store.location)
            notifier.start()
            results: list[CheckResult] = []
            for number, (page, title, explanation) in enumerate(steps, 1):
                pages.set(ZH_PATH, demo_page(page))
                echo(f"\n== {title}")
                results = asyncio.run(run_checks(store, watchlist, watchlist.watches, policy))
                make_checkpoint(store)  # as `monitor check` does after every check
                for result in results:
                    events = ", ".join(result.events) or "no event"
                    echo(f"   {result.watch:<36} {result.outcome:<10} {events}")
                for gap in compare_all(store, watchlist):
                    for change in gap.changes:
                        echo(_gap_line(change))
                echo(f"   {summarize(results)}")
                if explanation:
                    echo(explanation)
                if number == 1 and watchlist.counterparts:
                    echo("\n== What the two language versions say (monitor locales)\n")
                    echo(locales_text(describe(store, watchlist, watchlist.counterparts[0])))
                notifier.run_once(batch_complete=True)  # as at the end of `monitor check`
            echo("\n== 4. A witness: Save Page Now captures the edited page")
            witness_changes(store, archive, echo)
            search_catch_up(store)  # the demo's versions become searchable
            change_id, report = _report(store, results, root, echo)
        _alerts(pages.posted, echo)
        with Store(root) as store:  # last: the evidence a third party can check
            bundle = _bundle(store, change_id, root, echo)
        echo("\n== Where things are")
        echo(f"   data directory: {root.resolve()}")
        echo(f"   HTML report:    {report.resolve()}")
        echo(f"   evidence:       {bundle.resolve()}")
        echo(f"   try: monitor --data-dir {root} changes --format json")
        echo(f"        monitor bundle --verify {bundle}")
        if languages:
            echo(
                f"        monitor --data-dir {root} locales aliyun-cloud-shield-face-api "
                f"--watchlist {root / 'demo-watchlist.yaml'}"
            )
        echo(f"        monitor --data-dir {root} search 维族")
        echo(
            f"        monitor --data-dir {root} serve    "
            "(browse the change, mark it, search, in a web browser)"
        )
        return report
    finally:
        server.shutdown()
        server.server_close()


def _gap_line(change: GapChange) -> str:
    gap = change.gap
    present, absent = ", ".join(gap.present_in), ", ".join(gap.absent_in)
    if change.state == "closed":
        return (
            f"   locale_gap closes: the versions agree on term group {gap.group!r} again "
            f"(it was in {present}, not in {absent})"
        )
    return f"   locale_gap opens: term group {gap.group!r} in {present}, not in {absent}"


def _report(
    store: Store, results: list[CheckResult], root: Path, echo: Callable[[str], None]
) -> tuple[int, Path]:
    change_ids = [i for r in results for i in r.change_ids if store.change(i)["kind"] == "changed"]
    if not change_ids:
        raise RuntimeError("the demo's silent edit produced no change event")
    view = load_change(store, change_ids[0])
    echo("\n== The flagged change\n")
    echo(change_text(view))
    report = root / f"change-{change_ids[0]}.html"
    report.write_text(change_html(view), encoding="utf-8")
    return change_ids[0], report


def _alerts(posted: list[bytes], echo: Callable[[str], None]) -> None:
    """Show what the demo's alert route delivered."""
    echo("\n== How it alerted")
    if len(posted) != 1:
        echo(f"   the alert route delivered {len(posted)} messages (expected 1)")
        return
    message = json.loads(posted[0])
    echo(
        "   the watchlist's notify: route 'demo-alerts' (flagged changes only) sent one\n"
        "   message through apprise to a local webhook, standing in for e-mail or chat:\n"
    )
    echo(f"   {message['title']}")
    for line in message["message"].splitlines()[:14]:
        echo(f"   {line}")
    echo("   …")
    echo(
        "\n   E-mail gets all of it (HTML and plain text, UTF-8); chat services a shortened\n"
        "   version; see README, Alerts, and 'monitor notify test'."
    )


def _bundle(store: Store, change_id: int, root: Path, echo: Callable[[str], None]) -> Path:
    """Write the removal's evidence bundle and check it as a third party would."""
    path = root / f"change-{change_id}-evidence.zip"
    manifest = write_bundle(store, change_id, path)
    echo("\n== Evidence bundle of the removal (for an editor, a lawyer, a court)")
    echo(
        f"   {path.name}: both raw captures, their texts, a WARC, the report, the\n"
        "   chained records and the signed checkpoint at position "
        f"{manifest['chain']['segment']['end_seq']} (key {fingerprint(manifest['public_key'])});\n"
        "   VERIFY.txt says how to check each claim with sha256sum and openssl"
    )
    problems = verify_bundle(path)
    if problems:
        raise RuntimeError("the demo's evidence bundle does not verify: " + "; ".join(problems))
    echo(f"   monitor bundle --verify {path.name}: every file, record, link and signature OK")
    return path
