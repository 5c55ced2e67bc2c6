"""Locale comparison: term groups, gaps and their transitions, structural differences."""

from __future__ import annotations

import pytest

from monitor.analysis.locales import (
    Gap,
    TermGroups,
    find_gaps,
    gap_changes,
    identifiers,
    map_url,
    pair_pages,
    structural_difference,
)
from monitor.documents.document import Block, Document

GROUPS = TermGroups(
    {"uyghur": ("维族", "维吾尔", "Uyghur", "Uighur", "Uygur"), "race": ("种族", "race", "人种")}
)

PRESENCE = [
    # text, groups present with their term counts
    ("支持识别：性别、是否是维族", {"uyghur": {"维族": 1}}),
    ("是否是維族（繁体）", {"uyghur": {"维族": 1}}),
    ("ＵＹＧＨＵＲ and Uighur", {"uyghur": {"Uyghur": 1, "Uighur": 1}}),
    ("uygur | Integer", {"uyghur": {"Uygur": 1}}),
    ("trace, embrace", {}),
    ("race and 人种", {"race": {"race": 1, "人种": 1}}),
    ("", {}),
]


@pytest.mark.parametrize(("text", "expected"), PRESENCE)
def test_groups_present(text, expected):
    assert GROUPS.present(text) == expected


def test_group_of_folds_the_term():
    assert GROUPS.group_of("維吾爾") == "uyghur"
    assert GROUPS.group_of("gender") is None


GAPS = [
    # presence per version -> gaps as dicts
    (
        {"zh": {"uyghur": 1}, "en": {}},
        [{"group": "uyghur", "present_in": ["zh"], "absent_in": ["en"]}],
    ),
    ({"zh": {"uyghur": 1}, "en": {"uyghur": 2}}, []),
    ({"zh": {}, "en": {}}, []),
    ({"zh": {"uyghur": 1}}, []),  # en never captured: no claim of absence
    (
        {"zh": {"uyghur": 1, "race": 1}, "en": {"race": 1}, "ja": {}},
        [
            {"group": "uyghur", "present_in": ["zh"], "absent_in": ["en", "ja"]},
            {"group": "race", "present_in": ["zh", "en"], "absent_in": ["ja"]},
        ],
    ),
]


@pytest.mark.parametrize(("presence", "expected"), GAPS)
def test_find_gaps(presence, expected):
    gaps = find_gaps(presence, ["zh", "en", "ja"])
    assert [g.to_dict() for g in gaps.values()] == expected


OPEN = Gap("uyghur", ("zh",), ("en",))
TRANSITIONS = [
    ({}, {"uyghur": OPEN}, [("open", ["zh"])]),
    ({"uyghur": OPEN}, {}, [("closed", ["zh"])]),
    ({"uyghur": OPEN}, {"uyghur": OPEN}, []),
    (
        {"uyghur": OPEN},
        {"uyghur": Gap("uyghur", ("zh", "ja"), ("en",))},
        [("changed", ["zh", "ja"])],
    ),
]


@pytest.mark.parametrize(("before", "after", "expected"), TRANSITIONS)
def test_gap_changes(before, after, expected):
    assert [(c.state, list(c.gap.present_in)) for c in gap_changes(before, after)] == expected


IDENTIFIERS = [
    ("DetectFace 人脸检测", ("DetectFace",)),
    ("face_field=age,gender", ("face_field",)),
    ("POST /green/face/detect", ("/green/face/detect",)),
    ("returnFaceAttributes and Response parameters", ("returnFaceAttributes",)),
    ("requestId 8D6A4F1B-3C2E-4F4B", ("requestId",)),
    ("请求参数", ()),
]


@pytest.mark.parametrize(("text", "expected"), IDENTIFIERS)
def test_identifiers(text, expected):
    assert identifiers(text) == expected


def _doc(*blocks):
    return Document("", tuple(Block(kind, text, tuple(path)) for kind, text, path in blocks))


ZH = _doc(
    ("heading", "请求参数", ["请求参数"]),
    ("row", "名称 | 类型 | 描述", ["请求参数"]),
    ("row", "Action | String | 系统规定参数", ["请求参数"]),
    ("heading", "返回参数", ["返回参数"]),
    ("row", "age | Integer | 年龄", ["返回参数"]),
    ("row", "uygur | Integer | 是否是维族", ["返回参数"]),
    ("heading", "DetectFaceAttributes", ["DetectFaceAttributes"]),
    ("code", '{"uygur": 0, "age": 30}', ["DetectFaceAttributes"]),
)
EN = _doc(
    ("heading", "Request parameters", ["Request parameters"]),
    ("row", "Parameter | Type | Description", ["Request parameters"]),
    ("row", "Action | String | The operation", ["Request parameters"]),
    ("heading", "Response parameters", ["Response parameters"]),
    ("row", "age | Integer | The age", ["Response parameters"]),
    ("row", "ethnicity | String | Estimated ethnicity", ["Response parameters"]),
    ("code", '{"age": 30, "faceRectangle": {}}', ["Response parameters"]),
)


def test_structural_difference_matches_by_identifiers_only():
    d = structural_difference(ZH, EN)
    assert [(p.kind, p.key, p.path) for p in d.only_in_first] == [
        ("row", "uygur", ("返回参数",)),
        ("section", "DetectFaceAttributes", ("DetectFaceAttributes",)),
    ]
    assert [(p.kind, p.key) for p in d.only_in_second] == [("row", "ethnicity")]
    assert d.identifiers_only_in_first == ()
    assert d.identifiers_only_in_second == ("faceRectangle",)
    assert d.matched == 2  # Action and age
    assert d.unidentified == (3, 3)  # two plain headings and a header row on each side
    assert d.differs


def test_identical_versions_differ_in_nothing():
    assert not structural_difference(ZH, ZH).differs


def test_url_mapping():
    assert map_url("https://x/zh/a/zh/b", "/zh/", "/en/") == "https://x/en/a/zh/b"
    assert pair_pages(["https://x/zh/a", "https://x/zh/b"], ["https://x/en/b"], "/zh/", "/en/") == [
        ("https://x/zh/b", "https://x/en/b")
    ]
