"""RFC 3161 trusted timestamps of checkpoints (optional; off unless configured).

A time-stamping authority (TSA) signs "these bytes existed at this time": the request
carries only the SHA-256 of a checkpoint's payload, never evidence. Set
``settings.timestamp_authority`` in the watchlist to turn it on. The response is kept
as received (DER ``TimeStampResp``), so anyone can check it with OpenSSL::

    openssl ts -verify -data checkpoint.json -in checkpoint.tsr -CAfile tsa-root.pem

Requests and parsing use Trail of Bits' ``rfc3161-client`` (maintained; verifies the
CMS signature, the message imprint, the nonce and the TSA certificate chain).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from .. import __version__
from ..errors import MonitorError

_CONTENT_TYPE = "application/timestamp-query"


class TimestampError(MonitorError):
    """The time-stamping authority could not be reached or gave an unusable answer."""


def request_timestamp(url: str, payload: bytes, timeout: float = 30.0) -> bytes:
    """Ask a TSA to timestamp ``payload``; returns its DER ``TimeStampResp``, checked."""
    request = (
        TimestampRequestBuilder()
        .data(payload)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        response = httpx.post(
            url,
            content=request.as_bytes(),
            headers={
                "Content-Type": _CONTENT_TYPE,
                "User-Agent": f"monitor/{__version__} (RFC 3161 timestamp of a checkpoint)",
            },
            timeout=timeout,
        )
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise TimestampError(f"time-stamping authority {url} failed: {error}") from error
    try:
        answer = decode_timestamp_response(response.content)
    except ValueError as error:
        raise TimestampError(f"{url} did not answer with an RFC 3161 response: {error}") from error
    if answer.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"{url} refused the timestamp: status {answer.status}")
    info = answer.tst_info
    if info.message_imprint.message != hashlib.sha256(payload).digest():
        raise TimestampError(f"{url} timestamped other data than the checkpoint")
    if info.nonce != request.nonce:
        raise TimestampError(f"{url} answered with another request's nonce")
    return response.content


@dataclass(frozen=True)
class TimestampCheck:
    """What checking a stored timestamp found."""

    problem: str | None  # None when the token is valid for the payload
    time: datetime | None = None
    authority: str | None = None
    trusted: bool = False  # chained to a root the caller trusts (not only self-consistent)


def _certificates(response_der: bytes) -> list[x509.Certificate]:
    answer = decode_timestamp_response(response_der)
    return [x509.load_der_x509_certificate(c) for c in answer.signed_data.certificates]


def check_timestamp(
    response_der: bytes, payload: bytes, roots: list[x509.Certificate] | None = None
) -> TimestampCheck:
    """Check a stored TSA response against the payload it claims to timestamp.

    With ``roots``, the TSA certificate must chain to one of them. Without, the token's
    signature is checked against the certificate it carries (a self-consistency check:
    the time is proven only to whoever trusts that TSA, which VERIFY.txt explains).
    """
    try:
        answer = decode_timestamp_response(response_der)
        info = answer.tst_info
        certificates = _certificates(response_der)
    except ValueError as error:
        return TimestampCheck(f"unreadable timestamp token ({error})")
    if info.message_imprint.message != hashlib.sha256(payload).digest():
        return TimestampCheck("the timestamp is for other data than this checkpoint")
    leaf = next(
        (c for c in certificates if _is_timestamping(c)), certificates[0] if certificates else None
    )
    if leaf is None:
        return TimestampCheck("the timestamp token carries no certificate")
    authority = leaf.subject.rfc4514_string()
    builder = VerifierBuilder()
    trust = roots or [leaf]
    for root in trust:
        builder = builder.add_root_certificate(root)
    for certificate in certificates:
        if certificate != leaf and certificate not in trust:
            builder = builder.add_intermediate_certificate(certificate)
    try:
        builder.build().verify_message(answer, payload)
    except (VerificationError, ValueError) as error:
        return TimestampCheck(f"the timestamp by {authority} does not verify: {error}")
    return TimestampCheck(None, info.gen_time, authority, trusted=bool(roots))


def _is_timestamping(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return x509.oid.ExtendedKeyUsageOID.TIME_STAMPING in usage


def load_roots(path: str) -> list[x509.Certificate]:
    """PEM certificates a user trusts as TSA roots (``--tsa-roots FILE``)."""
    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificates(handle.read())
    except (OSError, ValueError) as error:
        raise MonitorError(f"cannot read TSA root certificates from {path}: {error}") from error
