"""Realistic documentation pages and a fast local server for throughput benchmarks.

``generate_page(i, variant)`` returns deterministic 60-120 KB documentation HTML (every
fifth page in Simplified Chinese). Variants:

* ``"v0"``      the base page;
* ``"changed"`` a few sentences and table cells differ from v0 (visible text changes);
* ``"noisy"``   same visible text as v0, but the raw bytes differ: request id and
  timestamp in an inline ``<script>`` and an HTML comment, and a ``?v=`` cache-buster.

``PageServer(n_pages)`` serves ``/doc/<i>`` from a separate process (so the server does
not compete for the GIL of the client being measured) over HTTP/1.1 keep-alive, with
``set_scenario("v0" | "changed" | "noisy")`` switching what it serves.

Run ``python benchmarks/pages.py`` for a quick self-check and an httpx baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import math
import multiprocessing
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qs

VARIANTS = ("v0", "changed", "noisy")
SCENARIOS = ("v0", "changed", "noisy")
MIN_BYTES, MAX_BYTES = 60 * 1024, 120 * 1024

# ============================================================ vocabulary


@dataclass(frozen=True)
class _Lang:
    code: str
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    templates: tuple[str, ...]
    title_verbs: tuple[str, ...]
    products: tuple[str, ...]
    sections: tuple[str, ...]
    ui: dict[str, str]
    yes_no: tuple[str, str]
    sentence_sep: str
    changed_templates: tuple[str, ...]


_API_VERBS = (
    "Create",
    "Delete",
    "Modify",
    "Describe",
    "List",
    "Attach",
    "Detach",
    "Enable",
    "Disable",
    "Update",
    "Get",
    "Put",
    "Start",
    "Stop",
    "Restore",
    "Tag",
)
_API_NOUNS = (
    "Instance",
    "Bucket",
    "Object",
    "SecurityGroup",
    "Snapshot",
    "Disk",
    "Image",
    "Cluster",
    "NodePool",
    "Namespace",
    "LoadBalancer",
    "Listener",
    "Certificate",
    "Domain",
    "VSwitch",
    "RouteTable",
    "Gateway",
    "Queue",
    "Topic",
    "Subscription",
    "Function",
    "Trigger",
    "LogStore",
    "Alarm",
    "DBInstance",
    "Backup",
    "KeyPair",
    "AccessKey",
    "Policy",
    "Role",
    "Tag",
    "LifecycleRule",
    "Endpoint",
    "Replica",
)
_PARAM_SUFFIXES = (
    "Id",
    "Name",
    "Type",
    "Status",
    "Size",
    "Count",
    "Mode",
    "Ids",
    "Description",
    "Region",
    "Zone",
    "Period",
    "Version",
    "Arn",
    "Tags",
    "Token",
)
_TYPES = ("String", "Integer", "Boolean", "Long", "Array of String", "Object", "Float")
_VALUES = (
    "true",
    "false",
    "Enabled",
    "Disabled",
    "Standard",
    "Premium",
    "auto",
    "0",
    "1",
    "PayAsYouGo",
    "Subscription",
    "cloud_essd",
    "ipv4",
    "private",
    "public-read",
)
_DEFAULTS = (
    "-",
    "10",
    "20",
    "30",
    "50",
    "100",
    "true",
    "false",
    "Standard",
    "auto",
    "1",
    "3600",
    "PayAsYouGo",
)
_ERROR_PREFIXES = (
    "InvalidParameter",
    "QuotaExceeded",
    "Forbidden",
    "ResourceNotFound",
    "IncorrectStatus",
    "Throttling",
    "InvalidAccessKeyId",
    "OperationConflict",
)
_REGIONS = (
    "us-east-1",
    "eu-central-1",
    "ap-southeast-1",
    "cn-hangzhou",
    "cn-beijing",
    "cn-shanghai",
    "ap-northeast-1",
)
_NUMBERS = ("2", "3", "5", "10", "20", "30", "50", "100", "256", "500", "1000")

_EN = _Lang(
    code="en",
    nouns=(
        "instance",
        "bucket",
        "object",
        "region",
        "endpoint",
        "access key",
        "policy",
        "role",
        "snapshot",
        "disk",
        "image",
        "cluster",
        "node pool",
        "namespace",
        "load balancer",
        "listener",
        "certificate",
        "domain name",
        "subnet",
        "route table",
        "security group",
        "gateway",
        "queue",
        "topic",
        "subscription",
        "function",
        "trigger",
        "log store",
        "metric",
        "alarm rule",
        "dashboard",
        "database",
        "read-only replica",
        "backup set",
        "parameter template",
        "key pair",
        "token",
        "quota",
        "tag",
        "lifecycle rule",
        "encryption key",
        "signature",
        "request header",
        "bandwidth package",
        "elastic IP address",
        "whitelist",
        "storage class",
    ),
    verbs=(
        "create",
        "delete",
        "modify",
        "query",
        "attach",
        "detach",
        "enable",
        "disable",
        "configure",
        "rotate",
        "replicate",
        "restore",
        "mount",
        "resize",
        "migrate",
        "tag",
    ),
    adjectives=(
        "regional",
        "default",
        "encrypted",
        "public",
        "private",
        "optional",
        "read-only",
        "dedicated",
        "shared",
        "temporary",
        "cross-region",
        "managed",
    ),
    templates=(
        "Call the {api} operation to {verb} {anoun} in the specified {noun2}.",
        "If you do not specify the {noun}, the system uses the default {noun2} of the account.",
        "The {noun} must reside in the same region as the {noun2}.",
        "You can {verb} up to {num} {plural} for each {noun2}.",
        "This parameter takes effect only when {param} is set to {value}.",
        "After you {verb} the {noun}, it can take up to {num} minutes for the change to "
        "take effect.",
        "By default, {plural} are {adj} and cannot be shared across accounts.",
        "For more information, see {title}.",
        "Requests that exceed the {noun} quota return the {code} error code.",
        "The {noun} is billed on a pay-as-you-go basis according to the {noun2} that you use.",
        "You cannot {verb} {anoun} that is in the {value} state.",
        "Each {noun} in the {region} region supports at most {num} {adj} {plural2}.",
        "We recommend that you {verb} the {noun} before you {verb2} the {noun2}.",
        "The value of {param} must be 1 to {num} characters in length and can contain "
        "letters, digits, and hyphens (-).",
        "When {param} is omitted, the {noun} inherits the settings of its {noun2}.",
        "Only the owner of the {noun} or a user with the required permissions on the {noun2} "
        "can call {api}.",
    ),
    title_verbs=(
        "Configure",
        "Create",
        "Manage",
        "View",
        "Delete",
        "Migrate",
        "Monitor",
        "Authorize access to",
        "Back up",
        "Restore",
        "Troubleshoot",
        "Limits on",
    ),
    products=(
        "Compute Engine",
        "Object Storage",
        "Load Balancer",
        "Relational Database",
        "Log Service",
        "Kubernetes Engine",
        "Serverless Functions",
        "Message Queue",
        "Virtual Private Cloud",
        "Content Delivery Network",
        "Identity and Access",
        "Key Management",
    ),
    sections=(
        "Background information",
        "Limits",
        "Prerequisites",
        "Procedure",
        "Billing",
        "Best practices",
        "Permissions",
        "Related operations",
        "Troubleshooting",
        "Feature description",
        "Scenarios",
        "Considerations",
    ),
    ui={
        "home": "Documentation",
        "updated": "Last updated",
        "on_page": "On this page",
        "request": "Request parameters",
        "response": "Response parameters",
        "examples": "Examples",
        "sample_request": "Sample request",
        "sample_response": "Sample response",
        "errors": "Error codes",
        "overview": "Overview",
        "notes": "Usage notes",
        "note": "Note",
        "name": "Parameter",
        "type": "Type",
        "required": "Required",
        "default": "Default",
        "description": "Description",
        "status": "HTTP status code",
        "code": "Error code",
        "message": "Error message",
        "feedback": "Was this page helpful?",
        "copyright": "Copyright © 2009-2024 Example Cloud. All rights reserved.",
        "search": "Search documentation",
        "console": "Console",
        "contact": "Contact sales",
    },
    yes_no=("Yes", "No"),
    sentence_sep=" ",
    changed_templates=(
        "This operation is no longer supported in the {region} region.",
        "Starting from version {ver}, the {noun} is {adj} by default.",
        "You can {verb} at most {num2} {plural} at a time.",
        "The {param} parameter is deprecated. Use {param2} instead.",
    ),
)

_ZH = _Lang(
    code="zh-CN",
    nouns=(
        "实例",
        "存储桶",
        "对象",
        "地域",
        "访问域名",
        "访问密钥",
        "权限策略",
        "角色",
        "快照",
        "云盘",
        "镜像",
        "集群",
        "节点池",
        "命名空间",
        "负载均衡实例",
        "监听",
        "证书",
        "域名",
        "交换机",
        "路由表",
        "安全组",
        "网关",
        "消息队列",
        "主题",
        "订阅",
        "函数",
        "触发器",
        "日志库",
        "监控指标",
        "告警规则",
        "数据库",
        "只读实例",
        "备份集",
        "参数模板",
        "密钥对",
        "令牌",
        "配额",
        "标签",
        "生命周期规则",
        "加密密钥",
        "签名",
        "请求头",
        "共享带宽",
        "弹性公网IP",
        "白名单",
        "存储类型",
        "专有网络",
        "可用区",
    ),
    verbs=(
        "创建",
        "删除",
        "修改",
        "查询",
        "绑定",
        "解绑",
        "启用",
        "停用",
        "配置",
        "轮转",
        "复制",
        "恢复",
        "挂载",
        "扩容",
        "迁移",
        "释放",
    ),
    adjectives=(
        "地域级",
        "默认",
        "加密",
        "公共",
        "私有",
        "可选",
        "只读",
        "专属",
        "共享",
        "临时",
        "跨地域",
        "托管",
    ),
    templates=(
        "调用{api}接口{verb}{noun}时，必须指定所属的{noun2}。",
        "如果不指定{noun}，系统将使用当前账号的默认{noun2}。",
        "{noun}必须与{noun2}位于同一地域。",
        "每个{noun2}最多可以{verb}{num}个{noun}。",
        "仅当{param}取值为{value}时，该参数生效。",
        "{verb}{noun}后，配置变更最长需要{num}分钟才能生效。",
        "默认情况下，{noun}为{adj}资源，不支持跨账号共享。",
        "更多信息，请参见{title}。",
        "超过{noun}配额的请求将返回错误码{code}。",
        "{noun}按照实际使用的{noun2}以按量付费方式计费。",
        "处于{value}状态的{noun}不支持{verb}操作。",
        "{region}地域的每个{noun}最多支持{num}个{adj}{noun2}。",
        "建议您先{verb}{noun}，再{verb2}{noun2}。",
        "{param}的长度为1~{num}个字符，可包含字母、数字和短划线（-）。",
        "未设置{param}时，{noun}将继承其{noun2}的配置。",
        "只有{noun}的所有者或对{noun2}具有相应权限的用户才能调用{api}接口。",
        "为保证数据安全，建议您定期{verb}{noun}并开启{noun2}的操作审计功能。",
    ),
    title_verbs=(
        "配置",
        "创建",
        "管理",
        "查看",
        "删除",
        "迁移",
        "监控",
        "授权访问",
        "备份",
        "恢复",
        "排查",
        "使用限制：",
    ),
    products=(
        "云服务器",
        "对象存储",
        "负载均衡",
        "云数据库",
        "日志服务",
        "容器服务",
        "函数计算",
        "消息队列",
        "专有网络",
        "内容分发网络",
        "访问控制",
        "密钥管理服务",
    ),
    sections=(
        "背景信息",
        "使用限制",
        "前提条件",
        "操作步骤",
        "计费说明",
        "最佳实践",
        "权限说明",
        "相关操作",
        "常见问题",
        "功能说明",
        "应用场景",
        "注意事项",
    ),
    ui={
        "home": "文档中心",
        "updated": "更新时间",
        "on_page": "本页目录",
        "request": "请求参数",
        "response": "返回参数",
        "examples": "示例",
        "sample_request": "请求示例",
        "sample_response": "正常返回示例",
        "errors": "错误码",
        "overview": "概述",
        "notes": "使用说明",
        "note": "说明",
        "name": "名称",
        "type": "类型",
        "required": "是否必选",
        "default": "默认值",
        "description": "描述",
        "status": "HTTP状态码",
        "code": "错误码",
        "message": "错误信息",
        "feedback": "该文档对您是否有帮助？",
        "copyright": "版权所有 © 2009-2024 示例云计算有限公司",
        "search": "搜索文档",
        "console": "控制台",
        "contact": "联系我们",
    },
    yes_no=("是", "否"),
    sentence_sep="",
    changed_templates=(
        "{region}地域已不再支持该操作。",
        "自{ver}版本起，{noun}默认为{adj}资源。",
        "单次最多可以{verb}{num2}个{noun}。",
        "{param}参数已废弃，请使用{param2}。",
    ),
)


class _Rng(random.Random):
    """random.Random with float-based choice/randint: ~3x faster, still deterministic."""

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "sh", "ch")) else "s")


RandomFn = Callable[[], float]
SlotFn = Callable[[RandomFn], str]
Compiled = tuple[str | SlotFn, ...]


def _picker(first: Sequence[str], second: Sequence[str] = (), sep: str = "") -> SlotFn:
    """A slot drawing one item (or one item from each of two pools): closures are fast."""
    n, m = len(first), len(second)
    if not m:
        return lambda r: first[int(r() * n)]
    return lambda r: first[int(r() * n)] + sep + second[int(r() * m)]


@functools.cache
def _slot_functions(lang_code: str) -> dict[str, SlotFn]:
    lang = _ZH if lang_code == "zh-CN" else _EN
    plurals = tuple(map(_plural, lang.nouns)) if lang_code == "en" else lang.nouns
    title_nouns = plurals if lang_code == "en" else lang.nouns
    with_article = (
        tuple(("an " if n[0] in "aeiou" else "a ") + n for n in lang.nouns)
        if lang_code == "en"
        else lang.nouns
    )
    return {
        "noun": _picker(lang.nouns),
        "anoun": _picker(with_article),
        "ver": _picker(("2.0", "2.5", "3.0", "3.2", "4.0", "5.1")),
        "plural": _picker(plurals),
        "verb": _picker(lang.verbs),
        "adj": _picker(lang.adjectives),
        "api": _picker(_API_VERBS, _API_NOUNS),
        "param": _picker(_API_NOUNS, _PARAM_SUFFIXES),
        "num": _picker(_NUMBERS),
        "value": _picker(_VALUES),
        "code": _picker(_ERROR_PREFIXES, _API_NOUNS, sep="."),
        "region": _picker(_REGIONS),
        "title": _picker(lang.title_verbs, title_nouns, sep=" " if lang_code == "en" else ""),
    }


_SLOT = re.compile(r"\{(\w+?)2?\}")


@functools.cache
def _compiled(lang_code: str, changed: bool = False) -> tuple[Compiled, ...]:
    """Templates split into literal text and slot functions, once per language."""
    lang = _ZH if lang_code == "zh-CN" else _EN
    slots = _slot_functions(lang_code)
    compiled = []
    for template in lang.changed_templates if changed else lang.templates:
        pieces = _SLOT.split(template)  # literal, slot name, literal, ...
        compiled.append(
            tuple(slots[piece] if n % 2 else piece for n, piece in enumerate(pieces) if piece)
        )
    return tuple(compiled)


def _sentence(rng: _Rng, lang: _Lang, changed: bool = False) -> str:
    r = rng.random
    templates = _compiled(lang.code, changed)
    template = templates[int(r() * len(templates))]
    # `__class__ is str` rather than isinstance: this line runs ~500 times per page.
    return "".join([p if p.__class__ is str else p(r) for p in template])  # type: ignore[operator]


def _sentences(rng: _Rng, lang: _Lang, count: int) -> list[str]:
    return [_sentence(rng, lang) for _ in range(count)]


def _title(rng: _Rng, lang: _Lang) -> str:
    return _slot_functions(lang.code)["title"](rng.random)


def _slug(rng: _Rng) -> str:
    return f"{rng.choice(_API_VERBS)}-{rng.choice(_API_NOUNS)}".lower() + f"-{rng.randrange(1000)}"


def _row(cells: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ============================================================ page structure

# Noise placeholders: their values change between "v0" and "noisy" pages.
_RID, _TS, _VER = "\x00RID\x00", "\x00TS\x00", "\x00VER\x00"
_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)</h2>')

_STYLE = (
    "<style>:root{--brand:#ff6a00;--text:#181818;--muted:#666;--border:#e8e8e8}"
    "*{box-sizing:border-box}body{margin:0;font:14px/1.7 -apple-system,BlinkMacSystemFont,"
    "'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei',sans-serif;color:var(--text)}"
    ".site-header{position:sticky;top:0;z-index:10;height:56px;display:flex;"
    "align-items:center;border-bottom:1px solid var(--border);background:#fff}"
    ".site-header nav a{margin:0 12px;color:var(--text);text-decoration:none}"
    ".mega-menu{display:none;position:absolute;top:56px;left:0;right:0;background:#fff;"
    "box-shadow:0 8px 24px rgba(0,0,0,.08)}.layout{display:grid;grid-template-columns:"
    "280px minmax(0,1fr) 220px;max-width:1440px;margin:0 auto}.sidebar{height:calc(100vh"
    " - 56px);overflow:auto;border-right:1px solid var(--border);padding:16px 0}"
    ".sidebar a{display:block;padding:4px 24px;color:#333;text-decoration:none}"
    ".sidebar a.active{color:var(--brand);background:#fff4eb}.breadcrumb{font-size:12px;"
    "color:var(--muted)}.article{padding:24px 48px}.article h1{font-size:28px}"
    ".article h2{font-size:22px;margin-top:32px;border-bottom:1px solid var(--border)}"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--border);"
    "padding:8px 12px;text-align:left;vertical-align:top}pre{background:#f7f8fa;"
    "padding:16px;overflow:auto;border-radius:4px}code{font-family:Menlo,Consolas,monospace}"
    ".note{border-left:4px solid #0070cc;background:#f0f7ff;padding:12px 16px}"
    ".toc a{display:block;font-size:13px;color:var(--muted)}.site-footer{background:#1f1f1f;"
    "color:#ccc;padding:48px}.site-footer a{color:#ccc;margin-right:16px}</style>"
)
_ANALYTICS = (
    "<script>!function(w,d){var q=w.__docsq=w.__docsq||[];w.track=function(){q.push("
    "arguments)};var s=d.createElement('script');s.async=1;s.src='https://static.example-"
    "cloud.com/analytics/v3/collect.js';d.head.appendChild(s)}(window,document);"
    "track('pageview',{section:'docs'});document.addEventListener('click',function(e){var a="
    "e.target.closest('a');if(a&&a.host!==location.host){track('outbound',{href:a.href})}});"
    "</script>"
)


@functools.cache
def _header(lang_code: str) -> str:
    """Top navigation with a mega menu: the same on every page of a language."""
    lang = _ZH if lang_code == "zh-CN" else _EN
    rng = _Rng(f"header-{lang_code}")
    top = "".join(
        f'<a href="/{lang_code}/{word.lower()}">{word}</a>'
        for word in (
            "Products",
            "Solutions",
            "Pricing",
            "Documentation",
            "Marketplace",
            "Partners",
            "Support",
            "Blog",
        )
    )
    menu = "".join(
        f'<li><a href="/{lang_code}/product/{n}">{product}</a>'
        f'<span class="desc">{_esc(_title(rng, lang))}</span></li>'
        for n, product in enumerate(lang.products * 3)
    )
    return (
        '<header class="site-header"><a class="logo" href="/">Example Cloud</a>'
        f'<nav class="top-nav">{top}</nav><div class="mega-menu"><ul>{menu}</ul></div>'
        f'<form class="search" action="/search"><input name="q" placeholder="'
        f'{lang.ui["search"]}"></form><a class="console" href="https://console.example-'
        f'cloud.com/">{lang.ui["console"]}</a><a href="/contact">{lang.ui["contact"]}</a>'
        "</header>"
    )


@functools.cache
def _sidebar(lang_code: str, product: int) -> tuple[str, ...]:
    """~150 sidebar links of one product, as a tuple of <li> items (cached)."""
    lang = _ZH if lang_code == "zh-CN" else _EN
    rng = _Rng(f"sidebar-{lang_code}-{product}")
    items = []
    for group in range(10):
        items.append(f'<li class="group"><span>{lang.sections[group]}</span></li>')
        for _ in range(15):
            title = (
                _esc(_title(rng, lang))
                if rng.random() < 0.6
                else (rng.choice(_API_VERBS) + rng.choice(_API_NOUNS))
            )
            href = f"/{lang_code}/docs/p{product}/{_slug(rng)}"
            items.append(f'<li><a href="{href}">{title}</a></li>')
    return tuple(items)


def _footer(lang: _Lang) -> str:
    links = "".join(
        f'<a href="/{lang.code}/{n}">{word}</a>'
        for n, word in enumerate(lang.products + lang.sections)
    )
    return (
        f'<footer class="site-footer"><div class="links">{links}</div>'
        f"<p>{lang.ui['copyright']}</p></footer>"
    )


# ============================================================ page builder

Part = str | tuple[str, str]  # a plain piece, or (v0 text, changed text)


class _Builder:
    """Builds one page's v0 and changed renderings in a single deterministic pass."""

    def __init__(self, i: int) -> None:
        self.i = i
        self.rng = _Rng(i)
        self.lang = _ZH if i % 5 == 0 else _EN
        self.product = i % len(self.lang.products)
        # Which paragraphs / table rows the "changed" variant edits: drawn from its own
        # generator so v0 consumes exactly the same randomness with or without edits.
        edits = _Rng(i * 7919 + 17)
        self.changed_paragraphs = set(edits.sample(range(8), 3))
        self.changed_rows = set(edits.sample(range(10), 2))
        self.edits = edits
        self.paragraph_count = 0
        self.row_count = 0

    # --------------------------------------------------------------- pieces

    def paragraph(self, count: int) -> Part:
        sentences = _sentences(self.rng, self.lang, count)
        sep = self.lang.sentence_sep
        original = f"<p>{_esc(sep.join(sentences))}</p>"
        index, self.paragraph_count = self.paragraph_count, self.paragraph_count + 1
        if index not in self.changed_paragraphs:
            return original
        edited = list(sentences)
        slot = self.edits.randrange(len(edited))
        edited[slot] = self._different(edited[slot])
        return original, f"<p>{_esc(sep.join(edited))}</p>"

    def _different(self, sentence: str) -> str:
        replacement = _sentence(self.edits, self.lang, changed=True)
        return replacement if replacement != sentence else replacement + " (updated)"

    def table(self, rows: int) -> list[Part]:
        ui, rng = self.lang.ui, self.rng
        head = "".join(
            f"<th>{ui[k]}</th>" for k in ("name", "type", "required", "default", "description")
        )
        parts: list[Part] = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
        for _ in range(rows):
            cells = [
                f"<code>{rng.choice(_API_NOUNS)}{rng.choice(_PARAM_SUFFIXES)}</code>",
                rng.choice(_TYPES),
                self.lang.yes_no[rng.random() < 0.6],
                rng.choice(_DEFAULTS),
                _esc(self.lang.sentence_sep.join(_sentences(rng, self.lang, rng.randint(1, 2)))),
            ]
            original = _row(cells)
            index, self.row_count = self.row_count, self.row_count + 1
            if index in self.changed_rows:
                edited = list(cells)
                column = self.edits.choice((2, 3, 4))  # required flag, default or description
                if column == 2:
                    edited[2] = self.lang.yes_no[edited[2] == self.lang.yes_no[0]]
                elif column == 3:
                    edited[3] = "60" if edited[3] != "60" else "120"
                else:
                    edited[4] = _esc(self._different(cells[4]))
                parts.append((original, _row(edited)))
            else:
                parts.append(original)
        parts.append("</tbody></table>")
        return parts

    def code_sample(self, api: str) -> str:
        rng = self.rng
        params = "&amp;".join(
            f"{rng.choice(_API_NOUNS)}{rng.choice(_PARAM_SUFFIXES)}={rng.choice(_VALUES)}"
            for _ in range(rng.randint(3, 7))
        )
        fields = ",\n".join(
            f'  "{rng.choice(_API_NOUNS)}{rng.choice(_PARAM_SUFFIXES)}": "{rng.choice(_VALUES)}"'
            for _ in range(rng.randint(4, 12))
        )
        request_id = f"{rng.getrandbits(64):016X}-{rng.getrandbits(32):08X}"
        return (
            f'<h3>{self.lang.ui["sample_request"]}</h3><pre><code class="language-http">'
            f"GET https://api.example-cloud.com/?Action={api}&amp;{params}\n"
            f"&amp;&lt;common request parameters&gt;</code></pre>"
            f'<h3>{self.lang.ui["sample_response"]}</h3><pre><code class="language-json">'
            f'{{\n  "RequestId": "{request_id}",\n{fields}\n}}</code></pre>'
            '<pre><code class="language-python">from example_cloud import Client\n\n'
            f'client = Client(region="{rng.choice(_REGIONS)}")\n'
            f"response = client.{api[0].lower()}{api[1:]}(\n"
            + "".join(
                f"    {rng.choice(_API_NOUNS).lower()}_{rng.choice(_PARAM_SUFFIXES).lower()}="
                f'"{rng.choice(_VALUES)}",\n'
                for _ in range(rng.randint(2, 5))
            )
            + ")\nprint(response.body)</code></pre>"
        )

    def errors_table(self) -> str:
        rng, ui = self.rng, self.lang.ui
        rows = "".join(
            f"<tr><td>{rng.choice((400, 403, 404, 409, 429, 500))}</td>"
            f"<td>{rng.choice(_ERROR_PREFIXES)}.{rng.choice(_API_NOUNS)}</td>"
            f"<td>{_esc(_sentence(rng, self.lang))}</td></tr>"
            for _ in range(rng.randint(5, 15))
        )
        return (
            f"<table><thead><tr><th>{ui['status']}</th><th>{ui['code']}</th>"
            f"<th>{ui['message']}</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    # --------------------------------------------------------------- sections

    def section(self, title: str, anchor: str, body: list[Part]) -> list[Part]:
        return [f'<h2 id="{anchor}">{_esc(title)}</h2>', *body]

    def prose_section(self, title: str, anchor: str) -> list[Part]:
        rng = self.rng
        body: list[Part] = [self.paragraph(rng.randint(2, 4)) for _ in range(rng.randint(1, 3))]
        for _ in range(rng.randint(1, 3)):
            body.append(f"<h3>{_esc(_title(rng, self.lang))}</h3>")
            body.extend(self.paragraph(rng.randint(2, 5)) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.5:
            items = "".join(f"<li>{_esc(s)}</li>" for s in _sentences(rng, self.lang, 4))
            body.append(f"<ul>{items}</ul>")
        if rng.random() < 0.4:
            body.append(
                f'<div class="note"><strong>{self.lang.ui["note"]}</strong> '
                f"{_esc(_sentence(rng, self.lang))}</div>"
            )
        return self.section(title, anchor, body)

    def article(self, title: str, api: str, budget: int) -> list[Part]:
        """Fixed opening sections, then more until the page reaches its size budget."""
        ui, rng = self.lang.ui, self.rng
        parts: list[Part] = []
        size = 0

        def add(section: list[Part]) -> None:
            nonlocal size
            parts.extend(section)
            size += sum(len((p if isinstance(p, str) else p[0]).encode()) for p in section)

        add(
            self.section(
                ui["overview"], "overview", [self.paragraph(rng.randint(3, 5)) for _ in range(3)]
            )
        )
        add(self.prose_section(ui["notes"], "usage-notes"))
        add(
            self.section(
                ui["request"], "request", [self.paragraph(1), *self.table(rng.randint(10, 40))]
            )
        )
        add(self.section(ui["response"], "response", self.table(rng.randint(10, 25))))
        add(self.section(ui["examples"], "examples", [self.code_sample(api)]))
        n = 0
        while size < budget:
            n += 1
            kind = rng.random()
            if kind < 0.6:
                add(self.prose_section(rng.choice(self.lang.sections), f"section-{n}"))
            elif kind < 0.85:
                add(
                    self.section(
                        _title(rng, self.lang),
                        f"section-{n}",
                        [self.paragraph(2), *self.table(rng.randint(10, 30))],
                    )
                )
            else:
                add(self.section(ui["examples"], f"section-{n}", [self.code_sample(api)]))
        add(self.section(ui["errors"], "errors", [self.errors_table()]))
        return [f"<h1>{_esc(title)}</h1>", *parts]

    # --------------------------------------------------------------- page

    def build(self) -> list[Part]:
        lang, rng, ui = self.lang, self.rng, self.lang.ui
        product = lang.products[self.product]
        title = _title(rng, lang)
        api = rng.choice(_API_VERBS) + rng.choice(_API_NOUNS)
        sidebar = _sidebar(lang.code, self.product)
        active = rng.randrange(len(sidebar))
        side = "".join(
            item.replace("<a ", '<a class="active" ', 1) if n == active else item
            for n, item in enumerate(sidebar)
        )
        target = rng.randint(64_000, 100_000)  # whole page; the last section overshoots it
        head = (
            f'<!DOCTYPE html>\n<html lang="{lang.code}"><head><meta charset="utf-8">'
            f"<title>{_esc(title)} - {product} - Example Cloud</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="description" content="{_esc(_sentence(rng, lang))}">'
            f'<link rel="canonical" href="https://docs.example-cloud.com/{lang.code}/doc/'
            f'{self.i}">'
            '<link rel="stylesheet" href="https://static.example-cloud.com/docs/css/main.css'
            f'?v={_VER}">{_STYLE}'
            f'<script>window.__DOCS_CONTEXT__={{"requestId":"{_RID}","renderedAt":'
            f'"{_TS}","docId":{self.i},"lang":"{lang.code}","product":{self.product}}};'
            "</script></head>\n<body>"
            f"<!-- rendered by docs-renderer 4.12.3 at {_TS} request {_RID} -->"
        )
        crumbs = (
            f'<nav class="breadcrumb"><a href="/">{ui["home"]}</a> / '
            f'<a href="/{lang.code}/product/{self.product}">{product}</a> / '
            f'<a href="/{lang.code}/docs/p{self.product}/{rng.choice(lang.sections)}">'
            f"{rng.choice(lang.sections)}</a> / <span>{_esc(title)}</span></nav>"
        )
        updated = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        before = [
            head,
            _header(lang.code),
            f'<div class="layout"><aside class="sidebar"><ul>{side}</ul></aside>',
            f'<main class="article">{crumbs}<p class="meta">{ui["updated"]}: {updated}</p>',
        ]
        after = [
            f'<div class="feedback">{ui["feedback"]} <button>👍</button><button>👎</button>'
            "</div></main>",
            _footer(lang),
            _ANALYTICS,
            '<script src="https://static.example-cloud.com/docs/js/main.js?v='
            + _VER
            + '" defer></script></body></html>\n',
        ]
        chrome = sum(len(piece.encode()) for piece in before + after)
        article = self.article(title, api, target - chrome)
        toc = "".join(
            f'<a href="#{m.group(1)}">{m.group(2)}</a>'
            for p in article
            if isinstance(p, str) and (m := _H2.match(p))
        )
        toc_aside = f'<aside class="toc"><strong>{ui["on_page"]}</strong>{toc}</aside></div>'
        return [*before, *article, toc_aside, *after]


# ============================================================ templates and variants

Template = tuple[tuple[bytes, ...], tuple[str, ...]]  # byte segments, noise keys between them


def _template(text: str) -> Template:
    pieces = text.split("\x00")  # placeholders are \x00KEY\x00: keys sit at odd indexes
    return tuple(p.encode() for p in pieces[0::2]), tuple(pieces[1::2])


def _build_templates(i: int) -> tuple[Template, Template]:
    """(v0, changed) templates of page ``i``, with noise placeholders still unfilled."""
    parts = _Builder(i).build()
    v0 = "".join(p if isinstance(p, str) else p[0] for p in parts)
    changed = "".join(p if isinstance(p, str) else p[1] for p in parts)
    return _template(v0), _template(changed)


# Bounded caches: a page is ~85 KB and its templates twice that. Filling a cached
# template takes ~0.05 ms, so evicted bytes are cheap to rebuild.
@functools.lru_cache(maxsize=1024)
def _templates(i: int) -> tuple[Template, Template]:
    return _build_templates(i)


def _noise(i: int, nonce: int) -> dict[str, bytes]:
    """Request id, timestamp and build hash; nonce 0 is the v0 value."""
    digest = hashlib.blake2b(f"{i}:{nonce}".encode(), digest_size=16).hexdigest()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + i * 37 + nonce * 3607))
    return {
        "RID": "-".join(
            (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:])
        ).encode(),
        "TS": stamp.encode(),
        "VER": hashlib.blake2b(f"build:{nonce}".encode(), digest_size=4).hexdigest().encode(),
    }


def _fill(template: Template, noise: dict[str, bytes]) -> bytes:
    segments, keys = template
    out = [segments[0]]
    for key, segment in zip(keys, segments[1:], strict=True):
        out.append(noise[key])
        out.append(segment)
    return b"".join(out)


def _render(i: int, variant: str, nonce: int, templates: tuple[Template, Template]) -> bytes:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    if variant == "noisy" and nonce < 1:
        raise ValueError("noisy pages need a nonce >= 1 (nonce 0 is the v0 noise)")
    template = templates[1] if variant == "changed" else templates[0]
    return _fill(template, _noise(i, nonce if variant == "noisy" else 0))


@functools.lru_cache(maxsize=1024)
def generate_page(i: int, variant: str = "v0", nonce: int = 1) -> bytes:
    """Deterministic documentation page ``i`` (60-120 KB of UTF-8 HTML).

    ``nonce`` only matters for ``"noisy"``: each nonce gives another request id,
    timestamp and cache-buster, with the same visible text as ``"v0"``.
    """
    return _render(i, variant, nonce, _templates(i))


def changed_pages(n_pages: int, changed_fraction: float = 0.1) -> list[int]:
    """Pages that serve the "changed" variant: evenly spread, ``i % 10 == 0`` for 0.1."""
    ratio = Fraction(changed_fraction).limit_denominator(10_000)
    if not 0 <= ratio <= 1:
        raise ValueError("changed_fraction must be between 0 and 1")
    p, q = ratio.numerator, ratio.denominator
    return [i for i in range(n_pages) if p and math.floor(i * p / q) != math.floor((i - 1) * p / q)]


# ============================================================ server process


Response = tuple[bytes, int]  # full response bytes, length of the head


class _Catalog:
    """What the server process serves: pre-built responses for the current scenario."""

    def __init__(self, n_pages: int, changed_fraction: float) -> None:
        self.n_pages = n_pages
        self.changed = set(changed_pages(n_pages, changed_fraction))
        self.v0_templates: list[Template] = []  # kept to re-noise pages on each switch
        v0: list[Response] = []
        changed: list[Response] = []
        for i in range(n_pages):  # bypass the lru caches: this process keeps its own copies
            templates = _build_templates(i)
            self.v0_templates.append(templates[0])
            v0.append(self._response(_render(i, "v0", 0, templates)))
            # Unchanged pages share v0's response object: one copy in memory.
            changed.append(
                self._response(_render(i, "changed", 0, templates)) if i in self.changed else v0[i]
            )
        self.prebuilt = {"v0": v0, "changed": changed}
        self.nonce = 0
        self.scenario = "v0"
        self.responses = self.prebuilt["v0"]

    @staticmethod
    def _response(body: bytes) -> Response:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-cache\r\n\r\n"
        ).encode()
        return head + body, len(head)  # one buffer: a single transport.write per request

    def set_scenario(self, name: str) -> None:
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; expected one of {SCENARIOS}")
        if name == "noisy":  # a fresh request id / timestamp on every switch
            self.nonce += 1
            self.responses = [
                self._response(_fill(t, _noise(i, self.nonce)))
                for i, t in enumerate(self.v0_templates)
            ]
        else:
            self.responses = self.prebuilt[name]
        self.scenario = name


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"


def _plain(status: bytes, text: str) -> bytes:
    body = text.encode()
    return b"HTTP/1.1 %b\r\nContent-Length: %d\r\n\r\n%b" % (status, len(body), body)


class _HttpProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server: GET/HEAD, keep-alive, pipelining-safe, no request bodies."""

    def __init__(self, catalog: _Catalog, latency: float = 0.0) -> None:
        self.catalog = catalog
        self.latency = latency  # seconds before each answer (a distant server)
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            closing = b"connection: close" in head.lower()
            if self.latency > 0:  # same delay for every answer: pipelined order is kept
                asyncio.get_running_loop().call_later(
                    self.latency, self._send, self._answer(head), closing
                )
            else:
                self._send(self._answer(head), closing)
            if closing:
                return
        if len(self.buffer) > 65536:
            self.transport.close()

    def _send(self, answer: bytes, closing: bool) -> None:
        assert self.transport is not None
        if self.transport.is_closing():
            return
        self.transport.write(answer)
        if closing:
            self.transport.close()

    def _answer(self, head: bytes) -> bytes:
        request_line = head.split(b"\r\n", 1)[0].split(b" ")
        if len(request_line) < 2:
            return _NOT_FOUND
        method, target = request_line[0], request_line[1].split(b"?", 1)
        path = target[0]
        if path.startswith(b"/doc/"):
            try:
                index = int(path[5:])
            except ValueError:
                return _NOT_FOUND
            if 0 <= index < self.catalog.n_pages:
                response, head_length = self.catalog.responses[index]
                return response[:head_length] if method == b"HEAD" else response
        elif path == b"/_control/scenario":
            query = parse_qs(target[1].decode() if len(target) > 1 else "")
            name = query.get("name", [""])[0]
            try:
                self.catalog.set_scenario(name)
            except ValueError as exc:
                return _plain(b"400 Bad Request", str(exc))
            return _plain(b"200 OK", name)
        return _NOT_FOUND


def _serve_process(
    n_pages: int, changed_fraction: float, host: str, pipe: Any, latency: float = 0.0
) -> None:
    """Entry point of the server process: build everything, then serve until told to stop."""
    try:
        catalog = _Catalog(n_pages, changed_fraction)
    except Exception as exc:  # report, rather than leave the parent waiting
        pipe.send(("error", repr(exc)))
        return
    asyncio.run(_serve(catalog, host, pipe, latency))


async def _serve(catalog: _Catalog, host: str, pipe: Any, latency: float = 0.0) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _HttpProtocol(catalog, latency), host, 0, backlog=1024
    )
    done = loop.create_future()

    def on_command() -> None:
        try:
            command, argument = pipe.recv()
        except (EOFError, OSError):  # the parent is gone: do not outlive it
            command, argument = "stop", None
        if command == "scenario":
            try:
                catalog.set_scenario(argument)
                pipe.send(("ok", catalog.nonce))
            except ValueError as exc:
                pipe.send(("error", str(exc)))
        elif command == "stop" and not done.done():
            loop.remove_reader(pipe.fileno())
            done.set_result(None)

    loop.add_reader(pipe.fileno(), on_command)
    pipe.send(("ready", server.sockets[0].getsockname()[1]))
    async with server:
        await done
    with contextlib.suppress(OSError):
        pipe.send(("stopped", None))


class PageServer:
    """Serves ``/doc/<i>`` for ``i in range(n_pages)`` from a separate process."""

    def __init__(
        self,
        n_pages: int,
        changed_fraction: float = 0.1,
        host: str = "127.0.0.1",
        startup_timeout: float = 300.0,
        latency: float = 0.0,
    ) -> None:
        self.n_pages = n_pages
        self.changed_fraction = changed_fraction
        self.host = host
        self.port = 0
        self.scenario = "v0"
        self.noise_nonce = 0  # nonce of the latest "noisy" scenario (see generate_page)
        self.startup_timeout = startup_timeout
        self.latency = latency  # simulated server latency, seconds per answer
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Any = None
        self._lock = threading.Lock()

    def start(self) -> PageServer:
        # spawn, not fork: forking a process that runs threads (pytest, httpx) is unsafe.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve_process,
            args=(self.n_pages, self.changed_fraction, self.host, child, self.latency),
            name="PageServer",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._pipe = parent
        kind, value = self._receive(self.startup_timeout)
        if kind != "ready":
            self.stop()
            raise RuntimeError(f"page server failed to start: {value}")
        self.port = int(value)
        self.scenario = "v0"
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            self._pipe.send(("stop", None))
            self._pipe.poll(5)
        except (OSError, EOFError):
            pass
        process.join(5)
        if process.is_alive():
            process.terminate()
            process.join(5)
        self._pipe.close()

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def set_scenario(self, name: str) -> None:
        """Switch what every page serves; returns once the server serves it."""
        with self._lock:
            self._pipe.send(("scenario", name))
            kind, value = self._receive(120)
        if kind != "ok":
            raise ValueError(value)
        self.scenario = name
        self.noise_nonce = int(value)

    def _receive(self, timeout: float) -> tuple[str, Any]:
        try:
            if not self._pipe.poll(timeout):
                raise TimeoutError("page server did not answer")
            return self._pipe.recv()
        except EOFError:
            code = self._process.exitcode if self._process else None
            raise RuntimeError(
                f"page server process died (exit code {code}); with multiprocessing 'spawn' "
                'the calling script needs an `if __name__ == "__main__":` guard'
            ) from None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, i: int) -> str:
        return f"{self.base_url}/doc/{i}"

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(self.n_pages)]

    def changed_indices(self) -> list[int]:
        """Pages that differ from v0 in the "changed" scenario."""
        return changed_pages(self.n_pages, self.changed_fraction)

    def expected_body(self, i: int) -> bytes:
        """The body page ``i`` serves in the scenario last set with ``set_scenario``."""
        if self.scenario == "noisy":
            return generate_page(i, "noisy", self.noise_nonce)
        changed = self.scenario == "changed" and i in set(self.changed_indices())
        return generate_page(i, "changed" if changed else "v0")


# ============================================================ self-check


async def _fetch_all(
    urls: Sequence[str], concurrency: int = 8, rounds: int = 3
) -> tuple[list[float], list[bytes]]:
    """Fetch every URL ``rounds`` times over ``concurrency`` keep-alive connections.

    Returns the pages/s of each round and the bodies of the last one.
    """
    import httpx  # only the self-check needs it

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    bodies: list[bytes] = [b""] * len(urls)
    rates: list[float] = []
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(pending: Iterator[int]) -> None:
            for index in pending:  # workers share one iterator: each URL fetched once
                response = await client.get(urls[index])
                response.raise_for_status()
                bodies[index] = response.content

        for _ in range(rounds):
            pending = iter(range(len(urls)))
            started = time.perf_counter()
            await asyncio.gather(*(worker(pending) for _ in range(concurrency)))
            rates.append(len(urls) / (time.perf_counter() - started))
    return rates, bodies


def _self_check(n_pages: int = 200) -> None:
    started = time.perf_counter()
    sizes = [len(generate_page(i)) for i in range(n_pages)]  # first call: uncached
    per_page = (time.perf_counter() - started) / n_pages * 1000
    print(
        f"generate_page: {per_page:.2f} ms/page uncached, sizes {min(sizes) // 1024}-"
        f"{max(sizes) // 1024} KB, mean {sum(sizes) // n_pages // 1024} KB"
    )
    assert all(MIN_BYTES <= size <= MAX_BYTES for size in sizes), "page size out of range"

    with PageServer(n_pages) as server:
        urls = server.urls()
        asyncio.run(_fetch_all(urls[:50], rounds=1))  # warm-up
        for scenario in ("v0", "changed", "noisy", "noisy", "v0"):
            server.set_scenario(scenario)
            rates, bodies = asyncio.run(_fetch_all(urls))
            assert all(body == server.expected_body(i) for i, body in enumerate(bodies))
            differing = sum(body != generate_page(i) for i, body in enumerate(bodies))
            expected = {"v0": 0, "changed": len(server.changed_indices()), "noisy": n_pages}
            assert differing == expected[scenario], (scenario, differing)
            mib = sum(map(len, bodies)) * max(rates) / n_pages / 2**20
            print(
                f"{scenario:8s} httpx.AsyncClient x8: best {max(rates):5.0f} pages/s, "
                f"median {sorted(rates)[len(rates) // 2]:5.0f} pages/s ({mib:5.1f} MiB/s); "
                f"{differing} pages differ from v0"
            )


if __name__ == "__main__":
    _self_check()
