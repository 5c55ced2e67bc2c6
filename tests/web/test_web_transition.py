"""The dashboard's diff reads a text of an older extractor again (documents/current.py)."""

from __future__ import annotations

from conftest import FAST_SETTINGS, first_generation, write_watchlist

from monitor.store import open_store
from monitor.web.views import diff_view

PAGE = "<main><h2>人脸属性</h2>支持识别：是否戴眼镜、是否是维族<p>其他</p></main>"


def test_the_diff_of_two_captures_shows_only_the_pages_edit(tmp_path, site, cli, monkeypatch):
    watch = f"watches:\n  - name: face\n    url: {site.url('/face')}\n    select: main\n"
    path = write_watchlist(tmp_path / "watch.yaml", watch + FAST_SETTINGS)
    with first_generation(monkeypatch):  # the first capture, extracted by generation 1
        site.set("/face", PAGE)
        assert cli("check", "--watchlist", str(path)).code == 0
    site.set("/face", PAGE.replace("、是否是维族", ""))
    assert cli("check", "--watchlist", str(path)).code == 0
    with open_store(cli.data_dir) as store:
        view = diff_view(store, "face", 1, 2)
    assert [f["text"] for f in view["detail"]["removed"]] == ["、是否是维族"]
