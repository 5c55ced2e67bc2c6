"""Messages in a destination's style: the one entry point for rendering (pure).

Three styles, chosen per destination (``targets.style_of``):

- ``email``: complete, as HTML (escaped; removed wording struck through, added wording
  green) that apprise sends with a plain-text alternative, UTF-8 throughout;
- ``full``: the same complete content as plain text (JSON/form/XML webhooks, which feed
  other tools);
- ``short``: chat services, at most ``SHORT_LIMIT`` characters.
"""

from __future__ import annotations

from collections.abc import Sequence

from .batch import BatchKind, batch_message
from .email import html_event, html_page
from .event import Event, Message, Style, Where
from .message import full_event_lines, short_event, title


def render_event(event: Event, where: Where, style: Style) -> Message:
    """The message for one event, in a destination's style."""
    if style == "short":
        return Message(title(event), short_event(event, where))
    if style == "full":
        return Message(title(event), "\n".join(full_event_lines(event, where)))
    return Message(title(event), html_page([html_event(event, where)]), "html")


def render_batch(events: Sequence[Event], where: Where, style: Style, kind: BatchKind) -> Message:
    """One message for several events (a digest, a storm summary, a catch-up)."""
    return batch_message(events, where, style, kind)
