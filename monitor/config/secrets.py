"""A watch's secrets, taken from the environment when a page is fetched, never stored.

A page behind a login or an API key is watched with the names of environment variables,
not their values: the watchlist (and the watch's configuration the store keeps with
every capture) holds only the names::

    - name: partner-docs
      url: https://partner.example.com/docs/api
      headers_env: {X-Api-Key: PARTNER_DOCS_KEY}           # header <- $PARTNER_DOCS_KEY
      auth_env: {username: PARTNER_USER, password: PARTNER_PASSWORD}   # HTTP basic auth

The values are read at fetch time (:func:`request_headers`), checked like a header
written in the file (ASCII, no control characters), and go to the server only. A URL
with ``user:password@`` is refused at validation for the same reason: it would be
stored, and shown, with every capture.

>>> import os
>>> os.environ["DOCTEST_KEY"] = "s3cret"
>>> request_headers((("Accept-Language", "zh-CN"),), (("X-Api-Key", "DOCTEST_KEY"),), None)
(('Accept-Language', 'zh-CN'), ('X-Api-Key', 's3cret'))
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from ..errors import ConfigError
from .fields import _check_header_value
from .routes import _ENV_NAME


class SecretError(ConfigError):
    """A secret a watch names is not set in the environment, or is not a valid header."""


def _check_env_var(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):  # not repeated: it may be a pasted secret
        raise ValueError(
            "not an environment variable name: write the variable's name (letters, "
            "digits and '_', like PARTNER_DOCS_KEY), not its value, and export the value"
        )
    return name


def _secret(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if value is None:
        raise SecretError(
            f"{what} comes from the environment variable {variable}, which is not set; "
            f'export {variable}=... where monitor runs (README "Secrets")'
        )
    try:
        return _check_header_value(value)
    except ValueError as error:  # the message never repeats the value
        raise SecretError(f"{what} from ${variable}: {error}") from None


def request_headers(
    headers: Sequence[tuple[str, str]],
    headers_env: Sequence[tuple[str, str]],
    auth_env: Sequence[str] | None,
) -> tuple[tuple[str, str], ...]:
    """The headers to send: those written in the file, then those from the environment
    (which win over a header of the same name), then basic authentication.

    Raises :class:`SecretError` naming the variable (never its value) when one is unset
    or holds what no header may (a line break, a non-ASCII character).
    """
    merged = {name.lower(): (name, value) for name, value in headers}
    for name, variable in headers_env:
        merged[name.lower()] = (name, _secret(variable, f"header {name}"))
    if auth_env:
        user_var, password_var = auth_env
        user = _secret(user_var, "the basic-auth username")
        password = _secret(password_var, "the basic-auth password")
        if ":" in user:
            raise SecretError(f"the basic-auth username from ${user_var} contains ':'")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        merged["authorization"] = ("Authorization", f"Basic {token}")
    return tuple(merged.values())
