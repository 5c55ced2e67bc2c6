"""Who may use the dashboard: binding rules, access token or users, sessions, CSRF tokens.

Secrets come only from the environment, never from the data directory or the command
line (where ``ps`` would show them):

* ``MONITOR_SERVE_TOKEN``: one shared access token;
* ``MONITOR_SERVE_USERS``: ``name:HASH`` pairs separated by spaces, commas or newlines,
  each HASH made by ``monitor serve --hash-password`` (scrypt, salted);
* ``MONITOR_SERVE_SECRET`` (optional): the key that signs session cookies and CSRF
  tokens; without it a random key is drawn at start-up, so sessions end on restart.

Without a token or users the server is for the person at this machine only: it binds a
loopback address and refuses any other (:func:`check_bind`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError

TOKEN_ENV = "MONITOR_SERVE_TOKEN"
USERS_ENV = "MONITOR_SERVE_USERS"
SECRET_ENV = "MONITOR_SERVE_SECRET"
SESSION_SECONDS = 12 * 3600
LOOPBACK_NAMES = frozenset(("localhost", "localhost.", "ip6-localhost"))
# scrypt parameters (RFC 7914): 16 MiB of memory and ~50 ms per guess on this machine.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SEPARATORS = re.compile(r"[\s,]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of a password, for ``MONITOR_SERVE_USERS``.

    >>> encoded = hash_password("correct horse", salt=b"0123456789abcdef")
    >>> encoded.split("$")[:4], verify_password("correct horse", encoded)
    (['scrypt', '16384', '8', '1'], True)
    >>> verify_password("wrong", encoded)
    False
    """
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of a password against a :func:`hash_password` hash."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def parse_users(text: str) -> dict[str, str]:
    """``name:HASH`` pairs -> {name: HASH}; refuses anything that is not a hash.

    >>> list(parse_users("ana:scrypt$1$2$3$c2FsdA$aGFzaA, bo:scrypt$1$2$3$c2FsdA$aGFzaA"))
    ['ana', 'bo']
    """
    users: dict[str, str] = {}
    for entry in filter(None, _SEPARATORS.split(text.strip())):
        name, _, encoded = entry.partition(":")
        if not name or not encoded.startswith("scrypt$") or encoded.count("$") != 5:
            raise ConfigError(
                f"{USERS_ENV}: {name or entry!r} is not 'name:HASH' with a hash made by "
                "'monitor serve --hash-password' (passwords are never given in clear)"
            )
        users[name] = encoded
    return users


@dataclass(frozen=True)
class Auth:
    """The access rules of one server run."""

    token: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.users)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Auth:
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV) or None
        if token is not None and len(token) < 16:
            raise ConfigError(f"{TOKEN_ENV} is too short: use at least 16 random characters")
        users = parse_users(env.get(USERS_ENV, ""))
        secret = env.get(SECRET_ENV)
        if secret is not None and len(secret) < 16:
            raise ConfigError(f"{SECRET_ENV} is too short: use at least 16 random characters")
        key = secret.encode() if secret else secrets.token_bytes(32)
        return cls(token=token, users=users, secret=key)

    # -- credentials ---------------------------------------------------------------

    def check_token(self, offered: str) -> bool:
        return self.token is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    def check_user(self, name: str, password: str) -> bool:
        encoded = self.users.get(name)
        return encoded is not None and verify_password(password, encoded)

    def login(self, name: str, password: str) -> str | None:
        """The user a login form names (a token logs in as "token"), or None."""
        if self.users and name and self.check_user(name, password):
            return name
        if self.token and self.check_token(password):
            return name or "token"
        return None

    # -- signed values -------------------------------------------------------------

    def _sign(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def session(self, user: str, now: float | None = None) -> str:
        """A session cookie value: who, until when, signed."""
        expires = int((now or time.time()) + SESSION_SECONDS)
        payload = _b64(json.dumps({"u": user, "exp": expires}).encode())
        return f"{payload}.{self._sign('session:' + payload)}"

    def session_user(self, cookie: str | None, now: float | None = None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign("session:" + payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("exp", 0) < (now or time.time()):
            return None
        user = data.get("u")
        return user if isinstance(user, str) else None

    def csrf_token(self, cookie: str) -> str:
        """The token forms carry for a browser's CSRF cookie (double submit, signed)."""
        return self._sign("csrf:" + cookie)

    def csrf_valid(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(
            self.csrf_token(cookie or ""), token or ""
        )


def is_loopback(host: str) -> bool:
    """True for addresses and names that only this machine can reach.

    >>> [is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "localhost", "0.0.0.0")]
    [True, True, True, True, False]
    """
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: Auth) -> None:
    """Refuse to listen beyond this machine unless access is protected.

    >>> check_bind("127.0.0.1", Auth())
    >>> check_bind("0.0.0.0", Auth())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    monitor.errors.ConfigError: refusing to listen on 0.0.0.0 ...
    """
    if is_loopback(host) or auth.enabled:
        return
    raise ConfigError(
        f"refusing to listen on {host} without authentication: anyone who can reach it "
        f"could read the evidence and mark changes. Set {TOKEN_ENV} (a long random "
        f"string) or {USERS_ENV} (see 'monitor serve --help'), or keep the default "
        "--host 127.0.0.1"
    )
