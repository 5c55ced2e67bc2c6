"""Comparison: exact removed/added wording, per word or per CJK character."""

from __future__ import annotations

import pytest

from monitor.analysis.compare import compare, tokenize
from monitor.documents.document import Block, Document
from monitor.documents.html import extract_html


def doc(*texts: str, kind: str = "text", path: tuple[str, ...] = ()) -> Document:
    return Document(blocks=tuple(Block(kind, t, path) for t in texts))


def words(before: Document, after: Document) -> tuple[list[str], list[str]]:
    result = compare(before, after)
    return [f.text for f in result.removed], [f.text for f in result.added]


@pytest.mark.parametrize(
    ("before", "after", "removed", "added"),
    [
        # English: whole words, never half a word
        (
            "Returns the age and gender of each face.",
            "Returns the age of each face.",
            ["and gender"],
            [],
        ),
        ("Detects facial attributes.", "Detects facial landmarks.", ["attributes"], ["landmarks"]),
        (
            "Use the recognition model.",
            "Use the recognizer model.",
            ["recognition"],
            ["recognizer"],
        ),
        ("Supported in v1.2.3 only.", "Supported in v1.2.4 only.", ["v1.2.3"], ["v1.2.4"]),
        # Chinese: per character
        ("是否戴眼镜、是否微笑、是否是维族", "是否戴眼镜、是否微笑", ["、是否是维族"], []),
        ("返回人脸的性别和年龄。", "返回人脸的年龄。", ["性别和"], []),
        ("支持检测维吾尔族人脸", "支持检测人脸", ["维吾尔族"], []),
        # Japanese: per character
        ("顔の属性を検出します。", "顔の特徴を検出します。", ["属性"], ["特徴"]),
        # Width variants are not changes
        ("ＡＰＩ（１２３）", "API(123)", [], []),
        ("ﾃﾞｰﾀを取得", "データを取得", [], []),  # half-width katakana with voiced mark
        # Whitespace-only differences are not changes
        ("a b", "a  b", [], []),
    ],
)
def test_wording(before: str, after: str, removed: list[str], added: list[str]) -> None:
    assert words(doc(before), doc(after)) == (removed, added)


def test_removed_row_is_reported_as_the_row() -> None:
    before = doc("age | int", "uygur | 是否是维族", "smile | 是否微笑", kind="row")
    after = doc("age | int", "smile | 是否微笑", kind="row")
    assert words(before, after) == (["uygur | 是否是维族"], [])


def test_changed_cell_is_reported_as_the_cell_wording() -> None:
    before = doc("age | int | Age of the face", kind="row")
    after = doc("age | float | Age of the face", kind="row")
    assert words(before, after) == (["int"], ["float"])


def test_moved_paragraph_is_a_move_not_a_change() -> None:
    before = doc("Intro.", "Paragraph that moves.", "Middle.", "End.")
    after = doc("Intro.", "Middle.", "End.", "Paragraph that moves.")
    result = compare(before, after)
    assert (result.removed, result.added) == ((), ())
    assert [m.text for m in result.moved] == ["Paragraph that moves."]
    assert not result.changed  # same section: nothing to report


def test_move_to_another_section_is_a_change() -> None:
    before = Document(
        blocks=(
            Block("text", "Uyghur detection.", ("Supported",)),
            Block("text", "x", ("Deprecated",)),
        )
    )
    after = Document(
        blocks=(
            Block("text", "x", ("Deprecated",)),
            Block("text", "Uyghur detection.", ("Deprecated",)),
        )
    )
    result = compare(before, after)
    assert result.changed and not result.removed and not result.added


def test_resorted_table_with_an_edited_row() -> None:
    before = doc("age | int", "uygur | 是否是维族", "smile | 是否微笑", kind="row")
    after = doc("smile | 是否微笑", "age | integer", kind="row")
    assert words(before, after) == (["int", "uygur | 是否是维族"], ["integer"])


def test_fragments_carry_location_and_context() -> None:
    before = extract_html(
        "<h1>人脸属性</h1><h2>返回参数</h2><p>是否戴眼镜、是否微笑、是否是维族</p>"
    )
    after = extract_html("<h1>人脸属性</h1><h2>返回参数</h2><p>是否戴眼镜、是否微笑</p>")
    (fragment,) = compare(before, after).removed
    assert fragment.path == ("人脸属性", "返回参数")
    assert fragment.before == "是否戴眼镜、是否微笑"
    assert fragment.after == ""


def test_identical_documents_compare_equal_quickly() -> None:
    document = doc(*[f"Paragraph {i}." for i in range(5000)])
    result = compare(document, document)
    assert not result.changed and not result.hunks


def test_exhausted_budget_falls_back_to_whole_regions() -> None:
    before = doc(*[f"alpha beta {i} gamma" for i in range(300)])
    after = doc(*[f"alpha delta {i} gamma" for i in range(300)])
    result = compare(before, after, budget_seconds=0.0)
    assert result.fallback
    removed = " ".join(f.text for f in result.removed)
    assert "beta" in removed and "delta" not in removed  # coarse but correct


@pytest.mark.parametrize(
    ("before", "after", "gone"),
    [
        # One block of more distinct words than the encoder has characters.
        (
            doc(" ".join(f"id{i}" for i in range(40))),
            doc(" ".join(f"id{i}" for i in range(1, 40))),
            "id0",
        ),
        # More distinct blocks in one gap (no block kept) than it has characters.
        (doc(*[f"row {i}" for i in range(40)]), doc(*[f"line {i}" for i in range(40)]), "row"),
    ],
    ids=["tokens", "blocks"],
)
def test_more_distinct_words_than_characters_fall_back_to_whole_regions(
    before: Document, after: Document, gone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The encoder maps each distinct word (block) to one character; past its last one
    # (212,000 and more in real use, 16 here) the comparison raised StopIteration and
    # the check failed, every time, on a page that had changed.
    monkeypatch.setattr("monitor.analysis.compare._Encoder._RANGES", ((0x4E00, 0x4E0F),))
    result = compare(before, after)
    assert result.fallback
    removed = " ".join(f.text for f in result.removed)
    assert gone in removed  # coarse, but nothing removed is lost


def test_tokenizer_never_splits_words_and_splits_cjk() -> None:
    assert tokenize("face-detection API") == ["face-detection", " ", "API"]
    assert tokenize("维族") == ["维", "族"]
    assert tokenize("ｶﾀｶﾅ") == ["ｶ", "ﾀ", "ｶ", "ﾅ"]
