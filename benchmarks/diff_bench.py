"""Time extract + compare + flag on generated documentation pages.

Sizes: small (~20 KB), typical (~200 KB) and huge (~2 MB) of HTML, each as an English
and a Chinese page. Edit levels, applied to the visible text of paragraphs, list items
and table cells (words in English, Han characters in Chinese):

* ``none``     identical page;
* ``few``      3 words/characters changed;
* ``1%``       1% of the words/characters changed, scattered across the page;
* ``10%``      10% scattered (the stress case);
* ``shuffled`` every table's rows re-ordered, plus 5% of the words changed;
* ``rewrite``  every paragraph's text replaced.

Targets (one core): typical page under 100 ms whatever the edits; huge page with up to
1% changed under 2 s; no input over 10 s.

    python benchmarks/diff_bench.py            # full run (~5 min on 2 cores)
    python benchmarks/diff_bench.py --quick    # one repetition per case
    python benchmarks/diff_bench.py --case huge:zh:10% --profile
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import html
import pstats
import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from documents_cases import CASES as DOCUMENT_CASES  # beside this file (run as a script)
from documents_cases import run_document_case

from monitor.analysis.compare import compare
from monitor.analysis.flag import flag_terms
from monitor.documents.html import extract_html


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SIZES: dict[str, int] = {"small": 20_000, "typical": 200_000, "huge": 2_000_000}
LANGS = ("en", "zh")
EDITS = ("none", "few", "1%", "10%", "shuffled", "rewrite")
REPS: dict[str, int] = {"small": 5, "typical": 5, "huge": 3}
TERMS = list(_words("Uyghur ethnicity race minority skin 维族 维吾尔 民族 少数民族 种族"))
HARD_LIMIT_S = 10.0

# ============================================================ vocabulary

_EN_ADJ = _words(
    "optional required default maximum minimum regional public private temporary "
    "encrypted detected returned current custom previous specified valid standard "
    "dedicated shared"
)
_EN_NOUN = _words(
    "instance bucket request response parameter value image face attribute region "
    "zone cluster node policy role token quota limit field object array string "
    "timestamp endpoint resource account user group tag label result score "
    "threshold model confidence rectangle landmark age gender expression snapshot "
    "disk certificate domain backup"
)
_EN_VERB = _words(
    "returns specifies contains describes controls limits identifies includes "
    "indicates configures overrides validates stores rejects accepts filters"
)
_EN_PREP = _words("for in of with from within after before per across")
_EN_CLAUSE = (
    "if the call succeeds",
    "when this parameter is not set",
    "for each page of results",
    "unless the account is suspended",
    "only in the selected region",
    "as described in the API reference",
)
_EN_WATCHED = (
    "The ethnicity attribute is returned only when it is requested.",
    "Values include Uyghur, Han and other minority groups.",
    "The race field is deprecated and returns an empty string.",
    "Skin tone is estimated from the face region.",
)
_EN_REPLACEMENTS = _words(
    "latency storage billing network vendor audit cache pipeline session kernel "
    "payload quorum shard ledger"
)

_ZH_WORDS = _words(
    "实例 参数 返回 请求 地域 可用区 安全组 配置 调用 接口 人脸 "
    "属性 检测 图片 年龄 性别 是否 眼镜 微笑 表情 识别 结果 "
    "默认 取值 范围 最大 最小 支持 说明 用户 必须 可选 字段 "
    "数组 对象 字符串 整数 布尔值 时间 格式 资源 标签 创建 删除 "
    "修改 查询 列表 权限 账号 计费 备份 快照 证书 域名 集群 "
    "节点 策略 令牌"
)
_ZH_WATCHED = (
    "是否是维族：返回值为布尔值。",
    "民族属性包括汉族、维吾尔族及其他少数民族。",
    "种族字段已废弃，返回空字符串。",
    "肤色根据人脸区域估算。",
)
_ZH_REPLACEMENTS = "甲乙丙丁戊己庚辛壬癸山水火木金土日月星云风雨雪天地人"

_API_VERBS = _words(
    "Create Delete Modify Describe List Attach Detach Enable Disable Update Get Put "
    "Start Stop Restore Tag"
)
_API_NOUNS = _words(
    "Instance Bucket SecurityGroup Snapshot Disk Image Cluster NodePool "
    "LoadBalancer Listener Certificate Domain Face FaceAttribute Gateway Queue "
    "Topic Function Alarm Backup"
)
_SUFFIXES = _words(
    "Id Name Type Status Size Count Mode Ids Region Zone Period Version Tags Token Threshold Score"
)
_TYPES = ("String", "Integer", "Boolean", "Long", "Array of String", "Object", "Float")
_EXAMPLES = _words(
    "true false Enabled Standard auto 0 1 100 cn-hangzhou us-east-1 cloud_essd PayAsYouGo private"
)

_UI: dict[str, dict[str, str]] = {
    "en": {
        "req": "Request parameters",
        "resp": "Response parameters",
        "ex": "Examples",
        "notes": "Usage notes",
        "err": "Error codes",
        "title": "Face and Resource API",
        "name": "Name",
        "type": "Type",
        "required": "Required",
        "example": "Example",
        "desc": "Description",
        "code": "Error code",
        "status": "HTTP status",
        "yes": "Yes",
        "no": "No",
    },
    "zh": {
        "req": "请求参数",
        "resp": "返回参数",
        "ex": "示例",
        "notes": "使用说明",
        "err": "错误码",
        "title": "人脸与资源接口",
        "name": "名称",
        "type": "类型",
        "required": "是否必选",
        "example": "示例值",
        "desc": "描述",
        "code": "错误码",
        "status": "HTTP状态码",
        "yes": "是",
        "no": "否",
    },
}

# ============================================================ page model


@dataclass
class Node:
    """One block of the article: ``rows`` holds its text slots (one row for h*, p, pre;
    one per item for ul; header + body rows for table)."""

    tag: str
    rows: list[list[str]]


Page = list[Node]
Slot = tuple[int, int, int]  # (node, row, cell)


def en_sentence(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(_EN_WATCHED)
    words = [
        rng.choice(("The", "Each", "This", "A")),
        rng.choice(_EN_ADJ),
        rng.choice(_EN_NOUN),
        rng.choice(_EN_VERB),
        "the",
        rng.choice(_EN_NOUN),
        rng.choice(_EN_PREP),
        "each",
        rng.choice(_EN_ADJ),
        rng.choice(_EN_NOUN),
    ]
    tail = f", {rng.choice(_EN_CLAUSE)}" if rng.random() < 0.4 else ""
    return " ".join(words) + tail + "."


def zh_sentence(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(_ZH_WATCHED)
    head = "".join(rng.choice(_ZH_WORDS) for _ in range(rng.randint(3, 6)))
    tail = "".join(rng.choice(_ZH_WORDS) for _ in range(rng.randint(2, 5)))
    return f"{head}，{tail}。"


def sentences(lang: str, rng: random.Random, low: int, high: int) -> str:
    make = en_sentence if lang == "en" else zh_sentence
    joiner = " " if lang == "en" else ""
    return joiner.join(make(rng) for _ in range(rng.randint(low, high)))


def param_name(rng: random.Random) -> str:
    return rng.choice(_API_NOUNS) + rng.choice(_SUFFIXES)


def param_table(lang: str, rng: random.Random, rows: int) -> Node:
    ui = _UI[lang]
    header = [ui["name"], ui["type"], ui["required"], ui["example"], ui["desc"]]
    body = [
        [
            param_name(rng),
            rng.choice(_TYPES),
            rng.choice((ui["yes"], ui["no"])),
            rng.choice(_EXAMPLES),
            sentences(lang, rng, 1, 2),
        ]
        for _ in range(rows)
    ]
    return Node("table", [header, *body])


def error_table(lang: str, rng: random.Random, rows: int) -> Node:
    ui = _UI[lang]
    body = [
        [
            f"{rng.choice(_API_NOUNS)}.{rng.choice(('Invalid', 'NotFound', 'Quota'))}",
            rng.choice(("400", "403", "404", "409", "500")),
            sentences(lang, rng, 1, 1),
        ]
        for _ in range(rows)
    ]
    return Node("table", [[ui["code"], ui["status"], ui["desc"]], *body])


def code_sample(rng: random.Random) -> Node:
    lines = [f'  "{param_name(rng)}": "{rng.choice(_EXAMPLES)}",' for _ in range(6)]
    request_id = f"{rng.getrandbits(64):016X}"
    return Node("pre", [["{\n" + "\n".join(lines) + f'\n  "RequestId": "{request_id}"\n}}']])


def section(lang: str, rng: random.Random) -> Page:
    ui = _UI[lang]
    nodes = [
        Node("h2", [[rng.choice(_API_VERBS) + rng.choice(_API_NOUNS)]]),
        Node("p", [[sentences(lang, rng, 2, 5)]]),
        Node("h3", [[ui["req"]]]),
        param_table(lang, rng, rng.randint(5, 30)),
        Node("h3", [[ui["resp"]]]),
        param_table(lang, rng, rng.randint(3, 15)),
        Node("h3", [[ui["ex"]]]),
        code_sample(rng),
        Node("h3", [[ui["notes"]]]),
        Node("ul", [[sentences(lang, rng, 1, 2)] for _ in range(rng.randint(2, 6))]),
        Node("p", [[sentences(lang, rng, 1, 4)]]),
    ]
    if rng.random() < 0.5:
        nodes += [Node("h3", [[ui["err"]]]), error_table(lang, rng, rng.randint(3, 8))]
    return nodes


def generate_page(lang: str, target_bytes: int, seed: str) -> Page:
    """Sections until the rendered HTML reaches about ``target_bytes``."""
    rng = random.Random(seed)
    page = [Node("h1", [[_UI[lang]["title"]]]), Node("p", [[sentences(lang, rng, 3, 6)]])]
    size = len(render_page(page, lang).encode())
    while size < target_bytes:
        nodes = section(lang, rng)
        size += len("".join(render_node(n) for n in nodes).encode())
        page += nodes
    return page


# ============================================================ rendering


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def render_node(node: Node) -> str:
    if node.tag == "table":
        head = "".join(f"<th>{_esc(c)}</th>" for c in node.rows[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>\n"
            for row in node.rows[1:]
        )
        return (
            f'<table class="params">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}</tbody></table>\n"
        )
    if node.tag == "ul":
        items = "".join(f"<li>{_esc(row[0])}</li>\n" for row in node.rows)
        return f"<ul>\n{items}</ul>\n"
    if node.tag == "pre":
        return f'<pre><code class="language-json">{_esc(node.rows[0][0])}</code></pre>\n'
    return f"<{node.tag}>{_esc(node.rows[0][0])}</{node.tag}>\n"


def _chrome(lang: str) -> tuple[str, str]:
    ui = _UI[lang]
    links = "".join(
        f'<li><a href="/docs/{v.lower()}">{v}{n}</a></li>'
        for v in _API_VERBS[:6]
        for n in _API_NOUNS[:6]
    )
    head = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{ui['title']}</title><style>.params td{{padding:4px}}</style>"
        '<script>window.dataLayer=[{"page":"api"}];</script></head>\n<body>\n'
        '<header><nav class="top"><ul><li><a href="/">Docs</a></li>'
        '<li><a href="/console">Console</a></li></ul></nav></header>\n'
        f'<aside class="sidebar"><ul>{links}</ul></aside>\n<main><article>\n'
    )
    tail = (
        "</article></main>\n<footer><p>Copyright 2024 Example Cloud.</p></footer>\n</body></html>\n"
    )
    return head, tail


def render_page(page: Page, lang: str) -> str:
    head, tail = _chrome(lang)
    return head + "".join(render_node(n) for n in page) + tail


# ============================================================ edits

_UNIT = {"en": re.compile(r"[A-Za-z]+"), "zh": re.compile(r"[\u4e00-\u9fff]")}


def editable_slots(page: Page) -> Iterator[Slot]:
    """Paragraphs, list items and table body cells (not headings, not code)."""
    for n, node in enumerate(page):
        first = 1 if node.tag == "table" else 0
        if node.tag in ("p", "ul", "table"):
            for r in range(first, len(node.rows)):
                for c in range(len(node.rows[r])):
                    yield n, r, c


def unit_positions(page: Page, lang: str) -> list[tuple[Slot, int, int]]:
    found = []
    for slot in editable_slots(page):
        n, r, c = slot
        found += [(slot, m.start(), m.end()) for m in _UNIT[lang].finditer(page[n].rows[r][c])]
    return found


def replacement(lang: str, unit: str, rng: random.Random) -> str:
    pool = _EN_REPLACEMENTS if lang == "en" else tuple(_ZH_REPLACEMENTS)
    choice = rng.choice(pool)
    while choice.lower() == unit.lower():
        choice = rng.choice(pool)
    return choice


def change_units(page: Page, lang: str, count: int, rng: random.Random) -> int:
    """Replace ``count`` randomly chosen words/characters in place; returns how many."""
    positions = unit_positions(page, lang)
    chosen = sorted(
        rng.sample(positions, min(count, len(positions))), key=lambda p: (p[0], -p[1])
    )  # right to left within a slot
    for (n, r, c), start, end in chosen:
        text = page[n].rows[r][c]
        page[n].rows[r][c] = text[:start] + replacement(lang, text[start:end], rng) + text[end:]
    return len(chosen)


def count_units(page: Page, lang: str) -> int:
    return len(unit_positions(page, lang))


def shuffle_tables(page: Page, rng: random.Random) -> None:
    for node in page:
        if node.tag == "table":
            body = node.rows[1:]
            rng.shuffle(body)
            node.rows[1:] = body


def rewrite_paragraphs(page: Page, lang: str, rng: random.Random) -> int:
    changed = 0
    for node in page:
        if node.tag == "p":
            node.rows[0][0] = sentences(lang, rng, 2, 5)
            changed += count_units([node], lang)
    return changed


def edited(page: Page, lang: str, level: str, seed: str) -> tuple[Page, int]:
    """A copy of ``page`` with the edit level applied, and how many units changed."""
    rng = random.Random(seed)
    new = copy.deepcopy(page)
    total = count_units(page, lang)
    if level == "few":
        return new, change_units(new, lang, 3, rng)
    if level in ("1%", "10%"):
        share = 0.01 if level == "1%" else 0.10
        return new, change_units(new, lang, max(1, round(total * share)), rng)
    if level == "shuffled":
        shuffle_tables(new, rng)
        return new, change_units(new, lang, max(1, round(total * 0.05)), rng)
    if level == "rewrite":
        return new, rewrite_paragraphs(new, lang, rng)
    return new, 0


# ============================================================ timing


@dataclass(frozen=True)
class Sample:
    extract_s: float
    compare_s: float
    removed: int
    added: int
    moved: int
    flags: int
    fallback: bool

    @property
    def total_s(self) -> float:
        return self.extract_s + self.compare_s


def run_once(old_html: str, new_html: str) -> Sample:
    started = time.perf_counter()
    old_doc = extract_html(old_html)
    new_doc = extract_html(new_html)
    extracted = time.perf_counter()
    comparison = compare(old_doc, new_doc)
    flags = flag_terms(old_doc.text, new_doc.text, TERMS)
    finished = time.perf_counter()
    return Sample(
        extracted - started,
        finished - extracted,
        len(comparison.removed),
        len(comparison.added),
        len(comparison.moved),
        len(flags),
        comparison.fallback,
    )


@dataclass(frozen=True)
class Case:
    size: str
    lang: str
    edits: str

    @property
    def name(self) -> str:
        return f"{self.size}:{self.lang}:{self.edits}"


@dataclass(frozen=True)
class Result:
    case: Case
    kilobytes: int
    changed: int
    units: int
    samples: list[Sample]

    def median(self, get: Callable[[Sample], float]) -> float:
        return statistics.median(get(s) for s in self.samples)


def target_s(case: Case) -> float:
    """The tightest target that applies to a case (see the module docstring)."""
    if case.size == "typical":
        return 0.1
    if case.size == "huge" and case.edits in ("none", "few", "1%"):
        return 2.0
    return HARD_LIMIT_S


def meets_target(result: Result) -> bool:
    worst = max(s.total_s for s in result.samples)
    return result.median(lambda s: s.total_s) <= target_s(result.case) and worst <= HARD_LIMIT_S


@lru_cache(maxsize=1)
def base_page(size: str, lang: str) -> Page:
    """The unedited page of a size and language (cached: cases run grouped; not mutated)."""
    return generate_page(lang, SIZES[size], seed=f"{size}-{lang}")


def prepare(case: Case) -> tuple[str, str, int, int]:
    """Old HTML, new HTML, units changed, editable units in the page."""
    page = base_page(case.size, case.lang)
    new, changed = edited(page, case.lang, case.edits, seed=case.name)
    return (
        render_page(page, case.lang),
        render_page(new, case.lang),
        changed,
        count_units(page, case.lang),
    )


def run_case(case: Case, reps: int) -> Result:
    old_html, new_html, changed, units = prepare(case)
    samples = [run_once(old_html, new_html) for _ in range(reps)]
    return Result(case, len(old_html.encode()) // 1024, changed, units, samples)


# ============================================================ output

_HEADER = (
    f"{'size':<8}{'lang':<5}{'edits':<9}{'KB':>5}{'changed':>14}{'extract':>9}"
    f"{'cmp+flag':>9}{'total':>9}{'rem':>6}{'add':>6}{'mov':>6}{'flg':>4}"
    f"{'fallbk':>7}  target"
)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 10 else f"{seconds * 1000:.0f}"


def format_row(result: Result) -> str:
    c, last = result.case, result.samples[-1]
    fallback = sum(s.fallback for s in result.samples)
    target = target_s(c)
    verdict = "ok" if meets_target(result) else "MISS"
    limit = f"<{target * 1000:.0f}ms" if target < 1 else f"<{target:.0f}s"
    return (
        f"{c.size:<8}{c.lang:<5}{c.edits:<9}{result.kilobytes:>5}"
        f"{f'{result.changed}/{result.units}':>14}"
        f"{_ms(result.median(lambda s: s.extract_s)):>9}"
        f"{_ms(result.median(lambda s: s.compare_s)):>9}"
        f"{_ms(result.median(lambda s: s.total_s)):>9}"
        f"{last.removed:>6}{last.added:>6}{last.moved:>6}{last.flags:>4}"
        f"{f'{fallback}/{len(result.samples)}':>7}  {limit:<7}{verdict}"
    )


def print_size_medians(results: list[Result]) -> None:
    print("\nPer-size medians over all cases (ms): extract, compare+flag, total")
    for size in SIZES:
        rows = [r for r in results if r.case.size == size]
        if not rows:
            continue
        medians = [
            statistics.median(r.median(get) for r in rows)
            for get in (lambda s: s.extract_s, lambda s: s.compare_s, lambda s: s.total_s)
        ]
        print(
            f"  {size:<8}" + "".join(f"{_ms(m):>10}" for m in medians) + f"   ({len(rows)} cases)"
        )


def print_profile(case: Case) -> None:
    old_html, new_html, _, _ = prepare(case)
    profiler = cProfile.Profile()
    profiler.runcall(run_once, old_html, new_html)
    print(f"\ncProfile of {case.name}, top 10 by cumulative time:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(10)


def print_documents(spec: str | None, reps: int) -> None:
    """The other document types (benchmarks/documents_cases.py): a PDF and an OpenAPI case."""
    print(
        f"\n{'document case':<16}{'KB':>7}{'extract':>9}{'cmp+flag':>9}{'total':>9}"
        f"{'rem':>6}{'add':>6}{'edits':>6}{'flg':>4}"
    )
    for name, make in DOCUMENT_CASES.items():
        if spec is not None and not name.startswith(spec.rstrip("*")):
            continue
        kind, old, new = make()
        samples = [run_document_case(kind, old, new) for _ in range(reps)]
        last = samples[-1]
        medians = [
            statistics.median(get(s) for s in samples)
            for get in (lambda s: s.extract_s, lambda s: s.compare_s, lambda s: s.total_s)
        ]
        print(
            f"{name:<16}{len(old) // 1024:>7}"
            + "".join(f"{_ms(m):>9}" for m in medians)
            + f"{last.removed:>6}{last.added:>6}{last.edits:>6}{last.flags:>4}",
            flush=True,
        )


# ============================================================ main


def selected_cases(spec: str | None) -> list[Case]:
    cases = [Case(s, lang, e) for s in SIZES for lang in LANGS for e in EDITS]
    if spec is None:
        return cases
    if spec.startswith(("pdf", "openapi")):
        return []
    wanted = spec.split(":")
    return [
        c
        for c in cases
        if all(
            w in ("", "*", part) for w, part in zip(wanted, (c.size, c.lang, c.edits), strict=False)
        )
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition per case")
    parser.add_argument("--case", help="filter SIZE:LANG:EDITS, e.g. huge:zh:10%% or typical")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one run of each selected case instead of timing",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cases = selected_cases(args.case)
    if args.profile:
        for case in cases:
            print_profile(case)
        return
    run_once(*prepare(Case("small", "zh", "few"))[:2])  # warm up: OpenCC, regex caches
    started = time.perf_counter()
    print(
        "changed = words (en) / Han characters (zh) changed / editable in the page; "
        "times are medians in ms; rem/add/mov/flg from the last run; fallbk = runs with "
        "compare's fallback set"
    )
    print(_HEADER)
    results = []
    for case in cases:
        result = run_case(case, 1 if args.quick else REPS[case.size])
        results.append(result)
        print(format_row(result), flush=True)
    print_size_medians(results)
    if args.case is None or args.case.startswith(("pdf", "openapi")):
        print_documents(args.case, 1 if args.quick else 3)
    misses = [r.case.name for r in results if not meets_target(r)]
    print(f"\nTargets missed: {', '.join(misses) if misses else 'none'}")
    print(f"Wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
