"""The dashboard application: FastAPI (for the JSON API's OpenAPI schema, made from the
same pydantic models that validate its responses) with server-rendered Jinja2 pages.

    app = create_app("monitor-data")          # then: uvicorn.run(app, host="127.0.0.1")

Pages work without JavaScript (there is none: the Content-Security-Policy forbids
scripts outright); styles and everything else are served from here, nothing from
another host. Templates autoescape, so wording from monitored pages is always text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..errors import ConfigError, MonitorError, NotFoundError
from ..safe import html_text, json_text
from ..search import SearchIndex, open_index
from ..store import StoreSpec, open_store
from ..store.base import BrowsableStore
from .auth import Auth
from .guard import Guard, _wants_html

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 2.0  # the longest a search request indexes before it answers
INDEX_POLL_SECONDS = 30.0  # how often the server looks for captures other processes made


@dataclass
class WebState:
    """What every request shares: the store, the search index and the access rules."""

    store: BrowsableStore
    auth: Auth
    templates: Jinja2Templates
    index: SearchIndex | None = None
    search_lock: threading.Lock = field(default_factory=threading.Lock)

    def current_index(self) -> SearchIndex | None:
        """The index, brought up to date first: checks leave indexing to its readers.

        Within a budget, so that a request never waits long; the background indexer
        does the rest and the page says how far the index reaches. Call with
        ``search_lock`` held.
        """
        if self.index is not None and getattr(self.store, "writable", True):
            try:
                self.index.catch_up(budget_seconds=CATCH_UP_SECONDS)
            except Exception as error:  # derived data: search what is indexed
                log.warning("search index not brought up to date (%s)", error)
        return self.index

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
        self.store.close()


class SafeJSONResponse(JSONResponse):
    """JSON with C1 and bidi controls escaped and credentials in URLs redacted."""

    def render(self, content: Any) -> bytes:
        return json_text(content, indent=None, separators=(",", ":")).encode("utf-8")


def _templates() -> Jinja2Templates:
    environment = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        finalize=html_text,  # every value shown: credentials redacted, controls visible
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=environment)


def create_app(
    location: str | StoreSpec, auth: Auth | None = None, *, create: bool = False
) -> FastAPI:
    """The dashboard over the store at ``location`` (opened now, closed at shutdown).

    A directory without a store is refused (``create`` makes an empty one: tests).
    """
    auth = auth or Auth()
    # A data directory or a PostgreSQL store: both can be browsed, searched and take
    # triage marks.
    store = cast(BrowsableStore, open_store(location, create=create))
    state = WebState(store=store, auth=auth, templates=_templates())
    try:
        state.index = open_index(store)
    except MonitorError:
        state.index = None  # search says so on its page

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state.index is None or not getattr(store, "writable", True):
            yield
        else:  # 'monitor check' from cron records; the server indexes what it finds
            from ..search.background import BackgroundIndexer

            with BackgroundIndexer(store, idle_seconds=INDEX_POLL_SECONDS) as indexer:
                indexer.poke()
                yield
        state.close()

    app = FastAPI(
        title="monitor",
        version=__version__,
        summary="Change events, captures and full-text search of monitored documentation.",
        docs_url=None,  # Swagger UI loads scripts from a CDN: the schema is enough
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    app.state.web = state
    app.add_middleware(Guard, auth=auth)
    app.mount("/static", StaticFiles(packages=[("monitor.web", "static")]), name="static")

    from . import api, pages, watch_pages

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(watch_pages.router)
    _error_handlers(app, state)
    return app


def _error_handlers(app: FastAPI, state: WebState) -> None:
    def answer(request: Request, status: int, message: str) -> Any:
        if _wants_html(request.url.path):
            return state.templates.TemplateResponse(
                request, "error.html", {"status": status, "message": message}, status_code=status
            )
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, error: NotFoundError) -> Any:
        return answer(request, 404, str(error))

    @app.exception_handler(ConfigError)
    async def bad_request(request: Request, error: ConfigError) -> Any:
        return answer(request, 400, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Any:
        if _wants_html(request.url.path):
            return answer(request, error.status_code, str(error.detail))
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Any:
        if _wants_html(request.url.path):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
            )
            return answer(request, 400, f"invalid request: {problems}")
        return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    """Render a page with what every template needs (user, CSRF token)."""
    state: WebState = request.app.state.web
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("auth_enabled", state.auth.enabled)
    context.setdefault("csrf_token", request.state.csrf_token)
    return state.templates.TemplateResponse(request, template, context)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
