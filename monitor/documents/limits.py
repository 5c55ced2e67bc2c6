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
from typing import Protocol

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
_CROWDED_BYTES = re.compile(_CROWDED.encode())
_CROWDED_TEXT = re.compile(_CROWDED, re.ASCII)  # HTML's spaces are ASCII ones


def crowded_tag(html: str | bytes) -> str:
    """Why a page must not be handed to the parser: a start tag with too many attributes.

    >>> crowded_tag("<p " + " ".join(f"a{i}" for i in range(1001)) + ">x</p>")[:55]
    'a start tag at line 1 carries more than 1000 attributes'
    >>> crowded_tag(b'<p class="a">x</p>')
    ''
    """
    line = 0  # of the crowded tag; 0 for none
    if isinstance(html, bytes):
        if raw := _CROWDED_BYTES.search(html):
            line = html.count(b"\n", 0, raw.start()) + 1
    elif text := _CROWDED_TEXT.search(html):
        line = html.count("\n", 0, text.start()) + 1
    if not line:
        return ""
    return (
        f"a start tag at line {line} carries more than {MAX_ATTRIBUTES} attributes; the "
        "HTML parser's time grows with their square, so the page was not parsed (the raw "
        "bytes are kept)"
    )


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
