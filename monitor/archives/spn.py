"""Save Page Now 2, as documented: capture requests, job status, the account's status.

``POST /save`` (``Authorization: LOW access:secret``, ``Accept: application/json``, form
field ``url``) answers ``{"url", "job_id"}``, or an error as HTTP 200 with ``status:
error``; ``GET /save/status/<job_id>`` says ``pending``, ``success`` (``timestamp``,
``original_url``) or ``error`` (``status_ext``, ``message``); ``GET /save/status/user``
gives the account's free capture slots and daily use. Pure: no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ConfigError
from .wayback import ENV_ACCESS_KEY, ENV_SECRET_KEY, TIMESTAMP, ProtocolError

# -- Save Page Now 2 ----------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """The Internet Archive's S3-style key pair. Never printed, logged or stored."""

    access: str = field(repr=False)
    secret: str = field(repr=False)

    def header(self) -> str:
        return f"LOW {self.access}:{self.secret}"

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """Both keys from the environment, None when neither is set.

        >>> Credentials.from_env({}) is None
        True
        >>> Credentials.from_env({"MONITOR_IA_ACCESS_KEY": "a", "MONITOR_IA_SECRET_KEY": "s"})
        Credentials(<hidden>)
        """
        env = os.environ if environ is None else environ
        access = (env.get(ENV_ACCESS_KEY) or "").strip()
        secret = (env.get(ENV_SECRET_KEY) or "").strip()
        if not access and not secret:
            return None
        if not access or not secret:
            have, lack = (
                (ENV_ACCESS_KEY, ENV_SECRET_KEY) if access else (ENV_SECRET_KEY, ENV_ACCESS_KEY)
            )
            raise ConfigError(
                f"{have} is set but {lack} is not; set both to the key pair shown at "
                "https://archive.org/account/s3.php"
            )
        return cls(access, secret)


class ErrorKind(StrEnum):
    """What an SPN2 error means for the queue (the caller's decision, not the text's)."""

    TRANSIENT = "transient"  # try this capture again later, with backoff
    BUSY = "busy"  # the account's concurrent captures are in use: wait, no attempt spent
    QUOTA = "quota"  # a daily limit: no more submissions until the next UTC day
    CREDENTIALS = "credentials"  # keys missing or refused: nothing works until fixed
    PERMANENT = "permanent"  # this capture will not succeed: failed, with the reason


# status_ext codes from the SPN2 documentation. A code not listed is taken as permanent:
# retrying something the archive said is hopeless only loads a public service.
_ERROR_KINDS: dict[str, ErrorKind] = {
    **dict.fromkeys(
        (
            "error:bad-gateway",
            "error:bandwidth-limit-exceeded",
            "error:browsing-timeout",
            "error:capture-location-error",
            "error:cannot-fetch",
            "error:celery",
            "error:gateway-timeout",
            "error:internal-server-error",
            "error:invalid-server-response",
            "error:job-failed",
            "error:no-browsers-available",
            "error:proxy-error",
            "error:protocol-error",
            "error:read-timeout",
            "error:service-unavailable",
            "error:soft-time-limit-exceeded",
            "error:too-many-requests",
        ),
        ErrorKind.TRANSIENT,
    ),
    "error:user-session-limit": ErrorKind.BUSY,
    **dict.fromkeys(
        (
            "error:max-daily-bandwidth",
            "error:max-daily-bandwidth-from-ip",
            "error:max-daily-bandwidth-host",
        ),
        ErrorKind.QUOTA,
    ),
    "error:unauthorized": ErrorKind.CREDENTIALS,
}


def error_kind(status_ext: str) -> ErrorKind:
    """How the queue treats an SPN2 ``status_ext`` code.

    >>> error_kind("error:user-session-limit"), error_kind("error:not-found")
    (<ErrorKind.BUSY: 'busy'>, <ErrorKind.PERMANENT: 'permanent'>)
    """
    return _ERROR_KINDS.get(status_ext, ErrorKind.PERMANENT)


@dataclass(frozen=True)
class SpnError:
    code: str  # the documented status_ext, e.g. error:not-found
    message: str = ""

    @property
    def kind(self) -> ErrorKind:
        return error_kind(self.code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


@dataclass(frozen=True)
class SubmitAnswer:
    """The answer to ``POST /save``: a job id, or an error (which comes as HTTP 200)."""

    job_id: str | None
    message: str = ""
    error: SpnError | None = None


@dataclass(frozen=True)
class JobStatus:
    """``GET /save/status/<job_id>``: pending, success (timestamp, original_url) or error."""

    state: str  # pending | success | error
    timestamp: str | None = None
    original_url: str | None = None
    error: SpnError | None = None
    http_status: int | None = None  # what the page answered the archive, when reported


@dataclass(frozen=True)
class UserStatus:
    """``GET /save/status/user``: the account's free capture slots and daily use."""

    available: int
    processing: int
    daily_captures: int | None = None
    daily_captures_limit: int | None = None

    @property
    def daily_quota_spent(self) -> bool:
        used, limit = self.daily_captures, self.daily_captures_limit
        return used is not None and limit is not None and used >= limit


def _error(payload: Mapping[str, Any]) -> SpnError:
    code = str(payload.get("status_ext") or payload.get("exception") or "error:unknown")
    return SpnError(code, str(payload.get("message") or ""))


def parse_submit(payload: Any) -> SubmitAnswer:
    """Interpret the JSON answer to a capture request.

    >>> parse_submit({"url": "https://x.cn/a", "job_id": "spn2-1f"}).job_id
    'spn2-1f'
    >>> str(parse_submit({"status": "error", "status_ext": "error:too-many-daily-captures",
    ...                   "message": "captured 5 times today"}).error)
    'error:too-many-daily-captures: captured 5 times today'
    """
    if not isinstance(payload, Mapping):
        raise ProtocolError("a Save Page Now answer is a JSON object")
    if payload.get("status") == "error":
        return SubmitAnswer(None, str(payload.get("message") or ""), _error(payload))
    job_id = payload.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise ProtocolError(f"a Save Page Now answer without job_id or error: {dict(payload)}")
    return SubmitAnswer(job_id, str(payload.get("message") or ""))


def parse_status(payload: Any) -> JobStatus:
    """Interpret ``GET /save/status/<job_id>``.

    >>> parse_status({"status": "success", "timestamp": "20260101000000",
    ...               "original_url": "https://x.cn/a"}).timestamp
    '20260101000000'
    >>> parse_status({"status": "pending"}).state
    'pending'
    """
    if not isinstance(payload, Mapping):
        raise ProtocolError("a Save Page Now status is a JSON object")
    state = payload.get("status")
    if state == "pending":
        return JobStatus("pending")
    if state == "error":
        return JobStatus("error", error=_error(payload))
    if state == "success":
        timestamp = str(payload.get("timestamp") or "")
        if not TIMESTAMP.fullmatch(timestamp):
            raise ProtocolError(f"a successful capture without a timestamp: {dict(payload)}")
        status = payload.get("http_status")
        return JobStatus(
            "success",
            timestamp=timestamp,
            original_url=str(payload.get("original_url") or "") or None,
            http_status=status if isinstance(status, int) else None,
        )
    raise ProtocolError(f"unknown Save Page Now status {state!r}")


def parse_user_status(payload: Any) -> UserStatus:
    """Interpret ``GET /save/status/user``.

    >>> parse_user_status({"available": 3, "processing": 1, "daily_captures": 10,
    ...                    "daily_captures_limit": 10}).daily_quota_spent
    True
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("available"), int):
        raise ProtocolError("a Save Page Now user status has an integer 'available'")

    def number(key: str) -> int | None:
        value = payload.get(key)
        return value if isinstance(value, int) else None

    return UserStatus(
        available=int(payload["available"]),
        processing=number("processing") or 0,
        daily_captures=number("daily_captures"),
        daily_captures_limit=number("daily_captures_limit"),
    )
