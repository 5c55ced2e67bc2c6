"""Save Page Now as an independent witness of a change: the durable queue and its worker.

A witness request is written in the same transaction as the change it witnesses (the
check's recording transaction), so it exists exactly when the change does; a crash or
a restart loses none. The worker works the queue apart from the checks, so a check never
waits for the archive:

    pending (no job)  --submit-->  pending (job id)  --poll-->  archived  --fetch back-->
    archived + copy check        (or failed, with the archive's reason)

It honours the archive's limits: before submitting it asks ``/save/status/user`` how many
capture slots are free and whether the account's daily captures are spent (then nothing
is submitted until the next UTC day); ``error:user-session-limit`` and HTTP 429 postpone
without spending an attempt (``Retry-After`` when given); transient errors back off
exponentially; the errors the archive calls hopeless fail the witness with its reason.
A witness that could not be submitted within a day of its change fails too: a capture
made later shows the page as it is then, not as it was when the change was detected.

Once archived, the copy is fetched back in raw ``id_`` form, kept as a blob, and compared
with our capture (SHA-256, then the text extracted with the watch's rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..documents.current import current_document
from ..documents.document import Document
from ..model import iso, parse_time, utc_now
from ..store.base import EvidenceStore, Row
from .client import ArchiveBusy, ArchiveError, CredentialsRefused, Replay, WaybackClient
from .reading import CopyCheck, Rules, check_copy, original_headers, read_copy
from .spn import ErrorKind, SpnError
from .wayback import memento_url, parse_replay_location

log = logging.getLogger(__name__)

PENDING, ARCHIVED, FAILED = "pending", "archived", "failed"


@dataclass(frozen=True)
class Timing:
    """How the worker paces itself (seconds)."""

    poll: float = 15.0  # between two status checks of a job
    first_verify: float = 120.0  # a fresh capture takes a while to become replayable
    verify_retry: float = 600.0
    verify_deadline: float = 86400.0  # then the copy is reported as not served
    submit_deadline: float = 86400.0  # later than this after the change is no witness
    job_deadline: float = 3600.0  # the archive keeps a job's status about an hour
    busy: float = 60.0  # no free capture slot
    backoff: float = 60.0  # doubled per attempt
    credentials_retry: float = 3600.0
    max_attempts: int = 6

    def scaled(self, factor: float) -> Timing:
        """The waits (not the deadlines) times a factor (``MONITOR_WAYBACK_PACING``)."""
        return replace(
            self,
            poll=self.poll * factor,
            first_verify=self.first_verify * factor,
            verify_retry=self.verify_retry * factor,
            busy=self.busy * factor,
            backoff=self.backoff * factor,
            credentials_retry=self.credentials_retry * factor,
        )


@dataclass
class Pass:
    """What one pass over the queue did."""

    submitted: int = 0
    archived: int = 0
    failed: int = 0
    verified: int = 0
    postponed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def touched(self) -> int:
        return self.submitted + self.archived + self.failed + self.verified


def next_utc_day(now: datetime) -> datetime:
    """Midnight UTC after ``now``: when daily quotas start again.

    >>> next_utc_day(datetime(2026, 3, 1, 17, 5, tzinfo=UTC)).isoformat()
    '2026-03-02T00:00:00+00:00'
    """
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


class _StopSubmitting(Exception):
    """The archive said no to every submission for now (quota, 429, credentials)."""


class WitnessWorker:
    """Works the witness queue of one store with one archive client."""

    def __init__(
        self,
        store: EvidenceStore,
        client: WaybackClient,
        timing: Timing | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.client = client
        self.timing = timing or Timing()
        self.clock = clock

    async def run(self, stopping: asyncio.Event, every: float = 30.0) -> None:
        """Work the queue until ``stopping`` is set (``monitor run`` starts this)."""
        while not stopping.is_set():
            try:
                await self.work_once()
            except Exception:  # the queue must outlive one bad answer; it is durable
                log.exception("working the witness queue failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=every)

    async def work_once(self) -> Pass:
        """One pass: poll running jobs, submit what slots allow, fetch copies back."""
        done = Pass()
        now = self.clock()
        due = self.store.due_witnesses(now)
        polls = [w for w in due if w["status"] == PENDING and w["job_id"]]
        submits = [w for w in due if w["status"] == PENDING and not w["job_id"]]
        checks = [w for w in due if w["status"] == ARCHIVED]
        for witness in polls:
            await self._poll(witness, done)
        fresh = [w for w in submits if not self._too_late(w, now, done)]
        if fresh:
            await self._submit_all(fresh, done)
        for witness in checks:
            await self._verify(witness, done)
        return done

    # -- submitting --------------------------------------------------------------------

    def _too_late(self, witness: Row, now: datetime, done: Pass) -> bool:
        requested = parse_time(witness["requested_at"])
        if (now - requested).total_seconds() <= self.timing.submit_deadline:
            return False
        hours = self.timing.submit_deadline / 3600
        self._fail(
            witness,
            f"not submitted within {hours:g} h of the change (last reason: "
            f"{witness['reason'] or 'none'}); a capture now would show the page as it is "
            "now, not as it was when the change was detected",
            done,
        )
        return True

    async def _submit_all(self, witnesses: list[Row], done: Pass) -> None:
        now = self.clock()
        try:
            user = await self.client.user_status()
        except CredentialsRefused as error:
            return self._postpone_all(witnesses, self.timing.credentials_retry, str(error), done)
        except ArchiveBusy as busy:
            return self._postpone_all(witnesses, busy.retry_after, str(busy), done)
        except ArchiveError as error:
            return self._postpone_all(witnesses, self.timing.backoff, str(error), done)
        if user.daily_quota_spent:
            wait = (next_utc_day(now) - now).total_seconds()
            reason = (
                f"the account's daily captures are spent ({user.daily_captures}/"
                f"{user.daily_captures_limit}); waiting for the next UTC day"
            )
            return self._postpone_all(witnesses, wait, reason, done)
        slots = max(0, user.available)
        for index, witness in enumerate(witnesses):
            if index >= slots:
                self._postpone_all(
                    witnesses[index:], self.timing.busy, "waiting for a free capture slot", done
                )
                return None
            try:
                await self._submit(witness, done)
            except _StopSubmitting as stop:
                wait, reason = stop.args
                self._postpone_all(witnesses[index + 1 :], wait, reason, done)
                return None
        return None

    async def _submit(self, witness: Row, done: Pass) -> None:
        now = self.clock()
        try:
            answer = await self.client.submit(witness["url"])
        except CredentialsRefused as error:
            self._postpone(witness, self.timing.credentials_retry, str(error), done)
            raise _StopSubmitting(self.timing.credentials_retry, str(error)) from error
        except ArchiveBusy as busy:
            self._postpone(witness, busy.retry_after, str(busy), done)
            raise _StopSubmitting(busy.retry_after, str(busy)) from busy
        except ArchiveError as error:
            return self._retry(witness, str(error), done)
        if answer.error is not None:
            return self._spn_error(witness, answer.error, done, submitting=True)
        self.store.update_witness(
            int(witness["id"]),
            {
                "job_id": answer.job_id,
                "submitted_at": iso(now),
                "reason": answer.message or None,
                "next_attempt_at": iso(now + timedelta(seconds=self.timing.poll)),
            },
        )
        done.submitted += 1
        return None

    def _spn_error(self, witness: Row, error: SpnError, done: Pass, submitting: bool) -> None:
        kind = error.kind
        if kind == ErrorKind.PERMANENT:
            return self._fail(witness, f"the archive refused: {error}", done)
        if kind == ErrorKind.BUSY:
            self._postpone(witness, self.timing.busy, str(error), done, clear_job=True)
            if submitting:
                raise _StopSubmitting(self.timing.busy, str(error))
            return None
        if kind in (ErrorKind.QUOTA, ErrorKind.CREDENTIALS):
            now = self.clock()
            wait = (
                (next_utc_day(now) - now).total_seconds()
                if kind == ErrorKind.QUOTA
                else self.timing.credentials_retry
            )
            self._postpone(witness, wait, str(error), done, clear_job=True)
            if submitting:
                raise _StopSubmitting(wait, str(error))
            return None
        return self._retry(witness, str(error), done)

    # -- following a job -----------------------------------------------------------------

    async def _poll(self, witness: Row, done: Pass) -> None:
        now = self.clock()
        try:
            status = await self.client.job_status(witness["job_id"])
        except (CredentialsRefused, ArchiveBusy, ArchiveError) as error:
            wait = getattr(error, "retry_after", self.timing.backoff)
            return self._postpone(witness, wait, str(error), done)
        if status.state == "pending":
            submitted = parse_time(witness["submitted_at"] or witness["requested_at"])
            if (now - submitted).total_seconds() > self.timing.job_deadline:
                return self._retry(witness, "the capture job stayed pending", done)
            self._postpone(witness, self.timing.poll, None, done, count=False)
            return None
        if status.state == "error":
            assert status.error is not None
            return self._spn_error(witness, status.error, done, submitting=False)
        assert status.timestamp is not None
        original = status.original_url or witness["url"]
        self.store.update_witness(
            int(witness["id"]),
            {
                "status": ARCHIVED,
                "archive_timestamp": status.timestamp,
                "archived_url": memento_url(self.client.base, status.timestamp, original),
                "finished_at": iso(now),
                "reason": None,
                "attempts": 0,
                "next_attempt_at": iso(now + timedelta(seconds=self.timing.first_verify)),
            },
        )
        done.archived += 1
        return None

    # -- fetching the copy back ------------------------------------------------------------

    async def _verify(self, witness: Row, done: Pass) -> None:
        now = self.clock()
        target = parse_replay_location(witness["archived_url"] or "")
        timestamp = witness["archive_timestamp"]
        if target is None or not timestamp:
            return self._record_copy(witness, {"note": "no archive address to fetch"}, done)
        try:
            replay = await self.client.replay(timestamp, target.url)
        except ArchiveBusy as busy:
            return self._postpone(witness, busy.retry_after, str(busy), done, count=False)
        except ArchiveError as error:
            return self._copy_later(witness, str(error), now, done)
        if not replay.is_memento:
            offered = parse_replay_location(replay.location or "")
            why = (
                f"the archive does not serve its copy yet (it offers {offered.timestamp})"
                if offered
                else f"the archive answered HTTP {replay.status} for its copy"
            )
            return self._copy_later(witness, why, now, done)
        # Storing, parsing and comparing run in a thread: `monitor run` checks on this loop.
        result = await asyncio.to_thread(self._check_copy, witness, target.url, replay)
        copy = {
            **result.to_dict(),
            "status": replay.status,
            "replay_url": replay.url,
            "checked_at": iso(now),
        }
        self._record_copy(witness, copy, done)
        return None

    def _check_copy(self, witness: Row, url: str, replay: Replay) -> CopyCheck:
        """Keep the archive's copy as a blob and compare it with the change's capture."""
        copy_sha = self.store.put_blob(replay.body)
        change = self.store.change(int(witness["change_id"]))
        ours = self.store.capture(int(change["to_capture"]))
        config = self.store.watch_config(change["watch"])
        document = None
        if ours["text_sha256"]:  # read again if an older extractor made it (current.py)
            stored = Document.from_json(self.store.get_blob(ours["text_sha256"]))
            document = current_document(stored, ours, self.store, Rules.from_config(config))
        reading = read_copy(
            url,
            replay.status,
            original_headers(replay.headers),
            replay.body,
            replay.fetched_at,
            Rules.from_config(config),
        )
        ours_sha = ours["body_sha256"]
        if ours.get("source_capture"):  # a rendered page: the archive keeps the raw response
            raw = self.store.capture(int(ours["source_capture"]))
            ours_sha = copy_sha if raw["body_sha256"] == copy_sha else ours_sha
        return check_copy(ours_sha, document, copy_sha, reading)

    def _copy_later(self, witness: Row, why: str, now: datetime, done: Pass) -> None:
        finished = parse_time(witness["finished_at"] or witness["requested_at"])
        if (now - finished).total_seconds() > self.timing.verify_deadline:
            hours = self.timing.verify_deadline / 3600
            note = f"the archive did not serve its copy within {hours:g} h ({why})"
            return self._record_copy(
                witness,
                {
                    "sha256": None,
                    "sha256_matches": None,
                    "text_matches": None,
                    "note": note,
                    "checked_at": iso(now),
                },
                done,
            )
        self._postpone(witness, self.timing.verify_retry, why, done, count=False)
        return None

    def _record_copy(self, witness: Row, copy: dict[str, Any], done: Pass) -> None:
        self.store.update_witness(
            int(witness["id"]),
            {"copy": json.dumps(copy, ensure_ascii=False), "reason": None},
        )
        done.verified += 1

    # -- bookkeeping ------------------------------------------------------------------

    def _postpone(
        self,
        witness: Row,
        seconds: float,
        reason: str | None,
        done: Pass,
        *,
        clear_job: bool = False,
        count: bool = True,
    ) -> None:
        fields: dict[str, Any] = {
            "next_attempt_at": iso(self.clock() + timedelta(seconds=max(0.0, seconds)))
        }
        if reason is not None:
            fields["reason"] = reason
        if clear_job:
            fields["job_id"] = None
        self.store.update_witness(int(witness["id"]), fields)
        if count:
            done.postponed += 1

    def _postpone_all(self, witnesses: list[Row], seconds: float, reason: str, done: Pass) -> None:
        for witness in witnesses:
            self._postpone(witness, seconds, reason, done)
        done.notes.append(reason)

    def _retry(self, witness: Row, reason: str, done: Pass) -> None:
        attempts = int(witness["attempts"]) + 1
        if attempts >= self.timing.max_attempts:
            return self._fail(witness, f"gave up after {attempts} attempts: {reason}", done)
        wait = self.timing.backoff * 2 ** (attempts - 1)
        self.store.update_witness(
            int(witness["id"]),
            {
                "attempts": attempts,
                "job_id": None,
                "reason": reason,
                "next_attempt_at": iso(self.clock() + timedelta(seconds=wait)),
            },
        )
        done.postponed += 1
        return None

    def _fail(self, witness: Row, reason: str, done: Pass) -> None:
        self.store.update_witness(
            int(witness["id"]),
            {"status": FAILED, "reason": reason, "finished_at": iso(self.clock())},
        )
        done.failed += 1
