"""An async client for the Wayback Machine's CDX, replay and Save Page Now 2 endpoints.

Polite by construction: every kind of request is spaced (``Pacing``: the CDX server
one query every 2.5 s and replay one raw copy a second, both under the limits the
Internet Archive asked clients to keep; one capture request every 10 s), answers 429
with :class:`ArchiveBusy` carrying the ``Retry-After`` wait (60 s when the header is
absent, as the archive usually omits it), and never follows a replay redirect by
itself: a redirect may be the capture (the page redirected when it was archived) or
the archive sending us to another capture, and only the caller can tell which matters.

Credentials go only into the ``Authorization`` header of Save Page Now requests;
they are never logged (httpx logs URLs, not headers), stored or shown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from ..errors import ConfigError, MonitorError
from ..fetch.http import parse_retry_after, user_agent
from .spn import (
    Credentials,
    JobStatus,
    SubmitAnswer,
    UserStatus,
    parse_status,
    parse_submit,
    parse_user_status,
)
from .wayback import (
    CDX_PATH,
    SAVE_PATH,
    STATUS_PATH,
    USER_STATUS_PATH,
    CdxPage,
    ProtocolError,
    base_url,
    cdx_params,
    parse_cdx_json,
    replay_url,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

ENV_PACING = "MONITOR_WAYBACK_PACING"
DEFAULT_BUSY_WAIT = 60.0  # a 429 without Retry-After
MAX_BODY_BYTES = 20 * 1024 * 1024
_TRANSPORT_RETRIES = 2


class ArchiveError(MonitorError):
    """The archive could not be reached or answered outside its documented shapes."""


class ArchiveBusy(ArchiveError):
    """The archive asked us to slow down (HTTP 429): wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CredentialsRefused(ArchiveError):
    """Save Page Now refused the keys (or none were given): nothing works until fixed."""


@dataclass(frozen=True)
class Pacing:
    """Minimum seconds between the starts of two requests of one kind."""

    cdx: float = 2.5  # 80 % of the CDX server's 30 queries a minute
    replay: float = 1.0  # well under replay's 600 a minute: we are a guest
    submit: float = 10.0  # Save Page Now: six capture requests a minute at most
    status: float = 2.0  # job and user status checks
    busy_wait: float = DEFAULT_BUSY_WAIT

    def scaled(self, factor: float) -> Pacing:
        return Pacing(
            self.cdx * factor,
            self.replay * factor,
            self.submit * factor,
            self.status * factor,
            self.busy_wait * factor,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Pacing:
        return cls().scaled(pacing_factor(environ))


def pacing_factor(environ: Mapping[str, str] | None = None) -> float:
    """``MONITOR_WAYBACK_PACING``: a factor on every polite wait (default 1; 0 for a
    local mirror or stub that needs no spacing).

    >>> pacing_factor({"MONITOR_WAYBACK_PACING": "0"}), pacing_factor({})
    (0.0, 1.0)
    """
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_PACING) or "").strip()
    if not raw:
        return 1.0
    try:
        factor = float(raw)
    except ValueError:
        factor = -1.0
    if not 0 <= factor < float("inf"):
        raise ConfigError(
            f"{ENV_PACING}={raw!r} is not a factor >= 0; unset it for the polite default"
        )
    return factor


@dataclass(frozen=True)
class Replay:
    """One answer of the replay server, as received (no redirect followed)."""

    url: str  # what was asked for
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    elapsed: float

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def is_memento(self) -> bool:
        """The answer is an archived response (not the archive speaking for itself).

        The replay marks every archived response with ``Memento-Datetime`` (RFC 7089);
        a redirect to another capture, a "not in archive" page or an overload error
        carries none.
        """
        return self.header("memento-datetime") is not None

    @property
    def location(self) -> str | None:
        return self.header("location")

    @property
    def runtime_error(self) -> str | None:
        return self.header("x-archive-wayback-runtime-error")


class _Spacer:
    """Spaces the starts of one kind of request by a minimum interval."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = -float("inf")
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = time.monotonic()


class WaybackClient:
    """``async with WaybackClient() as archive: page = await archive.cdx(url)``.

    ``base`` defaults to ``MONITOR_WAYBACK_URL``, ``credentials`` to
    ``MONITOR_IA_ACCESS_KEY`` / ``MONITOR_IA_SECRET_KEY`` (needed only to capture),
    ``pacing`` to the polite default scaled by ``MONITOR_WAYBACK_PACING``.
    """

    def __init__(
        self,
        base: str | None = None,
        credentials: Credentials | None = None,
        pacing: Pacing | None = None,
        *,
        contact: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base = (base or base_url()).rstrip("/")
        self.credentials = credentials
        self.pacing = pacing or Pacing.from_env()
        self.max_bytes = max_bytes
        self._contact = contact or os.environ.get("MONITOR_CONTACT")
        self._transport = transport
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._spacers = {
            "cdx": _Spacer(self.pacing.cdx),
            "replay": _Spacer(self.pacing.replay),
            "submit": _Spacer(self.pacing.submit),
            "status": _Spacer(self.pacing.status),
        }

    async def __aenter__(self) -> WaybackClient:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=10.0),
            follow_redirects=False,
            headers={"User-Agent": user_agent(self._contact)},
            transport=self._transport,
            trust_env=False,
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- the index and the raw copies ------------------------------------------------

    async def cdx(
        self,
        url: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        resume_key: str | None = None,
    ) -> CdxPage:
        """One page of a URL's distinct captures, oldest first (see ``cdx_params``)."""
        params = cdx_params(url, from_=from_, to=to, limit=limit, resume_key=resume_key)
        response = await self._send("cdx", "GET", self.base + CDX_PATH, params=params)
        if response.status_code != 200:
            raise ArchiveError(
                f"the CDX server answered HTTP {response.status_code} for {url}: "
                f"{_snippet(response)}"
            )
        text = response.text.strip()
        try:
            return parse_cdx_json(response.json() if text else [])
        except (ValueError, ProtocolError) as error:
            raise ArchiveError(f"unexpected CDX answer for {url}: {error}") from error

    async def replay(self, timestamp: str, url: str) -> Replay:
        """The raw (``id_``) replay of one capture, exactly as answered.

        Raises :class:`ArchiveBusy` on 429 and :class:`ArchiveError` when the archive
        itself fails (a 5xx without ``Memento-Datetime``); an archived 5xx is returned.
        """
        address = replay_url(self.base, timestamp, url)
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        response = await self._send("replay", "GET", address, stream=True)
        try:
            body = await self._read_capped(response)
        finally:
            await response.aclose()
        answer = Replay(
            url=address,
            status=response.status_code,
            headers=tuple(response.headers.multi_items()),
            body=body,
            fetched_at=fetched_at,
            elapsed=time.monotonic() - started,
        )
        if answer.status >= 500 and not answer.is_memento:
            raise ArchiveError(
                f"the archive failed to replay {address}: HTTP {answer.status} "
                f"{answer.runtime_error or ''}".rstrip()
            )
        return answer

    # -- Save Page Now 2 ---------------------------------------------------------------

    async def submit(self, url: str) -> SubmitAnswer:
        """Ask Save Page Now to capture ``url`` now (``POST /save``)."""
        form = {"url": url, "capture_all": "1", "skip_first_archive": "1"}
        response = await self._send(
            "submit", "POST", self.base + SAVE_PATH, data=form, headers=self._spn_headers()
        )
        return _documented(parse_submit, self._spn_json(response, "capture request"))

    async def job_status(self, job_id: str) -> JobStatus:
        """Where a capture job stands (``GET /save/status/<job_id>``)."""
        response = await self._send(
            "status", "GET", self.base + STATUS_PATH + job_id, headers=self._spn_headers()
        )
        return _documented(parse_status, self._spn_json(response, f"status of job {job_id}"))

    async def user_status(self) -> UserStatus:
        """The account's free capture slots and daily use (``GET /save/status/user``)."""
        response = await self._send(
            "status",
            "GET",
            self.base + USER_STATUS_PATH,
            params={"_t": str(int(time.time() * 1000))},  # defeats caches, as the docs do
            headers=self._spn_headers(),
        )
        return _documented(parse_user_status, self._spn_json(response, "user status"))

    def _spn_headers(self) -> dict[str, str]:
        if self.credentials is None:
            raise CredentialsRefused(
                "Save Page Now needs the Internet Archive's S3-style keys: set "
                "MONITOR_IA_ACCESS_KEY and MONITOR_IA_SECRET_KEY "
                "(see https://archive.org/account/s3.php)"
            )
        return {"Accept": "application/json", "Authorization": self.credentials.header()}

    @staticmethod
    def _spn_json(response: httpx.Response, what: str) -> Any:
        if response.status_code in (401, 403):
            raise CredentialsRefused(
                f"Save Page Now refused the keys ({what}: HTTP {response.status_code}); "
                "check MONITOR_IA_ACCESS_KEY and MONITOR_IA_SECRET_KEY"
            )
        if response.status_code >= 500:
            raise ArchiveError(f"Save Page Now failed ({what}): HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise ArchiveError(
                f"Save Page Now answered HTTP {response.status_code} without JSON ({what}): "
                f"{_snippet(response)}"
            ) from error

    # -- transport -------------------------------------------------------------------

    async def _send(
        self, kind: str, method: str, url: str, *, stream: bool = False, **options: Any
    ) -> httpx.Response:
        """One request of a kind, spaced and retried on network errors; 429 raises."""
        assert self._client is not None, "use 'async with WaybackClient(...)'"
        attempt = 0
        while True:
            attempt += 1
            await self._spacers[kind].wait()
            try:
                request = self._client.build_request(method, url, **options)
                response = await self._client.send(request, stream=stream)
            except httpx.TransportError as error:
                if attempt > _TRANSPORT_RETRIES:
                    raise ArchiveError(
                        f"cannot reach the archive at {self.base}: {type(error).__name__}: "
                        f"{error}; check MONITOR_WAYBACK_URL and the network"
                    ) from error
                await asyncio.sleep(min(2.0**attempt, 30.0) * min(1.0, self.pacing.busy_wait))
                continue
            if response.status_code == 429:
                if stream:
                    await response.aclose()
                wait = parse_retry_after(response.headers.get("retry-after"))
                raise ArchiveBusy(
                    f"the archive asked us to slow down (HTTP 429 on {kind})",
                    self.pacing.busy_wait if wait is None else wait,
                )
            return response

    async def _read_capped(self, response: httpx.Response) -> bytes:
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise ArchiveError(
                    f"an archived copy larger than {self.max_bytes} bytes: {response.url}"
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _documented(parse: Callable[[Any], T], payload: Any) -> T:
    """Parse an answer; one outside the documented shape is the archive's error, not ours."""
    try:
        return parse(payload)
    except ProtocolError as error:
        raise ArchiveError(
            f"Save Page Now answered outside its documented shape: {error}"
        ) from error


def _snippet(response: httpx.Response) -> str:
    try:
        return " ".join(response.text[:200].split())
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""


__all__ = [
    "ArchiveBusy",
    "ArchiveError",
    "CredentialsRefused",
    "Pacing",
    "Replay",
    "WaybackClient",
]
