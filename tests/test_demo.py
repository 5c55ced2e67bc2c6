"""`monitor demo`: the offline replay of the 2020 case runs the real pipeline."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli


def test_demo_flags_the_silent_removal_and_writes_the_report(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = run_cli("--data-dir", str(data), "demo")
    assert result.code == 0, result.err
    out = result.out
    # Step 2: only the ignored timestamp changed, so no event.
    step2 = out.split("== 2.")[1].split("== 3.")[0]
    assert "no event" in step2 and "changed 0" in step2
    # Step 3: the silent edit is flagged, with its wording and context.
    assert "checked 2, changed 1, flagged 1, failed 0" in out
    assert "FLAG:     '维族' removed (2 -> 0)" in out
    assert "- 、是否是维族" in out
    assert "- uygur | Integer | 是否是维族，取值：0（否）、1（是）。" in out
    assert "table row under 人脸属性识别 > 返回参数" in out
    report = data / "change-2.html"  # change 1 is the locale gap of the first capture
    assert report.is_file() and "是否是" in report.read_text(encoding="utf-8")
    assert str(data.resolve()) in out
    # The demo's alert route delivered exactly one message about it, through apprise.
    alert = out.split("== How it alerted")[1]
    # (three flags: 维族, 是否是维族 and Uygur, watched through the demo's uyghur term group)
    assert "[monitor] FLAGGED 维族 removed and 2 more · aliyun-cloud-shield-face-api" in alert
    assert "、是否是维族" in alert
    # The term group is named with the flag, and the language gap shows from the first
    # capture (the English guide never listed the attribute) until the edit closes it.
    assert "FLAG:     '维族' removed (2 -> 0)  (term group uyghur)" in out
    step1 = out.split("== 1.")[1].split("== 2.")[0]
    assert "locale_gap opens: term group 'uyghur' in aliyun-cloud-shield-face-api, not in " in step1
    assert "only in zh: row 'uygur' under 人脸属性识别 > 返回参数" in step1
    assert "locale_gap closes" in out.split("== 3.")[1]
    gaps = run_cli("--data-dir", str(data), "changes", "--format", "json").json()
    assert [(g["kind"], g["locale_gap"]["state"]) for g in gaps if "locale_gap" in g] == [
        ("locale_gap", "open"),
        ("locale_gap", "closed"),
    ]
    # The English counterpart never listed the attribute: no event for it at all.
    assert (
        run_cli(
            "--data-dir", str(data), "changes", "--watch", "aliyun-cloud-shield-face-api-en"
        ).out.strip()
        == "no change events"
    )
