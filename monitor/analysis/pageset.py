"""A documentation site's page set from one discovery run to the next. Pure, no I/O.

A discovery run lists the pages a site's sitemaps and start pages name today. This
module decides what that means against the pages already known, in two steps, with
the direct checks of missing pages (I/O, done by the caller) in between:

1. :func:`plan` — which known pages are missing from this run's listing (each is then
   checked directly, as its watch) and which listed pages are new.
2. :func:`settle` — with those checks' results: pages added (``page_added``), pages
   renamed (a missing page that now redirects to a listed URL: ``moved``, never a
   removal plus an addition), pages removed (``page_removed``, once missing from two
   complete runs while the page itself still answers), pages gone (a 404/410 the
   watch's own state machine confirmed as ``gone``: no second event), and pages still
   waiting for confirmation.

Never cry wolf: a run in which any sitemap or start page could not be read is
*incomplete*; it adds the pages it found but never counts a page as missing. The
first complete run of a site, and the first after its scope changed, is a *baseline*:
it takes the listing as it is, without events.

>>> known = [Page("https://d/a", "s.a"), Page("https://d/b", "s.b")]
>>> p = plan(known, {"https://d/a": 1, "https://d/c": 1}, complete=True)
>>> [m.url for m in p.missing], p.new
(['https://d/b'], ['https://d/c'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

REMOVE_AFTER_RUNS = 2  # complete runs a page must be missing from before page_removed


class PageStatus:
    """Where a site page stands (kept per page in the store)."""

    ACTIVE = "active"  # listed on the last complete run
    MISSING = "missing"  # not listed; checked directly on each run until settled
    REMOVED = "removed"  # delisted while still served: page_removed was reported
    GONE = "gone"  # delisted and answering 404/410 (the watch reported gone)
    MOVED = "moved"  # renamed to a URL another watch of the site already follows
    OUT_OF_SCOPE = "out_of_scope"  # the site's include/exclude rules changed
    DISALLOWED = "disallowed"  # robots.txt no longer lets monitor fetch it

    RETIRED = frozenset((REMOVED, GONE, MOVED, OUT_OF_SCOPE, DISALLOWED))
    WATCHED = frozenset((ACTIVE, MISSING))


@dataclass(frozen=True)
class Page:
    """One page of a site as the store keeps it."""

    url: str
    watch: str
    status: str = PageStatus.ACTIVE
    missing_runs: int = 0  # consecutive complete runs that did not list it
    # A source capture that listed it: the one that first did, or (when it goes
    # missing) the one of the last run that did, from that run's manifest.
    listed_capture: int | None = None

    @property
    def watched(self) -> bool:
        return self.status in PageStatus.WATCHED


@dataclass(frozen=True)
class Plan:
    """What a listing means before the missing pages are checked."""

    missing: list[Page]  # known watched pages this complete run did not list
    new: list[str]  # listed URLs no watched page has (in listing order)
    listed: list[Page]  # known pages listed again (any status)


def _by_url(known: Sequence[Page]) -> dict[str, Page]:
    """Known pages by URL; a watched record wins over a retired one with the same URL."""
    found: dict[str, Page] = {}
    for page in known:
        if page.url not in found or page.watched:
            found[page.url] = page
    return found


def plan(known: Sequence[Page], listed: Mapping[str, int], complete: bool) -> Plan:
    """Split a listing (URL -> capture of the source that lists it) against known pages.

    An incomplete run reports no page as missing.
    """
    by_url = _by_url(known)
    again = [by_url[url] for url in listed if url in by_url]
    new = [url for url in listed if url not in by_url or not by_url[url].watched]
    missing = [] if not complete else [p for p in known if p.watched and p.url not in listed]
    return Plan(missing=missing, new=new, listed=again)


@dataclass(frozen=True)
class DirectCheck:
    """The result of checking a missing page directly, as its watch."""

    outcome: str  # the check's outcome (ok, unchanged, gone, transient, ...)
    final_url: str | None = None  # after redirects
    watch_gone: bool = False  # the watch's state machine now holds the page as gone
    events: tuple[str, ...] = ()  # events the check itself raised (e.g. moved, gone)
    capture: int | None = None


_SERVED = frozenset(("ok", "unchanged", "not_modified", "selector_missing"))


@dataclass(frozen=True)
class PageEvent:
    """An event the site raises for one of its pages."""

    kind: str  # page_added, page_removed or moved
    watch: str
    url: str
    from_capture: int | None
    to_capture: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settlement:
    """The decisions of one run: the pages' new records and the events."""

    pages: list[Page]  # every page whose record is new or changed
    events: list[PageEvent]
    renamed: dict[str, str]  # watch name -> its new URL
    added: list[Page]  # pages that became watched this run (new, or listed again)
    over_limit: int = 0  # listed new pages left out by max_pages
    waiting: int = 0  # missing pages not yet settled


def settle(
    known: Sequence[Page],
    listed: Mapping[str, int],
    checks: Mapping[str, DirectCheck],
    *,
    complete: bool,
    baseline: bool,
    max_pages: int,
    name_for: Callable[[str], str],
    run_capture: int,
) -> Settlement:
    """Decide the run, given the direct checks of the missing pages (by URL).

    ``name_for(url)`` gives a new page its stable watch name; ``run_capture`` is the
    capture of the run's first source, the evidence that a page is no longer listed.
    """
    planned = plan(known, listed, complete)
    new = list(planned.new)
    new_set = set(new)
    by_url = _by_url(known)
    pages: list[Page] = []
    events: list[PageEvent] = []
    renamed: dict[str, str] = {}
    waiting = 0

    for page in planned.missing:
        check = checks.get(page.url)
        target = check.final_url if check is not None else None
        if target is not None and target != page.url and target in listed:
            # A rename: the old page redirects to a listed URL.
            moved_event = "moved" not in (check.events if check else ())
            follower = by_url.get(target)
            if target in new_set and (follower is None or not follower.watched):
                new.remove(target)
                new_set.discard(target)
                renamed[page.watch] = target
                pages.append(
                    replace(
                        page,
                        url=target,
                        status=PageStatus.ACTIVE,
                        missing_runs=0,
                        listed_capture=listed[target],
                    )
                )
            else:  # another watch already follows the target: this one retires
                pages.append(replace(page, status=PageStatus.MOVED, missing_runs=0))
            if moved_event:
                events.append(
                    PageEvent(
                        "moved",
                        page.watch,
                        page.url,
                        page.listed_capture,
                        check.capture if check and check.capture else listed[target],
                        {"from_url": page.url, "to_url": target},
                    )
                )
            continue
        runs = page.missing_runs + 1
        if check is not None and check.watch_gone:
            pages.append(replace(page, status=PageStatus.GONE, missing_runs=runs))
        elif runs >= REMOVE_AFTER_RUNS and check is not None and check.outcome in _SERVED:
            pages.append(replace(page, status=PageStatus.REMOVED, missing_runs=runs))
            events.append(
                PageEvent(
                    "page_removed",
                    page.watch,
                    page.url,
                    page.listed_capture,
                    run_capture,
                    {
                        "runs_missing": runs,
                        "still_served": True,
                        "final_url": check.final_url,
                        "check_capture": check.capture,
                    },
                )
            )
        else:
            waiting += 1
            pages.append(replace(page, status=PageStatus.MISSING, missing_runs=runs))

    # Pages listed again: back to active (a retired one returns as page_added). A page
    # listed as before is left alone: its record is not rewritten on every run (the
    # run's manifest says which capture listed it).
    for page in planned.listed:
        if page.watched and (page.status != PageStatus.ACTIVE or page.missing_runs):
            pages.append(
                replace(
                    page,
                    status=PageStatus.ACTIVE,
                    missing_runs=0,
                    listed_capture=listed[page.url],
                )
            )

    # Every record in ``pages`` so far is a watched page's: those no longer watched left.
    watched = sum(p.watched for p in known) - sum(not p.watched for p in pages)
    room = max(0, max_pages - watched)
    over_limit = max(0, len(new) - room)
    added = []
    for url in new[:room]:
        previous = by_url.get(url)
        watch = previous.watch if previous is not None else name_for(url)
        added.append(Page(url, watch, PageStatus.ACTIVE, 0, listed[url]))
        pages.append(added[-1])
        if not baseline:
            detail: dict[str, Any] = {}
            if previous is not None:
                detail["returned"] = True
                detail["was"] = previous.status
            events.append(PageEvent("page_added", watch, url, None, listed[url], detail))
    return Settlement(pages, events, renamed, added, over_limit, waiting)


def rescope(known: Sequence[Page], in_scope: Callable[[str], bool]) -> list[Page]:
    """Pages the site's new rules leave out, retired without an event.

    >>> pages = [Page("https://d/a", "s.a"), Page("https://d/x/b", "s.b")]
    >>> [(p.watch, p.status) for p in rescope(pages, lambda url: "/x/" not in url)]
    [('s.b', 'out_of_scope')]
    """
    return [
        replace(page, status=PageStatus.OUT_OF_SCOPE)
        for page in known
        if page.watched and not in_scope(page.url)
    ]
