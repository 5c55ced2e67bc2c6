"""One check of one watch, end to end: fetch, record, extract, compare, flag, events.

Cheap tests come first. Raw bytes that hash to the last good capture's hash cost one
small row and no parsing. Bytes that differ only where extraction never looks (the
same verified markup skeleton, see skeleton.py) are stored but not parsed. Otherwise
the page is parsed, its visible-text fingerprint may still match the last one, and
only a changed text is diffed. Fetching runs on the event loop; processing runs in a few
worker threads, because its slow parts (fsync, file creation, zlib, lxml parsing)
release the GIL and overlap. The store serialises its own writes, and a watch is never
processed by two threads at once (one check per watch at a time).
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lxml import etree

from .blobs import sha256_hex
from .classify import classify
from .compare import compare
from .decode import Decoded, decode_body
from .events import (
    NOT_MODIFIED,
    OK,
    SELECTOR_MISSING,
    UNCHANGED,
    EventDraft,
    Observation,
    Thresholds,
    WatchState,
    transition,
)
from .extract import Document, extract_html, extract_unless_known, rules_key
from .fetch import Capture, Fetcher
from .flag import flag_terms
from .skeleton import scan, scannable, tree_parts, verified
from .store import CaptureRecord, EvidenceStore
from .watchlist import Watch

log = logging.getLogger(__name__)

PROCESSING_THREADS = 4
FULL_FETCH_EVERY = 10  # after this many 304 answers in a row, fetch without validators
# Below this share of the reference text, an extraction is "almost nothing".
_SELECTOR_MISSING_RATIO = 0.05
_SELECTOR_MISSING_MIN_CHARS = 200
_EVIDENCE_CHARS = 600  # of the page's remaining text, kept with a selector_missing event


@dataclass(frozen=True)
class CheckResult:
    watch: str
    outcome: str
    capture_id: int | None = None
    events: tuple[str, ...] = ()
    change_ids: tuple[int, ...] = ()
    flagged: bool = False
    error: str | None = None  # set when the check itself failed (a bug), not the fetch

    @property
    def changed(self) -> bool:
        return "changed" in self.events


@dataclass(frozen=True)
class _Processed:
    """What processing a capture found, before the store decides the events."""

    outcome: str
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


class Checker:
    """Runs checks against one store with one fetcher."""

    def __init__(
        self, store: EvidenceStore, fetcher: Fetcher, thresholds: Thresholds | None = None
    ):
        self.store = store
        self.fetcher = fetcher
        self.thresholds = thresholds or Thresholds()
        self._worker = ThreadPoolExecutor(
            max_workers=PROCESSING_THREADS, thread_name_prefix="monitor-worker"
        )

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def register(self, watches: Iterable[Watch]) -> None:
        self.store.ensure_watches([(w.name, w.url, watch_config(w)) for w in watches])

    async def check_all(self, watches: Sequence[Watch]) -> list[CheckResult]:
        self.register(watches)
        return list(await asyncio.gather(*(self.check(w) for w in watches)))

    async def check(self, watch: Watch) -> CheckResult:
        """Check one watch; never raises (a failure of ours is logged and reported)."""
        try:
            state = self.store.state(watch.name)
            # Validators save bandwidth, but a server that wrongly answers 304 must not
            # hide an edit for ever: every so often the page is fetched in full.
            conditional = (
                state.reference is not None and state.not_modified_streak < FULL_FETCH_EVERY
            )
            capture = await self.fetcher.fetch(
                watch.url,
                watch.headers,
                etag=state.etag if conditional else None,
                last_modified=state.last_modified if conditional else None,
            )
            body_sha = sha256_hex(capture.body) if capture.status is not None else None
            if capture.status == 200 and body_sha == state.reference_body:
                # The cheap test, on the event loop: same bytes as the last good capture
                # cost one small row, with no hand-off to a worker thread.
                return self.process(watch, capture, body_sha, state)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._worker, self.process, watch, capture, body_sha)
        except Exception as error:  # a bug must not stop the other watches
            log.exception("checking %s failed", watch.name)
            return CheckResult(
                watch.name, "internal_error", error=f"{type(error).__name__}: {error}"
            )

    def process(
        self,
        watch: Watch,
        capture: Capture,
        body_sha: str | None = None,
        state: WatchState | None = None,
    ) -> CheckResult:
        """Record a capture and decide its events (usually in a worker thread).

        ``state`` read before the fetch guides the work; the events are decided on the
        state read again inside the recording transaction.
        """
        state = state or self.store.state(watch.name)
        found = self._examine(watch, capture, state, body_sha)
        comparison, flags = None, []
        needs_diff = found.outcome == OK and found.text_sha != state.reference_text
        document = found.document
        if needs_diff and document is not None and state.reference_text is not None:
            reference = Document.from_json(self.store.get_blob(state.reference_text))
            if _almost_empty(document, reference):
                found = dataclasses.replace(
                    found,
                    outcome=SELECTOR_MISSING,
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
                comparison = compare(reference, document)
                if comparison.changed:
                    flags = flag_terms(reference.text, document.text, watch.terms)
        record = CaptureRecord(
            watch=watch.name,
            url=capture.url,
            fetched_at=capture.fetched_at,
            outcome=found.outcome,
            status=capture.status,
            final_url=capture.final_url,
            headers=capture.headers,
            redirects=capture.redirects,
            body_sha256=found.body_sha,
            body_size=len(capture.body) if found.body_sha else None,
            text_sha256=found.text_sha,
            encoding=found.encoding,
            elapsed_ms=round(capture.elapsed * 1000),
            attempts=capture.attempts,
            error_class=capture.error_class,
            error=capture.error or found.reason or None,
        )

        decided: list[EventDraft] = []

        def decide(capture_id: int, current: WatchState) -> tuple[WatchState, list[EventDraft]]:
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
                flags=tuple(flags),
            )
            new_state, drafts = transition(current, seen, self.thresholds)
            decided[:] = drafts
            return new_state, drafts

        capture_id, change_ids = self.store.record(record, decide)
        events = tuple(draft.kind for draft in decided)
        return CheckResult(
            watch=watch.name,
            outcome=found.outcome,
            capture_id=capture_id,
            events=events,
            change_ids=tuple(change_ids),
            flagged=bool(flags) and "changed" in events,
        )

    def _examine(
        self, watch: Watch, capture: Capture, state: WatchState, body_sha: str | None
    ) -> _Processed:
        if capture.status is None:  # no response at all
            verdict = classify(capture, "")
            return _Processed(verdict.outcome, None, None, None, None, verdict.reason)
        if capture.status == 304 and state.reference is not None:
            return _Processed(NOT_MODIFIED, None, state.reference_text, None, None)
        body_sha = body_sha or sha256_hex(capture.body)
        if capture.status == 200 and state.reference_body == body_sha:
            # Same bytes as the last good capture (its blob exists): nothing to parse.
            return _Processed(UNCHANGED, body_sha, state.reference_text, None, None)
        self.store.put_blob(capture.body, body_sha)
        decoded = decode_body(capture.body, capture.header("content-type"))
        verdict = classify(capture, decoded.text)
        if verdict.outcome != OK:
            return _Processed(
                verdict.outcome, body_sha, None, decoded.encoding, None, verdict.reason
            )
        return self._read_text(watch, capture.body, body_sha, decoded, state)

    def _read_text(
        self, watch: Watch, body: bytes, body_sha: str, decoded: Decoded, state: WatchState
    ) -> _Processed:
        """Extract a good page's text, or recognise it as the reference's text."""

        def same_text(fingerprint: str | None, skeleton: str | None) -> _Processed:
            return _Processed(
                OK,
                body_sha,
                state.reference_text,
                decoded.encoding,
                None,
                fingerprint=fingerprint,
                skeleton=skeleton,
            )

        parse_input = _parse_input(body, decoded)
        raw = body if scannable(decoded.encoding) else None  # bytes the scanner can read
        context = _skeleton_context(watch, decoded)
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
        text_sha = self.store.put_blob(document.to_json().encode("utf-8"))
        if not document.selected:
            # What the page says instead, so the warning itself shows e.g. "removed".
            whole = extract_html(decoded.text, None, watch.exclude, watch.ignore)
            return _Processed(
                SELECTOR_MISSING,
                body_sha,
                text_sha,
                decoded.encoding,
                document,
                f"select rule {watch.select!r} matched nothing on the page",
                detail={"title": whole.title, "page_text": whole.text[:_EVIDENCE_CHARS]},
            )
        return _Processed(
            OK,
            body_sha,
            text_sha,
            decoded.encoding,
            document,
            fingerprint=fingerprint,
            skeleton=skeleton,
        )


def _skeleton_context(watch: Watch, decoded: Decoded) -> str:
    """What a skeleton is valid under: the same encoding and the same rules.

    The rules cannot see what a skeleton blanks (those elements and comments are
    stripped before any rule runs), but a new rule means a new text: parse again.
    """
    return f"{decoded.encoding}\x00{rules_key(watch.select, watch.exclude, watch.ignore)}"


def _parse_input(body: bytes, decoded: Decoded) -> str | bytes:
    """Raw bytes for lxml when they are clean UTF-8 (faster); the decoded text otherwise."""
    if decoded.encoding == "utf-8" and not decoded.replaced:
        return body[3:] if body.startswith(codecs.BOM_UTF8) else body
    return decoded.text


def _almost_empty(document: Document, reference: Document) -> bool:
    """True when a page that had plenty of text now yields almost none."""
    had = len(reference.text)
    return had >= _SELECTOR_MISSING_MIN_CHARS and len(document.text) < had * _SELECTOR_MISSING_RATIO
