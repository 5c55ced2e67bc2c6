"""``monitor check`` and ``monitor run``: checking once, or on a schedule."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from ..config.watchlist import load_watchlist
from ..model import CheckResult, Outcome, utc_now
from ..safe import one_line
from .common import Context, echo_json, format_option, say, watchlist_option


def iso_seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


OUTCOMES_HELP = """\b
Outcomes (one per watch):
  ok            a good page, extracted and compared with the last good one
  unchanged     the same bytes as the last good capture
  not_modified  the server answered 304 to our validators
  gone          404/410 or a soft 404 (an event once confirmed)
  blocked       a bot wall, captcha, WAF page or 401/403/451
  transient     a failure worth retrying later (timeout, reset, 5xx, 429)
  error         a failure retrying will not fix (bad URL, too large)
  selector_missing  the page lacks the part `select` keeps
  no_text_layer     a PDF with pages but no text (a scan)
  incomplete        the text could not be read in full (a parser limit, the
                    CSS rules' time budget, undecodable bytes): kept, not compared
  internal_error    a bug of ours: exit status 1, please report it"""


def discovery_line(found: dict[str, object]) -> str:
    """One line for a discovery run (``monitor check``, ``monitor sites``)."""
    state = "baseline" if found["baseline"] else ("complete" if found["complete"] else "INCOMPLETE")
    counts = ", ".join(
        f"{key} {found[key]}"
        for key in ("added", "removed", "moved", "gone", "missing", "left_out")
        if found.get(key)
    )
    errors = found.get("errors") or []
    tail = f"; {len(errors)} problem(s): {errors[0]}" if errors else ""  # type: ignore[index, arg-type]
    return (
        f"site {found['site']}: {state}, {found['pages']} page(s), listed {found['listed']}"
        f"{', ' + counts if counts else ''}{tail}"
    )


def result_line(result: CheckResult) -> str:
    """One line per watch; a failed or odd check says why.

    >>> from monitor.model import Outcome
    >>> result_line(CheckResult("w", Outcome.TRANSIENT, reason="HTTP 500", attempts=3))[-36:]
    'transient: HTTP 500 after 3 attempts'
    """
    events = f"  events: {', '.join(result.events)}" if result.events else ""
    flag = "  FLAGGED" if result.flagged else ""
    why = ""
    if result.error:
        why = f"  ({one_line(result.error)})"
    elif result.reason and result.outcome != Outcome.UNCHANGED:  # ok: a decoding note
        tries = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        why = f"  {result.outcome}: {one_line(result.reason)}{tries}"
    return f"{result.watch:<40} {result.outcome:<16}{events}{flag}{why}"


@click.command(epilog=OUTCOMES_HELP)
@watchlist_option
@click.option(
    "--workers",
    type=click.IntRange(min=0, max=64),
    default=0,
    help="Processes to check with; the connection and per-host limits are shared "
    "between them. Default (0): one per CPU (at most 4) from 200 watches, or from 16 "
    "never captured before; else one.",
)
@format_option()
@click.argument("names", nargs=-1)
@click.pass_obj
def check(
    obj: Context, watchlist_path: str, workers: int, output_format: str, names: tuple[str, ...]
) -> None:
    """Check the named watches (default: all) once, now.

    Sites are discovered first (their new pages become watches), then every watch and
    site page is checked, then language versions are compared. NAME may be a watch, a
    site or a site page's watch.

    \b
    Examples:
      monitor check --watchlist watchlists/face-and-moderation.yaml
      monitor check --watchlist my.yaml aliyun-cloud-shield-face-api --format json
    """
    from ..run.alerts import notify_after_check, register_routes
    from ..run.once import check_watchlist, summarize, summary

    watchlist = load_watchlist(watchlist_path)
    if not watchlist.sites and not watchlist.counterparts:
        watchlist.select(names)  # unknown names: the usual error before any fetch
    register_routes(obj.spec, watchlist)  # a new route starts from now
    report = check_watchlist(obj.spec, watchlist, names, workers)
    alerts = notify_after_check(obj.spec, watchlist)  # what this check found, sent
    results = report.results
    gaps = [
        {"counterparts": gap.counterparts, "pair": gap.pair or None, **change.to_dict()}
        for gap in report.gaps
        for change in gap.changes
    ]
    if output_format == "json":
        shown: dict[str, object] = {
            "results": [r.to_json() for r in results],
            "summary": summary(results),
        }
        if watchlist.sites:
            shown["discoveries"] = [d.to_dict() for d in report.discoveries]
        if watchlist.counterparts:
            shown["locale_gaps"] = gaps
        if alerts is not None:
            shown["notify"] = alerts.to_json()
        echo_json(shown)
    else:
        for discovery in report.discoveries:
            say(discovery_line(discovery.to_dict()))
        for result in results:
            say(result_line(result))
        for gap in gaps:
            where = f" {gap['pair']}" if gap["pair"] else ""
            say(
                f"locale_gap {gap['state']}: {gap['counterparts']}{where}: {gap['group']} in "
                f"{', '.join(gap['present_in'])}, not in {', '.join(gap['absent_in'])}"
            )
        say(summarize(results))
        if alerts is not None:
            for line in alerts.lines:
                say(line)
            failed = "; see: monitor notify status" if alerts.failed else ""
            say(alerts.summary() + failed)
        _witness_hint(obj, results)
    # A bug, or a check of which nothing could be recorded (a full disk): exit 1.
    if any(r.outcome == Outcome.INTERNAL_ERROR or r.capture_id is None for r in results):
        sys.exit(1)


def _witness_hint(obj: Context, results: list[CheckResult]) -> None:
    """Say where the witness requests of this run's changes went (they wait in the queue)."""
    change_ids = [i for r in results for i in r.change_ids]
    if not change_ids:
        return
    with obj.store() as store:
        queued = [w for w in store.witnesses(change_ids) if w["status"] == "pending"]
    if queued:
        say(
            f"{len(queued)} witness request(s) queued for Save Page Now: 'monitor witness "
            "work' submits them ('monitor run' does so by itself)"
        )


@click.command()
@watchlist_option
@click.option(
    "--startup-spread",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds over which watches that are due at start-up are spread.",
)
@click.pass_obj
def run(obj: Context, watchlist_path: str, startup_spread: float) -> None:
    """Check every watch on its schedule until stopped.

    Ctrl-C or SIGTERM stop it after the checks in flight are written.

    After a restart each watch is next due one interval after its last recorded check.

    On a PostgreSQL store (--store postgresql://…) it does not check: it enqueues each
    watch's check when due, and any number of `monitor worker` processes run them.

    \b
    Example:
      monitor run --watchlist watchlists/face-and-moderation.yaml
    """
    import asyncio
    from contextlib import nullcontext

    from ..check import check_session, thresholds
    from ..fetch.http import FetchPolicy, HttpFetcher
    from ..run.alerts import AlertLoop, notifier_for
    from ..run.lock import checking_lock
    from ..run.scheduler import Extension, Runner
    from ..run.witnesses import wanted as witnesses_wanted
    from ..run.witnesses import witness_service
    from ..search.background import BackgroundIndexer

    watchlist = load_watchlist(watchlist_path)

    def show_alert(line: str) -> None:
        say(f"{iso_seconds(utc_now())}  notify {line}")

    if obj.spec.postgres:
        from ..run.alerts import alerts_in_background
        from .scale import enqueue_forever, no_sites_yet

        no_sites_yet(watchlist)
        from ..run.witnesses import witnesses_in_background

        with (
            alerts_in_background(obj.spec, watchlist, on_line=show_alert),
            witnesses_in_background(obj.spec, watchlist.settings),
        ):
            enqueue_forever(obj, watchlist, startup_spread)  # workers record the events
        return

    def on_result(result: CheckResult, indexer: BackgroundIndexer) -> None:
        say(f"{iso_seconds(utc_now())}  {result_line(result)}")
        if result.outcome == Outcome.OK:  # a new text version, perhaps: search it soon
            indexer.poke()

    async def main() -> None:
        with (
            checking_lock(obj.spec.location, "run"),
            obj.store(create=True) as store,
            (
                notifier_for(store.location, watchlist) if watchlist.routes else nullcontext(None)
            ) as notifier,
            BackgroundIndexer(store) as indexer,
        ):
            policy = FetchPolicy.from_settings(watchlist.settings)
            settings = watchlist.settings
            background = (
                [witness_service(store, settings)] if witnesses_wanted(store, settings) else []
            )
            async with check_session(
                store, policy, thresholds(settings), settings.witness_policy
            ) as checker:
                extensions: tuple[Extension, ...] = ()
                if watchlist.sites or watchlist.counterparts:
                    # Imported only for such watchlists: the sitemap parser and its
                    # dependencies cost start-up time a plain watchlist need not pay.
                    from ..run.sites import SiteJobs
                    from ..sites.discover import Discoverer

                    assert isinstance(checker.fetcher, HttpFetcher)
                    discoverer = Discoverer(store, checker.fetcher, checker, watchlist.watches)
                    extensions = (
                        SiteJobs(
                            store,
                            watchlist,
                            discoverer,
                            echo=say,
                            on_discovery=lambda d: say(discovery_line(d.to_dict())),
                        ),
                    )
                runner = Runner(
                    checker,
                    store,
                    watchlist.watches,
                    startup_spread=startup_spread,
                    on_result=lambda r: on_result(r, indexer),
                    alerts=AlertLoop(notifier, on_line=show_alert) if notifier else None,
                    timestamp_authority=watchlist.settings.timestamp_authority,
                    extensions=extensions,
                    background=background,
                )
                sites = f" and {len(watchlist.sites)} site(s)" if watchlist.sites else ""
                say(
                    f"monitoring {len(watchlist.watches)} watch(es){sites}; data in "
                    f"{store.location}; stop with Ctrl-C"
                )
                await runner.run()

    asyncio.run(main())
    say("stopped cleanly")
