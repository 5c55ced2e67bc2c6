"""The schema of one ``notify:`` route as written (pydantic; routes.py has the rest).

Validation only: a check whose watchlist comes from the start-up cache never loads it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..model import EventKind
from . import defaults
from .fields import _check_name, _one_or_list
from .routes import (
    _check_digest,
    _check_env_name,
    _check_interval,
    _check_kind,
    _check_rate,
    _check_report_url,
    _check_retry,
    _check_route_url,
    _text,
)

Texts = Annotated[list[Annotated[str, AfterValidator(_text)]], BeforeValidator(_one_or_list)]


class RouteEntry(BaseModel):
    """One item of ``notify:`` as written (strict: no silent coercion)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, AfterValidator(_check_name)]
    urls: Annotated[
        list[Annotated[str, AfterValidator(_check_route_url)]], BeforeValidator(_one_or_list)
    ] = []
    urls_env: Annotated[str | None, AfterValidator(_check_env_name)] = None
    watches: Texts = []
    tags: Texts = []
    vendors: Texts = []
    kinds: Annotated[
        list[Annotated[str, AfterValidator(_check_kind)]], BeforeValidator(_one_or_list)
    ] = [EventKind.CHANGED.value]
    flagged_only: bool = False
    digest: Annotated[Any, AfterValidator(_check_digest)] = None
    wait: Annotated[Any, AfterValidator(_check_interval)] = None
    rate_limit: Annotated[Any, AfterValidator(_check_rate)] = None
    summarize_over: int = Field(defaults.NOTIFY_SUMMARIZE_OVER, ge=1, le=1000)
    retry: Annotated[Any, AfterValidator(_check_retry)] = None
    report_url: Annotated[str | None, AfterValidator(_check_report_url)] = None


ROUTE_KEYS = tuple(RouteEntry.model_fields)
