"""The data directory's signing keys: Ed25519 for checkpoints, ECDSA P-384 for WACZ.

Generated on first use in ``<data dir>/keys/`` (or ``$MONITOR_KEY_DIR``, to keep them
off the machine that holds the evidence), written atomically with owner-only
permissions, never printed, logged or exported. Only public keys leave this module.

The WACZ signing specification (Webrecorder, wacz-auth 0.1.0) allows an anonymous
signature only with an ECDSA key (ReplayWeb.page checks P-384 over SHA-256), so a
data directory also has a P-384 key for WACZ files. The Ed25519 key certifies it: a
signed statement binding the two keys travels with every WACZ and bundle.

>>> import tempfile
>>> ring = KeyRing(Path(tempfile.mkdtemp()) / "keys")
>>> signature = ring.sign(b"payload")
>>> verify_ed25519(ring.public_key_b64(), b"payload", signature)
True
>>> verify_ed25519(ring.public_key_b64(), b"Payload", signature)
False
>>> oct(os.stat(ring.directory / SIGNING_KEY).st_mode & 0o777)
'0o600'
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ..errors import StoreError

SIGNING_KEY = "signing-key.pem"  # Ed25519, PKCS#8 PEM, mode 0600
PUBLIC_KEY = "signing-key.pub.pem"  # its public half, SubjectPublicKeyInfo PEM
WACZ_KEY = "wacz-key.pem"  # ECDSA P-384, PKCS#8 PEM, mode 0600
KEY_DIR_ENV = "MONITOR_KEY_DIR"
_P384_BYTES = 48


def key_directory(data_dir: Path) -> Path:
    """Where a data directory's keys live: ``$MONITOR_KEY_DIR`` or ``<data dir>/keys``."""
    override = os.environ.get(KEY_DIR_ENV)
    return Path(override) if override else data_dir / "keys"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, atomically (another process may race us)."""
    temporary = path.with_name(f".{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # the other process won: use its key
            os.link(temporary, path)
    finally:
        temporary.unlink()


def public_key_from_b64(text: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def verify_ed25519(public_key_b64: str, payload: bytes, signature_b64: str) -> bool:
    """Does a base64 Ed25519 signature over ``payload`` verify with a base64 raw key?"""
    try:
        public_key_from_b64(public_key_b64).verify(
            base64.b64decode(signature_b64, validate=True), payload
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def public_pem(public_key_b64: str) -> str:
    """A raw base64 Ed25519 key as PEM (what ``openssl pkeyutl -verify -pubin`` reads)."""
    return (
        public_key_from_b64(public_key_b64)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def fingerprint(public_key_b64: str) -> str:
    """A short name for a key: SHA-256 of the raw public key, first 16 hex digits."""
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16]


def verify_wacz_signature(spki_b64: str, message: bytes, signature_b64: str) -> bool:
    """Check a WACZ anonymous signature: ECDSA P-384/SHA-256, raw r||s (WebCrypto form)."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(spki_b64, validate=True))
        raw = base64.b64decode(signature_b64, validate=True)
        if not isinstance(key, ec.EllipticCurvePublicKey) or len(raw) != 2 * _P384_BYTES:
            return False
        r = int.from_bytes(raw[:_P384_BYTES], "big")
        s = int.from_bytes(raw[_P384_BYTES:], "big")
        key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def binding_payload(signing_key_b64: str, wacz_key_spki_b64: str) -> bytes:
    """The statement by which the Ed25519 key vouches for the WACZ key (canonical JSON)."""
    statement = {
        "format": "monitor-wacz-key/1",
        "signing_key": signing_key_b64,
        "wacz_public_key": wacz_key_spki_b64,
    }
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("ascii")


class KeyRing:
    """The private keys of one data directory, created on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._signing: ed25519.Ed25519PrivateKey | None = None
        self._wacz: ec.EllipticCurvePrivateKey | None = None

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> KeyRing:
        return cls(key_directory(data_dir))

    def exists(self) -> bool:
        return (self.directory / SIGNING_KEY).exists()

    def _load(self, name: str, generate: bool) -> bytes:
        path = self.directory / name
        try:
            if not path.exists():
                if not generate:
                    raise StoreError(f"no signing key in {self.directory}")
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                key = (
                    ed25519.Ed25519PrivateKey.generate()
                    if name == SIGNING_KEY
                    else ec.generate_private_key(ec.SECP384R1())
                )
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                _write_new(path, pem, 0o600)
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                raise StoreError(
                    f"the private key {path} can be read by other users (mode {mode:o}); "
                    f"run: chmod 600 {path}"
                )
            return path.read_bytes()
        except OSError as error:
            raise StoreError(
                f"cannot read or create the signing key in {self.directory}: {error}. "
                f"Check its permissions, or set {KEY_DIR_ENV} to a directory you own."
            ) from error

    def signing_key(self) -> ed25519.Ed25519PrivateKey:
        if self._signing is None:
            key = serialization.load_pem_private_key(self._load(SIGNING_KEY, True), None)
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise StoreError(f"{self.directory / SIGNING_KEY} is not an Ed25519 key")
            self._signing = key
            public = self.directory / PUBLIC_KEY
            if not public.exists():
                with contextlib.suppress(OSError):
                    _write_new(public, public_pem(self.public_key_b64()).encode(), 0o644)
        return self._signing

    def wacz_key(self) -> ec.EllipticCurvePrivateKey:
        if self._wacz is None:
            key = serialization.load_pem_private_key(self._load(WACZ_KEY, True), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise StoreError(f"{self.directory / WACZ_KEY} is not an ECDSA key")
            self._wacz = key
        return self._wacz

    def public_key_b64(self) -> str:
        """The Ed25519 public key, raw 32 bytes in base64 (what checkpoints name)."""
        raw = (
            self.signing_key()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return base64.b64encode(raw).decode("ascii")

    def public_key_pem(self) -> str:
        return public_pem(self.public_key_b64())

    def sign(self, payload: bytes) -> str:
        """Ed25519 signature of ``payload``, base64."""
        return base64.b64encode(self.signing_key().sign(payload)).decode("ascii")

    def wacz_public_spki_b64(self) -> str:
        der = (
            self.wacz_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return base64.b64encode(der).decode("ascii")

    def sign_wacz(self, message: bytes) -> str:
        """ECDSA P-384 over SHA-256, raw r||s in base64, as WebCrypto and ReplayWeb.page use."""
        r, s = decode_dss_signature(self.wacz_key().sign(message, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(_P384_BYTES, "big") + s.to_bytes(_P384_BYTES, "big")
        return base64.b64encode(raw).decode("ascii")

    def wacz_binding(self) -> dict[str, str]:
        """The Ed25519-signed statement that the WACZ key belongs to this data directory."""
        payload = binding_payload(self.public_key_b64(), self.wacz_public_spki_b64())
        return {"payload": payload.decode("ascii"), "signature": self.sign(payload)}
