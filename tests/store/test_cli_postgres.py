"""The command line against PostgreSQL + S3: migrate a data directory, then every reading
command gives what it gave on the directory, and checks go on in the new store."""

from __future__ import annotations

from pathlib import Path

from conftest import FAST_SETTINGS, Site, run_cli, write_watchlist

PAGE = "<html><body><main><h1>人脸识别</h1><p>返回：年龄、性别{extra}。</p></main></body></html>"


def test_migrate_then_every_command_works_on_postgres(
    tmp_path: Path, site: Site, cli, pg_url: str, s3_url: str, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    watchlist = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: face\n    url: {site.url('/face')}\n    terms: [维族]\n"
        + FAST_SETTINGS,
    )
    site.set("/face", PAGE.format(extra="、是否是维族"))
    assert cli("check", "--watchlist", str(watchlist)).code == 0
    site.set("/face", PAGE.format(extra=""))
    assert cli("check", "--watchlist", str(watchlist)).code == 0
    on_dir = cli("changes", "--format", "json").json()
    assert len(on_dir) == 1 and on_dir[0]["removed"] == ["、是否是维族"]

    moved = run_cli("--blobs", s3_url, "migrate", "--from", str(cli.data_dir), "--to", pg_url)
    assert moved.code == 0, moved.err
    assert "copied 2 capture(s), 1 change(s)" in moved.out and "copy verified" in moved.out
    again = run_cli("--blobs", s3_url, "migrate", "--from", str(cli.data_dir), "--to", pg_url)
    assert again.code == 0 and "copied 0 capture(s), 0 change(s)" in again.out

    # The signing key comes along with the evidence: checkpoints go on with the same key.
    monkeypatch.setenv("MONITOR_KEY_DIR", str(cli.data_dir / "keys"))

    def pg(*args: str):  # type: ignore[no-untyped-def]
        return run_cli("--store", pg_url, "--blobs", s3_url, *args)

    assert pg("changes", "--format", "json").json() == on_dir
    change_id = str(on_dir[0]["id"])
    assert pg("diff", change_id).out == cli("diff", change_id).out
    assert pg("history", "face").out == cli("history", "face").out
    assert pg("show", "face").out == cli("show", "face").out
    verified = pg("verify", "--details")
    assert verified.code == 0 and "store OK" in verified.out, verified.out + verified.err
    head = cli("verify", "--details").out.split("chain: ")[1].splitlines()[0]
    assert f"chain: {head}" in verified.out  # the same chain, record for record

    site.set("/face", PAGE.format(extra="、是否是汉族"))
    checked = pg("check", "--watchlist", str(watchlist))
    assert checked.code == 0 and "changed" in checked.out
    events = pg("changes", "--format", "json").json()
    assert [e["added"] for e in events] == [[], ["、是否是汉族"]]
    assert events[1]["id"] == on_dir[0]["id"] + 1  # ids go on after the copied ones
    verified = pg("verify", "--details")  # the chain goes on where the directory's ended
    assert verified.code == 0 and "store OK" in verified.out, verified.out


def test_scale_commands_need_a_postgres_store(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("worker")
    assert result.code == 2 and "needs a PostgreSQL store" in result.err
    result = run_cli("--store", "postgresql://127.0.0.1:1/x", "verify")
    assert result.code == 2 and "--blobs / MONITOR_BLOBS" in result.err
