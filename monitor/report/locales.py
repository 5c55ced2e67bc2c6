"""``monitor locales`` as text: what the language versions of a document mention and
omit (the dict ``monitor locales --format json`` prints, from sites/counterparts.py)."""

from __future__ import annotations

from typing import Any


def locales_text(found: dict[str, Any]) -> str:
    mapping = f", {found['map'][0]} -> {found['map'][1]}" if found["map"] else ""
    groups = ", ".join(found["groups"]) or "none declared"
    lines = [f"counterparts {found['name']} ({found['kind']}{mapping}); term groups: {groups}"]
    quiet = 0
    for page in found["pages"]:
        differs = any(s["only_in_first"] or s["only_in_second"] for s in page["structure"])
        if found["kind"] == "sites" and not page["gaps"] and not differs:
            quiet += 1
            continue
        lines.append("")
        if page["pair"]:
            lines.append(f"page {page['pair']}")
        lines += [_version_text(v) for v in page["versions"]]
        locale = {v["watch"]: v["locale"] for v in page["versions"]}
        for gap in page["gaps"]:
            since = f" (since {gap['since']})" if gap.get("since") else ""
            present = ", ".join(locale[w] for w in gap["present_in"])
            absent = ", ".join(locale[w] for w in gap["absent_in"])
            lines.append(f"  GAP {gap['group']}: in {present}, not in {absent}{since}")
        for diff in page["structure"]:
            lines += _structure_text(diff, locale)
    if quiet:
        lines.append(f"\n{quiet} page pair(s) with no gap and no structural difference")
    if not found["pages"]:
        lines.append("no versions paired yet (run monitor check first)")
    return "\n".join(lines)


def _version_text(version: dict[str, Any]) -> str:
    if version["capture"] is None:
        return f"  {version['locale']:<6} {version['watch']}: never captured"
    groups = "; ".join(
        f"{group} ({', '.join(f'{t} {n}' for t, n in info['terms'].items())}) since {info['since']}"
        for group, info in version["groups"].items()
    )
    return f"  {version['locale']:<6} {version['watch']}: {groups or 'no term group'}"


def _structure_text(diff: dict[str, Any], locale: dict[str, str]) -> list[str]:
    first, second = locale[diff["first"]], locale[diff["second"]]
    lines = [f"  structure, {first} vs {second}: {diff['matched']} part(s) matched"]
    for side, label in (("only_in_first", first), ("only_in_second", second)):
        for part in diff[side]:
            where = " > ".join(part["path"]) or "(top)"
            lines.append(f"    only in {label}: {part['kind']} {part['key']!r} under {where}")
    for side, label in (
        ("identifiers_only_in_first", first),
        ("identifiers_only_in_second", second),
    ):
        if diff[side]:
            lines.append(f"    identifiers only in {label}: {', '.join(diff[side])}")
    return lines
