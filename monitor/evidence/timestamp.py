"""RFC 3161 trusted timestamps of checkpoints (optional; off unless configured).

A time-stamping authority (TSA) signs "these bytes existed at this time": the request
carries only the SHA-256 of a checkpoint's payload, never evidence. Set
``settings.timestamp_authority`` in the watchlist to turn it on. The response is kept
as received (DER ``TimeStampResp``), so anyone can check it with OpenSSL::

    openssl ts -verify -data checkpoint.json -in checkpoint.tsr -CAfile tsa-root.pem

ASN.1 with ``asn1crypto`` (its TSP and CMS modules; a lenient BER reader: OpenSSL-based
TSAs send certificate sets out of DER order, which strict parsers such as
rfc3161-client reject) and signatures with ``cryptography``. Checked: status, message
imprint, nonce, the CMS signature over the signed attributes, their message digest of
the token, the signer's timeStamping key usage and, given roots, its chain.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .. import __version__
from ..errors import ConfigError, MonitorError

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampError(MonitorError):
    """The time-stamping authority could not be reached or gave an unusable answer."""


def timestamp_request(payload: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for SHA-256(payload), asking for the TSA's certificate."""
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(payload).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def request_timestamp(url: str, payload: bytes, timeout: float = 30.0) -> bytes:
    """Ask a TSA to timestamp ``payload``; returns its DER ``TimeStampResp``, checked."""
    nonce = secrets.randbits(63)
    try:
        response = httpx.post(
            url,
            content=timestamp_request(payload, nonce),
            headers={
                "Content-Type": "application/timestamp-query",
                "User-Agent": f"monitor/{__version__} (RFC 3161 timestamp of a checkpoint)",
            },
            timeout=timeout,
        )
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise TimestampError(f"time-stamping authority {url} failed: {error}") from error
    found = check_timestamp(response.content, payload, nonce=nonce)
    if found.problem:
        raise TimestampError(f"{url}: {found.problem}")
    return response.content


@dataclass(frozen=True)
class TimestampCheck:
    """What checking a stored timestamp found."""

    problem: str | None  # None when the token is valid for the payload
    time: datetime | None = None
    authority: str | None = None
    trusted: bool = False  # chained to a root the caller trusts (not only self-consistent)


def _verify_signature(
    certificate: x509.Certificate, signature: bytes, data: bytes, algorithm: str
) -> None:
    key = certificate.public_key()
    digest = _HASHES.get(algorithm)
    if isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, data)
    elif digest is None:
        raise InvalidSignature(f"unsupported digest {algorithm}")
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), digest())
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(digest()))
    else:
        raise InvalidSignature(f"unsupported key type {type(key).__name__}")


def _chains_to(
    leaf: x509.Certificate, pool: list[x509.Certificate], roots: list[x509.Certificate]
) -> bool:
    current = leaf
    for _ in range(8):  # no real chain is longer
        for root in roots:
            try:
                current.verify_directly_issued_by(root)
                return True
            except (ValueError, TypeError, InvalidSignature):
                pass
        issuer = next((c for c in pool if c.subject == current.issuer and c != current), None)
        if issuer is None:
            return False
        try:
            current.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return False
        current = issuer
    return False


def check_timestamp(
    response_der: bytes,
    payload: bytes,
    roots: list[x509.Certificate] | None = None,
    nonce: int | None = None,
) -> TimestampCheck:
    """Check a stored TSA response against the payload it claims to timestamp.

    With ``roots``, the TSA certificate must chain to one of them. Without, the token's
    signature is checked against the certificate it carries (self-consistency: the
    time is proven to whoever trusts that TSA; VERIFY.txt explains how to check that).
    """
    try:
        answer = tsp.TimeStampResp.load(response_der)
        status = answer["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            return TimestampCheck(f"the authority refused the timestamp ({status})")
        signed = answer["time_stamp_token"]["content"]
        encapsulated = signed["encap_content_info"]
        token_bytes = encapsulated["content"].contents
        info = tsp.TSTInfo.load(token_bytes)
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        gen_time = info["gen_time"].native
        certificates = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed["certificates"] or []
            if isinstance(c.chosen, cms.Certificate)
        ]
        signer = signed["signer_infos"][0]
    except (ValueError, TypeError, KeyError, IndexError) as error:
        return TimestampCheck(f"unreadable timestamp token ({error})")
    if algorithm not in _HASHES or hashlib.new(algorithm, payload).digest() != hashed:
        return TimestampCheck("the timestamp is for other data than this checkpoint")
    if nonce is not None and info["nonce"].native != nonce:
        return TimestampCheck("the answer carries another request's nonce")
    sid = signer["sid"].chosen
    leaf = next(
        (
            c
            for c in certificates
            if isinstance(sid, cms.IssuerAndSerialNumber)
            and c.serial_number == sid["serial_number"].native
        ),
        certificates[0] if certificates else None,
    )
    if leaf is None:
        return TimestampCheck("the timestamp token carries no certificate")
    authority = leaf.subject.rfc4514_string()
    problem = _check_signer(signer, leaf, token_bytes)
    if problem:
        return TimestampCheck(f"the timestamp by {authority} does not verify: {problem}")
    if roots and not _chains_to(leaf, certificates, roots):
        return TimestampCheck(
            f"the timestamp's certificate ({authority}) is not from a trusted root"
        )
    return TimestampCheck(None, gen_time, authority, trusted=bool(roots))


def _check_signer(signer: cms.SignerInfo, leaf: x509.Certificate, token_bytes: bytes) -> str | None:
    digest_name = signer["digest_algorithm"]["algorithm"].native
    attributes = signer["signed_attrs"]
    if digest_name not in _HASHES or not len(attributes):
        return f"unsupported signature form ({digest_name})"
    digest = next(
        (a["values"][0].native for a in attributes if a["type"].native == "message_digest"), None
    )
    if digest != hashlib.new(digest_name, token_bytes).digest():
        return "the signed attributes do not match the token"
    signed_bytes = b"\x31" + attributes.dump()[1:]  # signed as an explicit SET (RFC 5652 5.4)
    try:
        _verify_signature(leaf, signer["signature"].native, signed_bytes, digest_name)
    except (InvalidSignature, ValueError, TypeError) as error:
        return f"bad signature{(' (' + str(error) + ')') if str(error) else ''}"
    try:
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "the certificate is not for time stamping"
    if x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        return "the certificate is not for time stamping"
    return None


def load_roots(path: str) -> list[x509.Certificate]:
    """PEM certificates a user trusts as TSA roots (``--tsa-roots FILE``)."""
    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificates(handle.read())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read TSA root certificates from {path}: {error}") from error
