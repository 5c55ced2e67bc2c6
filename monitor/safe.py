"""Untrusted text made safe to show, and secrets kept out of what is shown (pure).

Two kinds of text reach the operator's screen: what monitored pages say (wording,
titles, reasons, URLs, error details) and what the operator wrote (URLs that may carry
``user:password@``). This module is the one definition of what is unsafe in either:

- control characters (C0 but tab and line feed, DEL, C1 such as U+009B, the one-byte
  CSI) would drive the terminal: clear it, retitle the window, forge hyperlinks;
- bidirectional overrides and isolates would make wording read differently from what
  it is (a removed word shown reversed);
- credentials in a URL's userinfo are secrets: never shown, logged or exported.

>>> terminal("a\\x1b[2Jb\\x9bc\\u202ed")
'a\\\\x1b[2Jb\\\\x9bc<U+202E>d'
>>> redact("fetch http://user:pa55@example.org/x failed")
'fetch http://***@example.org/x failed'
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls but tab and line feed, DEL, and the C1 controls (U+0080..U+009F).
CONTROL_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
# Bidirectional formatting: marks (LRM, RLM, ALM), embeddings and overrides, isolates.
BIDI_CHARS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"

_TERMINAL_UNSAFE = re.compile(f"[{CONTROL_CHARS}{BIDI_CHARS}]")
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{BIDI_CHARS}]")  # json.dumps escapes C0 already
_BIDI = re.compile(f"[{BIDI_CHARS}]")
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")
# scheme://userinfo@ : the userinfo runs to the last '@' before the host's end, as
# urllib reads it; quotes and brackets end it (a URL inside JSON or HTML text).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s\"'<>\\]*)@")
_ALREADY_REDACTED = re.compile(r"[^:]*:\*+")  # user:**** as apprise shows a target
REDACTED = "***"


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


def visible_controls(text: str) -> str:
    """Control and bidirectional characters spelled out, everything else as it is.

    >>> visible_controls("ok\\ttab\\nline\\r\\x1b]0;owned\\x07\\u2066x")
    'ok\\ttab\\nline\\\\x0d\\\\x1b]0;owned\\\\x07<U+2066>x'
    """
    return _TERMINAL_UNSAFE.sub(_visible, text)


def redact(text: str) -> str:
    """Credentials in every URL of a text replaced by ``***``.

    >>> redact("https://u:p@a@host:8080/p?q=x@y and mailto:ops@example.org")
    'https://***@host:8080/p?q=x@y and mailto:ops@example.org'
    >>> redact("http://example.org/a@b"), redact("json://bot:****@h/")
    ('http://example.org/a@b', 'json://bot:****@h/')
    """
    return _USERINFO.sub(_redacted, text)


def _redacted(match: re.Match[str]) -> str:
    if _ALREADY_REDACTED.fullmatch(match[2]):
        return match[0]
    return f"{match[1]}{REDACTED}@"


def terminal(text: object) -> str:
    """Text for a terminal: credentials redacted, control and bidi characters visible."""
    return visible_controls(redact(str(text)))


def one_line(text: object) -> str:
    """A value for one line of a listing: its line breaks and tabs spelled out too, so
    page text cannot forge a line of its own.

    >>> one_line("HTTP 500\\nwatch-x   ok")
    'HTTP 500\\\\nwatch-x   ok'
    """
    return terminal(text).replace("\n", "\\n").replace("\t", "\\t")


def redact_url(url: str) -> str:
    """One URL with its userinfo replaced, however odd the password's characters.

    >>> redact_url('https://u:p"a<s@host/x@y')
    'https://***@host/x@y'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return redact(url)
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" not in authority:
        return redact(url)
    return f"{scheme}://{REDACTED}@{authority.rpartition('@')[2]}{redact(rest[end:])}"


def has_userinfo(url: str) -> bool:
    """Whether a URL carries ``user[:password]@`` before its host.

    >>> has_userinfo("https://u:p@example.org/"), has_userinfo("https://example.org/@x")
    (True, False)
    """
    return redact_url(url) != url


def redact_data(data: Any) -> Any:
    """Every string in a JSON-like value (dicts, lists) with credentials redacted."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    return data


def json_text(data: Any, indent: int | None = 2, **options: Any) -> str:
    """JSON for scripts and files: Chinese stays readable, credentials are redacted, and
    C1 controls, DEL and bidi controls are escaped (``\\u009b``) like C0 ones.

    >>> json_text({"t": "人脸\\x9b[2J\\u202e", "u": "http://a:b@h/"}, indent=None)
    '{"t": "人脸\\\\u009b[2J\\\\u202e", "u": "http://***@h/"}'
    """
    text = json.dumps(redact_data(data), ensure_ascii=False, indent=indent, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def html_text(value: Any) -> Any:
    """What a template shows of a value: strings redacted, control characters visible
    (bidi characters stay, isolated by ``<bdi>`` in the templates). For Jinja's finalize.

    >>> html_text("x\\x1by http://u:p@h/"), html_text(3)
    ('x\\\\x1by http://***@h/', 3)
    """
    if isinstance(value, str) and not hasattr(value, "__html__"):  # Markup is ours
        return _CONTROL.sub(_visible, redact(value))
    return value


def has_bidi(text: str) -> bool:
    return _BIDI.search(text) is not None
