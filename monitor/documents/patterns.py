"""A watchlist's ``ignore`` patterns, applied to page text in bounded time.

The patterns come from a watchlist and run against text a server chose, so one with
catastrophic backtracking (``(a+)+$`` against a long run of ``a``) must not hold a check,
or the shutdown of ``monitor run``, for minutes. They run on the ``regex`` engine:
Python's own syntax (what validation accepts), with a time limit per call and the GIL
released during a long match, so the process still answers SIGINT and SIGTERM. Each
extraction of one document gets one budget (``defaults.IGNORE_BUDGET_SECONDS``, CPU
seconds spent matching); past it, :class:`PatternTimeout` names the pattern, and the
check records the page as ``incomplete`` instead of comparing a half-cleaned text.
(regex measures its limit in the process's CPU time: busy threads end a match sooner,
never later.)

>>> IgnoreRules(("^Updated: .*$",)).sub("", "Text\\nUpdated: today")
'Text\\n'
>>> with ignore_budget(0.05):
...     IgnoreRules(("(a+)+$", "x")).sub("", "a" * 5000 + "b")
Traceback (most recent call last):
...
monitor.documents.patterns.PatternTimeout: ignore pattern '(a+)+$' ran past its time budget (0.05s)
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import regex

from ..config import defaults
from ..model import Outcome
from .limits import TIME_BUDGET

_BUDGET: contextvars.ContextVar[float] = contextvars.ContextVar(
    "ignore_budget", default=defaults.IGNORE_BUDGET_SECONDS
)
_LEAST = 0.001  # a call always gets a little time: a budget of 0 would be no limit
# CPU seconds a match may run holding the GIL. Releasing it costs little alone but a lot
# beside busy threads (each call waits for the GIL back: 4x slower with three busy
# threads), so a match first runs holding it; one that takes longer is run again
# without it, so that the event loop and signal handlers (SIGINT, SIGTERM) go on.
_HOLD = 0.05


def ignore_budget_now() -> float:
    """The budget extractions in this context get (a child process is given it)."""
    return _BUDGET.get()


@contextmanager
def ignore_budget(seconds: float) -> Iterator[None]:
    """Extractions in this context (and threads started from it) get this budget."""
    token = _BUDGET.set(seconds)
    try:
        yield
    finally:
        _BUDGET.reset(token)


class PatternTimeout(Exception):
    """An ignore pattern ran past the document's time budget."""

    def __init__(self, patterns: tuple[str, ...], budget: float) -> None:
        self.patterns = patterns  # the one that ran out of time (all, if together only)
        self.budget = budget
        if len(patterns) == 1:
            which = f"ignore pattern {patterns[0]!r} ran past its"
        else:
            which = f"ignore patterns {', '.join(map(repr, patterns))} together ran past their"
        super().__init__(f"{which} time budget ({budget:g}s)")

    # The page came but its text could not be read in full: kept, never compared, and
    # (confirmed) an `incomplete` event. Not `error`: that counts toward `unreachable`,
    # and the page is reachable; the watch's rule, not the server, needs a look.
    outcome = Outcome.INCOMPLETE

    def reason(self, watch: str) -> str:
        """The message a check records, naming the watch and what to do."""
        return (
            f"watch {watch!r}: {self}; the page was kept but not compared. The pattern "
            "backtracks catastrophically on this text (nested repetition such as (a+)+ or "
            "(.*x)*): rewrite it so each character can match one way only, or remove it"
        )

    def why(self, watch: str) -> dict[str, Any]:
        """A check's ``reason`` and ``detail`` (the evidence of the incomplete event)."""
        # A CPU budget, like the CSS rules' one: confirmed on a second check (events.py).
        detail = {
            "limit": TIME_BUDGET,
            "rule": "ignore",
            "patterns": list(self.patterns),
            "budget_seconds": self.budget,
        }
        return {"reason": self.reason(watch), "detail": detail}


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> regex.Pattern[str]:
    # One alternation, one pass: the text removed is the same as with Python's re.
    return regex.compile("|".join(f"(?:{p})" for p in patterns), regex.MULTILINE)


def ignore_rules(patterns: Sequence[str]) -> IgnoreRules | None:
    """Fresh rules (with a full budget) for one document, or None without patterns."""
    return IgnoreRules(tuple(patterns)) if patterns else None


class IgnoreRules:
    """A watch's ignore patterns with one document's time budget.

    ``sub`` has the signature of ``re.Pattern.sub``, so extractors use it in its place.
    """

    def __init__(self, patterns: tuple[str, ...], budget: float | None = None) -> None:
        self.patterns = patterns
        self.budget = _BUDGET.get() if budget is None else budget
        self.spent = 0.0  # CPU seconds this document's matching has used
        self._pattern = _compiled(patterns)

    def sub(self, repl: str, text: str) -> str:
        start = time.thread_time()
        try:
            if self._left() > _HOLD:
                try:  # the usual, fast case: cheapest with the GIL held
                    return self._pattern.sub(repl, text, timeout=_HOLD)
                except TimeoutError:
                    pass  # a long one: again, without holding the GIL
            spent = self.spent + time.thread_time() - start
            left = max(self.budget - spent, _LEAST)
            return self._pattern.sub(repl, text, timeout=left, concurrent=True)
        except TimeoutError:
            raise PatternTimeout(self._culprit(repl, text), self.budget) from None
        finally:
            self.spent += time.thread_time() - start

    def _left(self) -> float:
        return max(self.budget - self.spent, _LEAST)

    def _culprit(self, repl: str, text: str) -> tuple[str, ...]:
        """Which pattern is slow on this text: each alone, within one more budget."""
        if len(self.patterns) == 1:
            return self.patterns
        allowance = self.budget
        for pattern in self.patterns:
            start = time.thread_time()
            try:
                _compiled((pattern,)).sub(
                    repl, text, timeout=max(allowance, _LEAST), concurrent=True
                )
            except TimeoutError:
                return (pattern,)
            allowance -= time.thread_time() - start
        return self.patterns  # slow only together
