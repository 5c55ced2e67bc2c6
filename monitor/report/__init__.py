"""Reports: change events as JSON (the stable contract), terminal text and HTML."""

from __future__ import annotations

from .html import change_html
from .json import CHANGE_FIELDS, change_to_json, contract_time
from .text import change_text, changes_text, location
from .view import ChangeView, load_change

__all__ = [
    "CHANGE_FIELDS",
    "ChangeView",
    "change_html",
    "change_text",
    "change_to_json",
    "changes_text",
    "contract_time",
    "load_change",
    "location",
]
