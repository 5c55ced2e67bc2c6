"""The command line of sites and locales: monitor check, monitor sites, monitor locales."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Result
from docsite import WATCHLIST, Docs, DocSite, serve


@pytest.fixture
def docs():
    with serve(DocSite()) as site:
        yield Docs(site)


@pytest.fixture
def watchlist(docs: Docs, tmp_path: Path) -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text(WATCHLIST.format(base=docs.site.base), encoding="utf-8")
    return path


def test_check_then_sites_and_locales(cli, watchlist: Path, docs: Docs) -> None:
    done: Result = cli("check", "--watchlist", str(watchlist))
    assert done.code == 0, done.err
    assert "site docs-zh: baseline, 7 page(s), listed 7" in done.out
    assert "locale_gap open: docs-zh-en" in done.out

    listed = cli("sites", "--format", "json").json()
    assert [s["site"] for s in listed] == ["docs-en", "docs-zh"]
    zh = listed[1]
    assert zh["pages"] == 7 and zh["statuses"] == {"active": 7}
    last = zh["last_discovery"]
    assert (last["complete"], last["baseline"], last["listed"], last["disallowed"]) == (
        True,
        True,
        7,
        1,
    )
    kinds = [s["kind"] for s in last["sources"]]
    assert kinds == ["robots.txt", "sitemap", "sitemap", "sitemap", "start page"]
    assert all(s["sha256"] for s in last["sources"])

    one = cli("sites", "docs-zh", "--format", "json").json()
    assert {p["watch"] for p in one["page_list"]} >= {"docs-zh.zh-face-attributes-html"}
    text = cli("sites").out
    assert "docs-zh" in text and "active 7" in text

    # Discovery's captures, manifests and events are evidence like any: they verify.
    verified = cli("verify")
    assert verified.code == 0 and "store OK" in verified.out, verified.out
    history = cli("history", "docs-zh")
    assert history.code == 0 and "sitemap_index.xml" not in history.err

    found = cli("locales", "docs-zh-en", "--watchlist", str(watchlist), "--format", "json")
    assert found.code == 0, found.err
    report = found.json()
    pair = next(p for p in report["pages"] if p["gaps"])
    assert pair["pair"] == docs.site.base + "/zh/face/attributes.html"
    zh_version, en_version = pair["versions"]
    assert zh_version["locale"] == "zh" and set(zh_version["groups"]) == {"uyghur"}
    assert zh_version["groups"]["uyghur"]["terms"] == {"维族": 2, "Uygur": 1}
    assert zh_version["groups"]["uyghur"]["since"]
    assert en_version["groups"] == {}
    assert pair["gaps"][0]["group"] == "uyghur" and pair["gaps"][0]["since"]
    (structure,) = pair["structure"]
    assert [(p["kind"], p["key"]) for p in structure["only_in_first"]] == [("row", "uygur")]
    assert structure["only_in_second"] == []

    text = cli("locales", "docs-zh-en", "--watchlist", str(watchlist)).out
    assert "GAP uyghur: in zh, not in en" in text
    assert "only in zh: row 'uygur' under 人脸属性识别 > 返回参数" in text


def test_unknown_names_are_usage_errors(cli, watchlist: Path) -> None:
    assert cli("locales", "nope", "--watchlist", str(watchlist)).code == 2
    assert cli("sites", "nope").code == 2
    missing = cli("check", "--watchlist", str(watchlist), "no-such-watch")
    assert missing.code == 2 and "no-such-watch" in missing.err


def _documented(title: str) -> list[str]:
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    match = re.search(rf"^## JSON: {title}\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
    assert match
    return re.findall(r"^\| `(\w+)` \|", match.group(1), re.M)


def test_json_shapes_match_docs_cli(cli, watchlist: Path) -> None:
    assert cli("check", "--watchlist", str(watchlist), "--format", "json").code == 0
    one = cli("sites", "docs-zh", "--format", "json").json()
    assert list(one) == _documented("sites")
    found = cli("locales", "docs-zh-en", "--watchlist", str(watchlist), "--format", "json").json()
    assert set(found["pages"][0]) == set(_documented("locales"))


@pytest.mark.slow
def test_monitor_run_discovers_a_site_and_stops_cleanly(watchlist: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from conftest import count_captures

    data = tmp_path / "run-data"
    command = [sys.executable, "-m", "monitor", "--data-dir", str(data), "run"]
    command += ["--watchlist", str(watchlist), "--startup-spread", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # robots.txt, the sitemap index, two child sitemaps and a start page, per site
        while time.monotonic() < deadline and count_captures(data) < 9:
            time.sleep(0.3)
        time.sleep(1)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "monitoring 0 watch(es) and 2 site(s)" in out
    assert "site docs-zh: baseline, 7 page(s), listed 7" in out
    assert "site docs-zh: 7 new page watch(es), first checks spread over their interval" in out
    assert "stopped cleanly" in out
