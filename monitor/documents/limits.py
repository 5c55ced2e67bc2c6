"""Where extraction gives up, said out loud: parser limits and the CSS rules' time budget.

A library that stops early (lxml at its nesting limit, a rule that runs for a minute)
must never hand back a shorter text as if it were the page: a watched term past that
point would vanish silently, and its removal would never be reported. Each limit here
becomes a reason; the check records the capture as ``incomplete`` (kept as evidence,
never compared) with that reason.

>>> parser_problem([])
''
>>> budget = RuleBudget(seconds=0.0)
>>> budget.spent("select", "p ~ p", 0.25)
"select rule 'p ~ p' brought the page's CSS rules to 0.25 s, over their 0.0 s budget"
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import defaults

# What the check's events carry to tell a parser's limit from a time budget: a parser
# limit is a fact of the bytes (confirmed at once); a time budget may depend on load.
PARSER_LIMIT, TIME_BUDGET, DECODING = "parser_limit", "time_budget", "decoding"
SIZE_LIMIT = "size_limit"


class _LogEntry(Protocol):
    level_name: str
    type_name: str
    message: str
    line: int


def parser_problem(errors: Iterable[_LogEntry]) -> str:
    """Why a parse stopped early, from the parser's error log; "" when it did not.

    lxml recovers from broken markup without losing text (those are ERROR entries);
    a FATAL entry or a resource limit (nesting depth, buffer size) means the rest of
    the page was dropped.
    """
    for entry in errors:
        if entry.level_name == "FATAL" or entry.type_name == "ERR_RESOURCE_LIMIT":
            message = entry.message.split(", use XML_PARSE_HUGE")[0].strip()
            return (
                f"the HTML parser stopped at line {entry.line}: {message}; the text after "
                "that point could not be read (the raw bytes are kept)"
            )
    return ""


# libxml2's HTML parser checks each attribute of a start tag against all the earlier
# ones: 20,000 distinct attributes in one tag took 0.75 s, 40,000 took 10 s, and a
# page's body cap leaves room for millions (a check that never ends). Real markup has
# tens; past this many the page is not parsed at all. Below it, a whole body of such
# tags costs at most about 0.2 s per MB.
MAX_ATTRIBUTES = 1000
# One attribute as HTML's tokenizer reads it (libxml2 2.14 follows HTML5): a name, then
# maybe "=" and a value, quoted (quotes may hold ">" and "<") or not; "/" and no space at
# all may separate two attributes. Atomic groups: no backtracking, so the search is
# linear in the page (about 0.2 ms for a 100 KB page). Over-counting odd markup is
# harmless; under-counting would let a flood through.
_ATTRIBUTE = r"""(?>[\s/]*+[^\s/>][^\s/>=]*+(?>\s*+=\s*+(?>"[^"]*+"|'[^']*+'|[^\s>]++))?+)"""
_CROWDED = r"<[A-Za-z][^\s/>]*+" + _ATTRIBUTE + f"{{{MAX_ATTRIBUTES + 1}}}"
# A start tag whole (where it ends), and where the text of a script or a style element,
# which the parser reads as text and not as tags, begins and ends.
_TAG = r"<[A-Za-z][^\s/>]*+" + _ATTRIBUTE + r"*+[\s/]*+>?"
_RAW_OPEN = r"<(script|style)(?=[\s/>])"


def _patterns(kind: type[str] | type[bytes]) -> dict[str, re.Pattern[Any]]:
    def make(pattern: str, flags: int = 0) -> re.Pattern[Any]:
        if kind is bytes:
            return re.compile(pattern.encode(), flags)
        return re.compile(pattern, flags | re.ASCII)  # HTML's spaces are ASCII ones

    return {
        "crowded": make(_CROWDED),
        "tag": make(_TAG),
        "raw": make(_RAW_OPEN, re.IGNORECASE),
        "script": make("</script", re.IGNORECASE),
        "style": make("</style", re.IGNORECASE),
    }


_PATTERNS = {bytes: _patterns(bytes), str: _patterns(str)}


def crowded_tag(html: str | bytes) -> str:
    """Why a page must not be handed to the parser: a start tag with too many attributes.

    One search over the whole page (0.2 ms for 100 KB); only a page it flags is read
    again tag by tag, so that script or style text that merely looks like a crowded tag
    (``i<n`` and a thousand words of code) does not keep a page from being compared.

    >>> crowded_tag("<p " + " ".join(f"a{i}" for i in range(1001)) + ">x</p>")[:55]
    'a start tag at line 1 carries more than 1000 attributes'
    >>> crowded_tag(b'<p class="a">x</p>')
    ''
    >>> crowded_tag("<script>if (i<n " + "x " * 2000 + "</script><p>x</p>")
    ''
    """
    patterns = _PATTERNS[type(html)]
    if patterns["crowded"].search(html) is None:
        return ""
    at = _crowded_outside_raw_text(html, patterns)
    if at < 0:
        return ""
    newline = b"\n" if isinstance(html, bytes) else "\n"
    line = html.count(newline, 0, at) + 1  # type: ignore[arg-type]
    return (
        f"a start tag at line {line} carries more than {MAX_ATTRIBUTES} attributes; the "
        "HTML parser's time grows with their square, so the page was not parsed (the raw "
        "bytes are kept)"
    )


def _crowded_outside_raw_text(html: Any, patterns: dict[str, re.Pattern[Any]]) -> int:
    """Where the first crowded start tag outside script and style text is, or -1.

    Tags are taken one after the other, each consumed whole (quoted values included),
    so a "<script" inside an attribute value is no script. Linear: each character is
    read a few times at most (by the two patterns, then skipped past).
    """
    tags, opening = patterns["tag"], b"<" if isinstance(html, bytes) else "<"
    position = 0
    while (start := html.find(opening, position)) >= 0:
        if patterns["crowded"].match(html, start):
            return start
        tag = tags.match(html, start)
        if tag is None:  # "<" not opening a start tag: an end tag, a comment, text
            position = start + 1
            continue
        position = max(tag.end(), start + 1)
        raw = patterns["raw"].match(html, start)
        if raw is not None:  # the element's text runs to its end tag: not tags
            name = raw.group(1)
            name = (name.decode() if isinstance(name, bytes) else name).lower()
            close = patterns[name].search(html, position)
            if close is None:
                return -1
            position = close.end()
    return -1


class TooLarge(Exception):
    """A document's text would be far larger than the bytes it was read from."""


@dataclass
class SizeBudget:
    """The characters a document's blocks may hold, their heading paths included.

    Every block carries the path of headings (or keys) above it, so a long heading over
    many short blocks is copied into each: a 97 KB page with a 10,000-character heading
    over 20,000 paragraphs made a 381 MB document and took 1.5 GB of memory, and a
    20 MB body could take every byte the machine has. Real documents stay below eight
    times their source, and four million characters more (a heading path of 80
    characters over a table of one-cell rows is about four times); past that the
    capture is ``incomplete`` (kept, never compared), said at once, before the blocks
    are serialised.

    >>> budget = SizeBudget(source_chars=10)
    >>> budget.spend(4_000_080)
    >>> try:
    ...     budget.spend(1)
    ... except TooLarge as large:
    ...     print(str(large)[:76])
    the text with its heading paths would pass 4000080 characters, eight times t
    """

    source_chars: int | None  # None: no budget
    spent: int = 0

    def spend(self, chars: int) -> None:
        self.spent += chars
        if self.source_chars is None:
            return
        limit = 8 * self.source_chars + 4_000_000
        if self.spent > limit:
            raise TooLarge(
                f"the text with its heading paths would pass {limit} characters, eight "
                f"times the {self.source_chars} read (and four million more); the capture "
                "is kept, its text is not compared"
            )


@dataclass
class RuleBudget:
    """The time a page's select/exclude rules may take together.

    An XPath evaluation in libxml2 cannot be interrupted, so the budget is checked
    after each rule: a rule that overruns it makes the capture ``incomplete`` (never
    compared) instead of a check that silently used half the rules.
    """

    seconds: float = defaults.CSS_BUDGET
    used: float = field(default=0.0)

    def spent(self, kind: str, rule: str, seconds: float) -> str:
        """Add a rule's time; the reason when the budget is now exceeded, else ""."""
        self.used += seconds
        if self.used <= self.seconds:
            return ""
        return (
            f"{kind} rule {rule!r} brought the page's CSS rules to {self.used:.2f} s, "
            f"over their {self.seconds} s budget"
        )


def clock() -> float:
    return time.perf_counter()
