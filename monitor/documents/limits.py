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

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ..config import defaults

# What the check's events carry to tell a parser's limit from a time budget: a parser
# limit is a fact of the bytes (confirmed at once); a time budget may depend on load.
PARSER_LIMIT, TIME_BUDGET, DECODING = "parser_limit", "time_budget", "decoding"


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
