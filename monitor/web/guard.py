"""The dashboard's front door: host check, cross-site refusal, authentication, headers.

Every request passes here before any route runs:

1. Without authentication the server answers only requests addressed to a loopback
   name (``Host: 127.0.0.1:8765``, ``localhost``...), so a web page elsewhere cannot
   reach it through DNS rebinding.
2. A state-changing request (anything but GET/HEAD/OPTIONS) from another site is
   refused: ``Sec-Fetch-Site`` must be same-origin (or absent/none) and ``Origin``, when
   sent, must name this host. Forms also carry a signed CSRF token (see
   :func:`require_csrf`), so a browser without these headers is still protected.
3. With authentication configured, a request needs a session cookie (from the login
   form), ``Authorization: Bearer TOKEN`` or HTTP Basic (user and password, or any
   user and the token: what feed readers can send). Pages redirect to the login form;
   the API and the feed answer 401.
4. Every response carries a strict Content-Security-Policy (no script at all, styles
   from this server only, no framing), nosniff, no referrer, no caching.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from .auth import Auth, is_loopback

SESSION_COOKIE = "monitor_session"
CSRF_COOKIE = "monitor_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
PUBLIC_PATHS = frozenset(("/login", "/static/style.css", "/static/icon.svg"))
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on
    # its own form posts. Links to other sites still carry no referrer.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def host_name(host_header: str) -> str:
    """The name part of a Host header.

    >>> host_name("127.0.0.1:8765"), host_name("[::1]:80"), host_name("localhost")
    ('127.0.0.1', '::1', 'localhost')
    """
    return urlsplit(f"//{host_header}").hostname or ""


def _cross_site(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site not in (None, "same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host", "")


def _basic(header: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(header, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def identify(request: Request, auth: Auth) -> str | None:
    """Who is asking (a user name, "token"), or None."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and auth.check_token(credentials.strip()):
        return "token"
    if scheme.lower() == "basic" and (pair := _basic(credentials.strip())):
        return auth.login(*pair)
    return auth.session_user(request.cookies.get(SESSION_COOKIE))


def _wants_html(path: str) -> bool:
    return not (path.startswith("/api/") or path in ("/feed.atom", "/openapi.json"))


class Guard(BaseHTTPMiddleware):
    """See the module docstring."""

    def __init__(self, app: object, auth: Auth) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.auth = auth

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await self._decide(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if getattr(request.state, "new_csrf_cookie", None):
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_cookie,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    async def _decide(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not self.auth.enabled and not is_loopback(host_name(request.headers.get("host", ""))):
            return PlainTextResponse(
                "this dashboard answers only on a loopback address (127.0.0.1, localhost)",
                status_code=400,
            )
        if request.method not in SAFE_METHODS and _cross_site(request):
            return PlainTextResponse("cross-site request refused", status_code=403)
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie:
            cookie = secrets.token_hex(16)
            request.state.new_csrf_cookie = True
        request.state.csrf_cookie = cookie
        request.state.csrf_token = self.auth.csrf_token(cookie)
        user = identify(request, self.auth) if self.auth.enabled else None
        request.state.user = user
        if self.auth.enabled and user is None and request.url.path not in PUBLIC_PATHS:
            if _wants_html(request.url.path) and request.method in SAFE_METHODS:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            return PlainTextResponse(
                "authentication required",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="monitor", charset="UTF-8"'},
            )
        return await call_next(request)


async def require_csrf(request: Request) -> None:
    """A dependency of every state-changing route: the form field or header must carry
    the token signed for this browser's CSRF cookie. A client that authenticates with
    an ``Authorization`` header sends no cookie a third party could ride on, and needs
    no token."""
    auth: Auth = request.app.state.web.auth
    if auth.enabled and request.headers.get("authorization") and request.state.user:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not auth.csrf_valid(request.cookies.get(CSRF_COOKIE), token):
        raise HTTPException(
            status_code=403,
            detail="missing or invalid CSRF token: reload the page and submit the form again",
        )
