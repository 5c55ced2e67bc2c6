"""Watched terms: counts before/after across case, width and Chinese variants."""

from __future__ import annotations

import pytest

from monitor.analysis.flag import Flag, count_terms, find_terms, flag_terms


@pytest.mark.parametrize(
    ("before", "after", "terms", "flags"),
    [
        ("是否是维族", "", ["维族"], [Flag("维族", "removed", 1, 0)]),
        ("是否是維族", "无", ["维族"], [Flag("维族", "removed", 1, 0)]),  # traditional page
        ("Uyghur and UIGHUR", "Uyghur", ["uighur", "uyghur"], [Flag("uighur", "removed", 1, 0)]),
        ("", "ｕｙｇｈｕｒ", ["Uyghur"], [Flag("Uyghur", "added", 0, 1)]),
        ("维族 维族", "维族", ["维族"], [Flag("维族", "removed", 2, 1)]),
        ("维族", "維族", ["维族"], []),  # only the script changed: same count
        ("ethnicity", "ethnicity", ["ethnicity"], []),
        # Latin terms start a word: "trace" is not "race", "races" is.
        ("trace the race", "trace the embrace", ["race"], [Flag("race", "removed", 1, 0)]),
        ("races", "", ["race"], [Flag("race", "removed", 1, 0)]),
        ("维族Uyghur", "维族", ["uyghur"], [Flag("uyghur", "removed", 1, 0)]),
    ],
)
def test_flags(before: str, after: str, terms: list[str], flags: list[Flag]) -> None:
    assert flag_terms(before, after, terms) == flags


def test_substring_match_in_chinese_without_spaces() -> None:
    assert count_terms("返回是否是维族以及维吾尔族信息", ["维族", "维吾尔"]) == {
        "维族": 1,
        "维吾尔": 1,
    }


def test_find_terms_maps_back_to_original_text() -> None:
    text = "属性：是否是維族；ＵＹＧＨＵＲ"
    spans = find_terms(text, ["维族", "uyghur"])
    assert [text[a:b] for a, b in spans] == ["維族", "ＵＹＧＨＵＲ"]


def test_fast_nfkc_agrees_with_unicodedata() -> None:
    """nfkc() takes a shortcut on full-width forms; on random mixed text (combining
    marks, half-width katakana and voicing marks, ligatures, Hangul jamo, CJK) it must
    give exactly what unicodedata gives."""
    import random
    import unicodedata

    from monitor.documents.textnorm import nfkc

    alphabet = (
        "aZ09 维族是否，。：（）、「」"
        "ＡＺａｚ０９！～　"
        "\u0301\u0308\u3099\u309a"  # combining marks, kana voicing
        "ｶﾞｷﾟﾊﾟ\uff9e\uff9f"  # half-width katakana and voicing marks
        "ﬁ²㎏①\u1100\u1161\u11a8Å"
    )
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)


def test_line_shortcut_gives_the_same_flags_as_full_counts() -> None:
    """flag_terms folds only the lines that differ when it can; on random multi-line
    texts (traditional and simplified forms, Latin word starts, repeated lines) its
    flags must equal those from counting the whole texts."""
    import random

    from monitor.analysis.flag import REMOVED, Flag, count_terms, flag_terms

    terms = ["维族", "race", "民族", "ethnic group"]
    pieces = ["維族", "维", "族", "race", "trace", "民", "族群", "ethnic", " group", "x", "、", ""]
    rng = random.Random(11)

    def line() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))

    for _ in range(3000):
        old = [line() for _ in range(rng.randint(0, 6))]
        new = list(old)
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(len(new) + 1)
            if rng.random() < 0.5 and new:
                new[min(at, len(new) - 1)] = line()
            else:
                new.insert(at, line())
        old_text, new_text = "\n".join(old), "\n".join(new)
        before, after = count_terms(old_text, terms), count_terms(new_text, terms)
        expected = [
            Flag(t, REMOVED if after[t] < before[t] else "added", before[t], after[t])
            for t in before
            if after[t] != before[t]
        ]
        assert flag_terms(old_text, new_text, terms) == expected, (old, new)
