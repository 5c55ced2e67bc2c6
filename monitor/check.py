"""One check of one watch, end to end: fetch, record, extract, compare, flag, events.

Cheap tests come first. Raw bytes that hash to the last good capture's hash cost one
small row and no parsing. Bytes that differ only where extraction never looks (the
same verified markup skeleton, see skeleton.py) are stored but not parsed. Otherwise
the page is parsed, its visible-text fingerprint may still match the last one, and
only a changed text is diffed. Fetching runs on the event loop; processing runs in a few
worker threads, because its slow parts (fsync, file creation, zlib, lxml parsing)
release the GIL and overlap. The store serialises its own writes; one check per watch at a time.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from .analysis.events import Observation, Thresholds, WatchState, transition
from .analysis.flag import Flag, flag_terms
from .analysis.structured import compare_documents
from .config.settings import Settings, WitnessPolicy
from .config.watchlist import Watch, Watchlist
from .documents import HTML, PDF, PatternTimeout, Unreadable, document_type, read_document
from .documents.classify import almost_nothing_left, classify
from .documents.current import reference_document
from .documents.decode import Decoded, decode_body
from .documents.document import Document
from .documents.html import extract_html, extract_unless_known
from .documents.limits import DECODING
from .documents.skeleton import scan, scannable, skeleton_context, tree_parts, verified
from .errors import StoreError
from .fetch import Fetcher
from .fetch.browser import BrowserFetcher, fetch_watch
from .fetch.http import FetchPolicy, HttpFetcher
from .fetch.room import Room
from .model import Capture, CheckResult, Outcome
from .store.base import CaptureRecord, EvidenceStore
from .store.blobs import sha256_hex
from .store.failures import StaleReferenceError, WriteFailedError
from .store.late import as_late, fetched_before_latest, kept_as_evidence
from .store.unstored import not_recorded, record_unstored

log = logging.getLogger(__name__)

PROCESSING_THREADS = 4
ROOM_PER_THREAD = 16  # fetched pages waiting for each processing thread, at most
_STALE_RETRIES = 3  # re-examinations when another process moved the reference
_LOSS_OUTCOMES = frozenset((Outcome.GONE, Outcome.SELECTOR_MISSING))  # events carry terms lost
FULL_FETCH_EVERY = 10  # after this many 304 answers in a row, fetch without validators
_EVIDENCE_CHARS = 600  # of the page's remaining text, kept with a selector_missing event


@dataclass(frozen=True)
class _Processed:
    """What examining a capture found, before the state machine decides the events."""

    outcome: Outcome
    body_sha: str | None
    text_sha: str | None
    encoding: str | None
    document: Document | None
    reason: str = ""
    fingerprint: str | None = None
    skeleton: str | None = None  # verified markup-skeleton signature (see skeleton.py)
    detail: dict[str, object] = dataclasses.field(default_factory=dict)  # for warnings


def watch_config(watch: Watch) -> dict[str, object]:
    return dataclasses.asdict(watch)


def thresholds(settings: Settings) -> Thresholds:
    """The event thresholds a watchlist's settings ask for."""
    return Thresholds(unreachable_after=settings.unreachable_after, gone_after=settings.gone_after)


@asynccontextmanager
async def check_session(
    store: EvidenceStore,
    policy: FetchPolicy,
    limits: Thresholds,
    witness: WitnessPolicy | None = None,
) -> AsyncIterator[Checker]:
    """Everything a run of checks needs, opened and closed together.

    >>> async def main(store, watches):                      # doctest: +SKIP
    ...     async with check_session(store, FetchPolicy(), Thresholds()) as checker:
    ...         return await checker.check_all(watches)
    """
    async with HttpFetcher(policy) as fetcher, BrowserFetcher(fetcher) as browser:
        checker = Checker(store, fetcher, limits, browser, witness)
        try:
            yield checker
        finally:
            checker.close()


async def run_checks(
    store: EvidenceStore,
    watchlist: Watchlist,
    watches: Sequence[Watch],
    policy: FetchPolicy | None = None,
) -> list[CheckResult]:
    """Check watches once, concurrently (the per-host limit applies)."""
    policy = policy or FetchPolicy.from_settings(watchlist.settings)
    limits, witness = thresholds(watchlist.settings), watchlist.settings.witness_policy
    async with check_session(store, policy, limits, witness) as checker:
        return await checker.check_all(watches)


class Checker:
    """Runs checks against one store with one fetcher."""

    def __init__(
        self,
        store: EvidenceStore,
        fetcher: Fetcher,
        thresholds: Thresholds | None = None,
        browser: BrowserFetcher | None = None,  # for watches with fetch: browser or auto
        witness: WitnessPolicy | None = None,
    ):
        self.store = store
        self.fetcher = fetcher
        self.browser = browser
        self.thresholds = thresholds or Thresholds()
        self.witness = witness or WitnessPolicy()
        self._worker = ThreadPoolExecutor(
            max_workers=PROCESSING_THREADS, thread_name_prefix="monitor-worker"
        )
        # Pages fetched, not yet recorded (fetch/room.py): enough for every connection
        # and processing thread, bounded however long the list.
        connections = getattr(fetcher, "policy", FetchPolicy()).max_connections
        self._room = Room(connections + ROOM_PER_THREAD * PROCESSING_THREADS)

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)  # a stop: queued work undone

    def register(self, watches: Iterable[Watch]) -> None:
        self.store.ensure_watches([(w.name, w.url, watch_config(w)) for w in watches])

    async def check_all(self, watches: Sequence[Watch]) -> list[CheckResult]:
        self.register(watches)
        return list(await asyncio.gather(*(self.check(w) for w in watches)))

    async def check(self, watch: Watch) -> CheckResult:
        """Check one watch; never raises (a failure of ours is logged and reported)."""
        with self._room.claim():  # a place for its page until it is recorded
            try:
                state = await self._off_loop(self.store.state, watch.name, store=True)
                # Validators save bandwidth, but a server that wrongly answers 304 must not
                # hide an edit for ever: every so often the page is fetched in full.
                conditional = (
                    state.reference is not None and state.not_modified_streak < FULL_FETCH_EVERY
                )
                capture = await fetch_watch(
                    self.fetcher,
                    self.browser,
                    watch,
                    etag=state.etag if conditional else None,
                    last_modified=state.last_modified if conditional else None,
                )
                body_sha = sha256_hex(capture.body) if capture.status is not None else None
                if capture.status == 200 and body_sha == state.reference_body:
                    # The cheap test: same bytes, one small row; no thread unless the store
                    # is remote.
                    return await self._off_loop(
                        self.process, watch, capture, body_sha, state, store=True
                    )
                return await self._off_loop(self.process, watch, capture, body_sha)
            except Exception as error:  # a bug must not stop the other watches
                log.exception("checking %s failed", watch.name)
                return CheckResult(
                    watch.name, Outcome.INTERNAL_ERROR, error=f"{type(error).__name__}: {error}"
                )

    async def _off_loop(self, function: Callable[..., Any], *args: Any, store: bool = False) -> Any:
        """In a thread and this task's context; a store call only if the store is remote."""
        if store and not getattr(self.store, "remote", False):
            return function(*args)
        run = contextvars.copy_context().run
        return await asyncio.get_running_loop().run_in_executor(self._worker, run, function, *args)

    def process(
        self,
        watch: Watch,
        capture: Capture,
        body_sha: str | None = None,
        state: WatchState | None = None,
    ) -> CheckResult:
        """Record a capture and decide its events (usually in a worker thread).

        ``state`` read before the fetch guides the work. The events are decided on the
        state read again inside the recording transaction; if another process moved the
        watch's reference meanwhile, the comparison made against the old one is thrown
        away and the capture is examined again, so that one edit never gives two events.
        A check that cannot be stored (a full disk) is recorded as such, or said.
        """
        try:
            state = state or self.store.state(watch.name)
            for _ in range(_STALE_RETRIES):
                try:
                    return self._process(watch, capture, body_sha, state)
                except StaleReferenceError:
                    state = self.store.state(watch.name)
            moving = f"the reference moved under each of {_STALE_RETRIES} attempts"
            return not_recorded(watch.name, StoreError(f"{moving}: is another monitor running?"))
        except WriteFailedError as failed:  # a full disk: recorded as such, or said
            return record_unstored(self.store, watch.name, capture, failed)

    def _process(
        self, watch: Watch, capture: Capture, body_sha: str | None, state: WatchState
    ) -> CheckResult:
        found = self._examine(watch, capture, state, body_sha)
        comparison, flags = None, []
        needs_diff = found.outcome == Outcome.OK and found.text_sha != state.reference_text
        document = found.document
        if needs_diff and document is not None and state.reference_text is not None:
            reference = reference_document(self.store, state, watch)  # read again if old
            if almost_nothing_left(len(document.text), len(reference.text)):
                found = dataclasses.replace(
                    found,
                    outcome=Outcome.SELECTOR_MISSING,
                    reason="extraction yields almost no text where the last good capture "
                    "had plenty: check the watch's select/exclude rules",
                    detail={
                        "title": document.title,
                        "remaining_text": document.text[:_EVIDENCE_CHARS],
                        "chars": len(document.text),
                        "reference_chars": len(reference.text),
                    },
                )
            else:
                comparison = compare_documents(reference, document)
                if comparison.changed_for(watch.moves):
                    flags = flag_terms(
                        reference.text, document.text, watch.terms, watch.term_groups
                    )
        if found.outcome in _LOSS_OUTCOMES and state.reference_text and watch.terms:
            flags = self._terms_lost(watch, found, state)
        why = {"error": capture.error or found.reason or None, "encoding": found.encoding}
        record = CaptureRecord.of(watch.name, capture, found.outcome, found.body_sha, **why)
        # The reference compared against: the store refuses events if it has moved.
        record = replace(record, text_sha256=found.text_sha, compared_with=state.reference)
        if capture.screenshot is not None:
            record = replace(record, screenshot_sha256=self.store.put_blob(capture.screenshot))
        source = capture.source  # a rendered page's raw response: its own row, linked
        raw_sha = self.store.put_blob(source.body) if source is not None else None
        with self.store.recording() as writer:
            current = writer.state(watch.name)  # another check recorded since? (store/late.py)
            late = current != state and fetched_before_latest(writer, record)
            if current.reference != state.reference and not late:  # rolls the transaction back
                raise StaleReferenceError(f"{watch.name}: the reference moved")
            if source is not None:
                raw = CaptureRecord.of(watch.name, source, Outcome.RAW_RESPONSE, raw_sha)
                record = replace(record, source_capture=writer.add_capture(raw))
            capture_id = writer.add_capture(as_late(record) if late else record)
            if late:  # an older page than the watch's latest: evidence, no event, state kept
                return kept_as_evidence(watch.name, found.outcome, capture_id, capture.attempts)
            seen = Observation(
                capture=capture_id,
                outcome=found.outcome,
                body_sha=found.body_sha,
                text_sha=found.text_sha,
                fingerprint=found.fingerprint,
                skeleton=found.skeleton,
                detail=found.detail,
                final_url=capture.final_url,
                etag=capture.header("etag"),
                last_modified=capture.header("last-modified"),
                comparison=comparison,
                moves=watch.moves,
                flags=tuple(flags),
            )
            new_state, drafts = transition(current, seen, self.thresholds)
            change_ids = tuple(writer.add_change(record, draft) for draft in drafts)
            for change_id, draft in zip(change_ids, drafts, strict=True):  # a witness request
                if archive := self.witness.archive_for(draft.kind, bool(draft.flags)):  # is born
                    writer.add_witness(change_id, archive, record.url)  # with its change
            if new_state != current:  # an unchanged page leaves its watch row alone
                writer.set_state(watch.name, new_state)
        events = tuple(draft.kind for draft in drafts)
        return CheckResult(
            watch=watch.name,
            outcome=found.outcome,
            capture_id=capture_id,
            events=events,
            change_ids=change_ids,
            flagged=any(draft.flags for draft in drafts),
            reason=record.error,
            attempts=capture.attempts,
        )

    def _terms_lost(self, watch: Watch, found: _Processed, state: WatchState) -> list[Flag]:
        """Flags for the watched terms a gone page or a missing selection took with it.

        A page about 民族 that becomes a 404 must show up in ``changes --flagged``: its
        terms go from their count in the last good text to what is left now (nothing
        for a gone page, what the selection still holds for a missing selector).
        """
        reference = reference_document(self.store, state, watch)
        left = found.document.text if found.document is not None else ""
        return flag_terms(reference.text, left, watch.terms, watch.term_groups)

    def _examine(
        self, watch: Watch, capture: Capture, state: WatchState, body_sha: str | None
    ) -> _Processed:
        if capture.status is None:  # no response at all
            verdict = classify(capture, "")
            return _Processed(verdict.outcome, None, None, None, None, verdict.reason)
        if capture.status == 304 and state.reference is not None:
            return _Processed(Outcome.NOT_MODIFIED, None, state.reference_text, None, None)
        body_sha = body_sha or sha256_hex(capture.body)
        if capture.status == 200 and state.reference_body == body_sha:
            # Same bytes as the last good capture (its blob exists): nothing to parse.
            return _Processed(Outcome.UNCHANGED, body_sha, state.reference_text, None, None)
        self.store.put_blob(capture.body, body_sha)
        media = capture.header("content-type")
        kind = document_type(media, capture.body, capture.final_url or capture.url)
        # A PDF's bytes are not text: no charset detection over megabytes of binary.
        decoded = None if kind == PDF else decode_body(capture.body, media)
        verdict = classify(capture, decoded.text if decoded is not None else "")
        encoding = decoded.encoding if decoded is not None else None
        if verdict.outcome != Outcome.OK:
            return _Processed(verdict.outcome, body_sha, None, encoding, None, verdict.reason)
        try:
            if kind == HTML and decoded is not None:
                return self._read_text(watch, capture.body, body_sha, decoded, state)
            return self._read_other(watch, kind, capture.body, body_sha, decoded)
        except PatternTimeout as slow:  # the page came: kept, never compared (incomplete)
            return _Processed(slow.outcome, body_sha, None, encoding, None, **slow.why(watch.name))

    def _read_other(
        self, watch: Watch, kind: str, body: bytes, body_sha: str, decoded: Decoded | None
    ) -> _Processed:
        """A PDF, JSON or YAML document: new bytes with the same text (a regenerated
        PDF's dates and ID) give the reference's Document hash, and nothing is compared."""
        encoding = decoded.encoding if decoded is not None else None
        content: str | bytes = decoded.text if decoded is not None else body
        document = read_document(kind, content, watch.ignore)
        if isinstance(document, Unreadable):
            found = _Processed(document.outcome, body_sha, None, encoding, None, document.reason)
            return replace(found, detail=document.detail)
        text_sha = self.store.put_blob(document.to_json().encode("utf-8"))
        return _Processed(Outcome.OK, body_sha, text_sha, encoding, document)

    def _read_text(
        self, watch: Watch, body: bytes, body_sha: str, decoded: Decoded, state: WatchState
    ) -> _Processed:
        """Extract a good page's text, or recognise it as the reference's text."""

        def same_text(fingerprint: str | None, skeleton: str | None) -> _Processed:
            found = _Processed(Outcome.OK, body_sha, state.reference_text, decoded.encoding, None)
            return replace(found, fingerprint=fingerprint, skeleton=skeleton)

        parse_input = decoded.parse_input(body)
        raw = body if scannable(decoded.encoding) else None  # bytes the scanner can read
        context = skeleton_context(decoded.encoding, watch.select, watch.exclude, watch.ignore)
        if raw is not None and state.reference_skeleton is not None:
            # The cheapest test after equal bytes: the same verified markup skeleton
            # means the bytes differ only where extraction never looks (skeleton.py).
            scanned = scan(raw, context)
            if scanned is not None and scanned.signature == state.reference_skeleton:
                return same_text(state.reference_fingerprint, scanned.signature)
        skeleton: str | None = None

        def check_skeleton(root: etree._Element) -> None:
            # A page parsed in full: does the scanner cut it where the parser does?
            nonlocal skeleton
            assert raw is not None
            scanned = scan(raw, context, collect=True, encoding=decoded.encoding)
            skeleton = verified(scanned, tree_parts(root))

        fingerprint, document = extract_unless_known(
            parse_input,
            watch.select,
            watch.exclude,
            watch.ignore,
            state.reference_fingerprint,
            check_skeleton if raw is not None else None,
        )
        if document is None:
            # Other bytes (a changed link, say) but the same visible text as the last
            # good capture: no need to build and compare blocks.
            return same_text(fingerprint, skeleton)
        if problem := decoded.lossy or document.incomplete:  # evidence, not a text
            limit = DECODING if decoded.lossy else document.limit  # see documents/limits.py
            why: dict[str, object] = {"limit": limit, "reason": problem}
            found = _Processed(Outcome.INCOMPLETE, body_sha, None, decoded.encoding, None)
            return replace(found, reason=problem, detail=why)
        text_sha = self.store.put_blob(document.to_json().encode("utf-8"))
        if not document.selected:
            # What the page says instead, so the warning itself shows e.g. "removed".
            whole = extract_html(decoded.text, None, watch.exclude, watch.ignore)
            return _Processed(
                Outcome.SELECTOR_MISSING,
                body_sha,
                text_sha,
                decoded.encoding,
                document,
                f"select rule {watch.select!r} matched nothing on the page",
                detail={"title": whole.title, "page_text": whole.text[:_EVIDENCE_CHARS]},
            )
        return _Processed(
            Outcome.OK,
            body_sha,
            text_sha,
            decoded.encoding,
            document,
            decoded.note,  # bytes that did not decode as declared, for the record
            fingerprint=fingerprint,
            skeleton=skeleton,
        )
