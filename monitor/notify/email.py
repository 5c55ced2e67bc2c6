"""E-mail bodies: HTML with every value escaped (apprise adds the plain-text part and
sends both as UTF-8). Removed wording is struck through in red, added wording green.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from .event import Event, Where, Wording, clean, flag_text, when
from .message import attention_lines, complete_wording, fragment_text, headline, place

CSS = {
    "body": "font-family:sans-serif;font-size:15px;line-height:1.5;color:#222",
    "flag": "background:#fdd;border-left:4px solid #c00;padding:6px 10px;font-weight:bold",
    "head": "background:#eef;border-left:4px solid #447;padding:6px 10px;font-weight:bold",
    "removed": "background:#fee;text-decoration:line-through;color:#900",
    "added": "background:#efe;color:#060",
    "mono": "font-family:monospace;font-size:13px;word-break:break-all",
    "muted": "color:#666;font-size:13px",
}


def e(text: object) -> str:
    return html.escape(clean(str(text)), quote=True)


def _item(wording: Wording, style: str) -> str:
    text = e(fragment_text(wording))
    context = f" · …{e(wording.before)}<b>{text}</b>{e(wording.after)}…"
    return (
        f'<li><span style="{CSS[style]}">{text}</span>'
        f'<br><span style="{CSS["muted"]}">{e(place(wording))}'
        + (context if wording.before or wording.after else "")
        + "</span></li>"
    )


def html_event(event: Event, where: Where) -> str:
    banner = "flag" if event.flags or event.needs_attention else "head"
    rows = [
        ("Watch", e(event.watch)),
        ("Vendor", e(event.vendor or "—")),
        ("URL", f'<a href="{e(event.url)}">{e(event.url)}</a>'),
        ("Event", f"{e(event.kind)}, change #{event.id}"),
        ("Captured", e(when(event.detected_at))),
    ]
    if event.previous_at:
        rows.append(("Compared with", f"the capture of {e(when(event.previous_at))}"))
    rows += [("Flag", e(flag_text(f))) for f in event.flags]
    rows += [(line.split(": ", 1)[0], e(line.split(": ", 1)[1])) for line in attention_lines(event)]
    # One "Label: value" line each (not a table), so that the plain-text part apprise
    # derives from this HTML reads the same.
    facts = "<br>".join(f'<span style="{CSS["muted"]}">{k}:</span> {v}' for k, v in rows)
    parts = [
        f'<div style="{CSS[banner]}">{e(headline(event))}</div>',
        f"<p>{facts}</p>",
    ]
    removed, added, left_out = complete_wording(event)
    for label, style, fragments, total in (
        ("Removed wording", "removed", removed, len(event.removed)),
        ("Added wording", "added", added, len(event.added)),
    ):
        if not total:
            continue
        items = "".join(_item(w, style) for w in fragments)
        parts.append(f"<h3>{label} ({total})</h3><ul>{items}</ul>")
    if left_out:
        parts.append(f"<p>{e(left_out)}</p>")
    command = where.command("diff", str(event.id), "--html", f"change-{event.id}.html")
    link = where.link(event)
    parts.append(
        f'<p style="{CSS["muted"]}">SHA-256 of the raw pages as fetched:<br>'
        f'before <span style="{CSS["mono"]}">{e(event.from_snapshot or "—")}</span><br>'
        f'after <span style="{CSS["mono"]}">{e(event.to_snapshot or "—")}</span></p>'
        f'<p>Full report: <code style="{CSS["mono"]}">{e(command)}</code>'
        + (f'<br><a href="{e(link)}">{e(link)}</a>' if link else "")
        + "</p>"
    )
    return "\n".join(parts)


def html_page(sections: Sequence[str]) -> str:
    joined = "\n<hr>\n".join(sections)
    return f'<div style="{CSS["body"]}">\n{joined}\n</div>'
