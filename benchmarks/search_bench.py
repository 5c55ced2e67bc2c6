"""Full-text search at scale: 1,000 watches x 100 text versions, indexed and queried.

    python benchmarks/search_bench.py                         # 1,000 x 100, a few minutes
    python benchmarks/search_bench.py --watches 100 --versions 20 --quick

Generates a data directory whose watches each have a documentation-like page (about 100
blocks, Chinese and English mixed, ~8,000 characters) and 100 versions of it: every
version rewrites two blocks and, now and then, drops or adds one. Planted wording:
"是否是维族" in one watch in ten (removed at a random version in half of them), "ethnicity"
in one in twenty. The captures are real rows of a real store; the texts come from a
generator instead of blob files (the index reads them through the same ``load_text``
hook), and the index is built by the real ``SearchIndex.catch_up``. Queries go through
``monitor.search.search``, exactly what ``monitor search`` and the dashboard run; each is
timed over several runs and the median reported.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.documents.document import Block, Document
from monitor.model import Outcome
from monitor.search import SearchIndex, search
from monitor.store import CaptureRecord, Store

# Common Han characters and documentation words: realistic repetition for the index.
HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
    "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
    "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重"
    "新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想"
    "已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知"
    "较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造"
    "百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白"
    "教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集"
    "温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿"
    "人脸识别属性接口参数返回示例请求图片检测结果年龄性别眼镜微笑口罩帽子审核内容安全"
)
WORDS = [
    "face",
    "attribute",
    "detection",
    "request",
    "response",
    "parameter",
    "image",
    "user",
    "glasses",
    "smile",
    "gender",
    "age",
    "return",
    "value",
    "error",
    "code",
    "moderation",
    "content",
    "scene",
    "task",
    "data",
    "url",
    "result",
    "rate",
    "suggestion",
    "integer",
    "string",
    "array",
    "boolean",
    "optional",
    "required",
    "default",
    "region",
    "endpoint",
    "signature",
    "token",
]


def make_block(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return "".join(rng.choices(HAN, k=rng.randint(30, 110)))
    return " ".join(rng.choices(WORDS, k=rng.randint(8, 24))).capitalize() + "."


class Pages:
    """The deterministic history of every watch: version v of watch w, as a Document."""

    def __init__(self, watches: int, versions: int, seed: int = 1) -> None:
        self.versions = versions
        self.history: dict[str, list[list[str]]] = {}
        for w in range(watches):
            rng = random.Random(seed * 100_003 + w)
            blocks = [make_block(rng) for _ in range(rng.randint(80, 120))]
            if w % 10 == 0:
                blocks[7] = blocks[7][:12] + "、是否是维族" + blocks[7][12:]
            if w % 20 == 5:
                blocks[9] = "The ethnicity attribute is returned for each face."
            drop_at = rng.randint(1, versions - 1) if w % 20 == 0 and versions > 1 else None
            states = [list(blocks)]
            for v in range(1, versions):
                for _ in range(2):
                    at = rng.randrange(len(blocks))
                    if at not in (7, 9):
                        blocks[at] = make_block(rng)
                if rng.random() < 0.1:
                    blocks.insert(rng.randrange(len(blocks)), make_block(rng))
                if v == drop_at:
                    blocks[7] = blocks[7].replace("、是否是维族", "")
                states.append(list(blocks))
            self.history[f"watch-{w:04d}"] = states

    def load_text(self, key: str) -> bytes:
        watch, version = key.rsplit(":", 1)
        blocks = self.history[watch][int(version)]
        return Document(blocks=tuple(Block("text", b) for b in blocks)).to_json().encode()


def build(root: Path, pages: Pages) -> tuple[Store, float, float]:
    """Capture rows for every version, then the index through its real catch-up."""
    store = Store(root)
    store.ensure_watches([(w, f"https://docs.example/{w}", {"name": w}) for w in pages.history])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    # Through the store's own writer (every capture row is chained, docs/evidence.md),
    # many captures per transaction: the pipeline writes the same columns.
    for v in range(pages.versions):
        with store.recording() as writer:
            for n, w in enumerate(pages.history):
                writer.add_capture(
                    CaptureRecord(
                        watch=w,
                        url=f"https://docs.example/{w}",
                        fetched_at=start + timedelta(hours=v, seconds=n),
                        outcome=Outcome.OK,
                        status=200,
                        text_sha256=f"{w}:{v}",
                    )
                )
    index = SearchIndex(root / "monitor.db", pages.load_text)
    started, cpu = time.perf_counter(), time.process_time()
    index.catch_up()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    index.close()
    return store, elapsed, cpu


QUERIES = [
    ("是否是维族", None, "planted phrase (5 characters)"),
    ("是否是維族", None, "the same in traditional characters"),
    ("维族", None, "two characters (per-character index)"),
    ("脸", None, "one common character (in most pages)"),
    ("ethnicity", None, "English word, planted"),
    ("face detection", None, "common English phrase"),
    ("不存在的说法", None, "absent phrase"),
    ("是否是维族", "watch-0010", "one watch (--watch)"),
]


def measure(root: Path, runs: int) -> list[tuple[str, str, int, float, float]]:
    """(label, query, watches found, median wall ms, median CPU ms) per query."""
    store = Store(root)
    index = SearchIndex(root / "monitor.db", store.get_blob)
    results = []
    for query, watch, label in QUERIES:
        walls, cpus = [], []
        hits = []
        for _ in range(runs):
            started, cpu = time.perf_counter(), time.process_time()
            hits = search(index, query, watch=watch)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        results.append(
            (
                label,
                query,
                len(hits),
                statistics.median(walls) * 1000,
                statistics.median(cpus) * 1000,
            )
        )
    index.close()
    store.close()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query")
    parser.add_argument("--quick", action="store_true", help="one run per query")
    parser.add_argument("--keep", type=Path, help="build the data directory here and keep it")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="search-bench-"))
    started = time.perf_counter()
    pages = Pages(args.watches, args.versions)
    generated = time.perf_counter() - started
    store, indexing, cpu = build(root, pages)
    versions = args.watches * args.versions
    counts = {
        table: store._query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
        for table in ("search_blocks", "search_spans")
    }
    store.close()
    size = sum(f.stat().st_size for f in root.glob("monitor.db*")) / 2**20
    print(f"{args.watches} watches x {args.versions} versions = {versions:,} text versions")
    print(
        f"generated in {generated:.1f} s; indexed in {indexing:.1f} s, {cpu:.1f} s of CPU "
        f"({cpu / versions * 1000:.2f} ms CPU per version)"
    )
    print(
        f"index: {counts['search_blocks']:,} distinct blocks, {counts['search_spans']:,} spans; "
        f"database {size:.0f} MiB"
    )
    print(f"\n{'query':<52} {'watches':>8} {'wall ms':>9} {'CPU ms':>8}  (medians)")
    for label, query, found, wall, cpu in measure(root, 1 if args.quick else args.runs):
        print(f"{label + ': ' + query:<52} {found:>8} {wall:>9.1f} {cpu:>8.1f}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if not args.keep:
        for path in root.glob("*"):
            if path.is_file():
                path.unlink()


if __name__ == "__main__":
    sys.exit(main())
