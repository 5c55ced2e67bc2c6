"""Decoding: header, BOM, meta, detection; undecodable bytes replaced, never a crash."""

from __future__ import annotations

import pytest

from monitor.documents.decode import decode_body

CHINESE = "人脸属性识别：是否是维族、是否戴眼镜、是否微笑。" * 20


@pytest.mark.parametrize(
    ("body", "content_type", "text_contains", "source"),
    [
        (CHINESE.encode("gbk"), "text/html; charset=gbk", "是否是维族", "http"),
        (CHINESE.encode("gb18030"), "text/html; charset=GB2312", "是否是维族", "http"),
        (
            b'<meta charset="gb18030">' + CHINESE.encode("gb18030"),
            "text/html",
            "是否是维族",
            "meta",
        ),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
            + "顔の属性を検出します".encode("shift_jis"),
            None,
            "顔の属性",
            "meta",
        ),
        (b"\xef\xbb\xbf" + CHINESE.encode("utf-8"), None, "是否是维族", "bom"),
        (b"\xff\xfe" + "维族".encode("utf-16-le"), None, "维族", "bom"),
        (CHINESE.encode("utf-8"), None, "是否是维族", "default"),
        (
            ("<html><body><p>" + CHINESE * 3 + "</p></body></html>").encode("gb18030"),
            None,
            "是否是维族",
            "detected",
        ),
    ],
)
def test_decoding_sources(
    body: bytes, content_type: str | None, text_contains: str, source: str
) -> None:
    decoded = decode_body(body, content_type)
    assert text_contains in decoded.text
    assert decoded.source == source


def test_invalid_bytes_are_replaced_not_fatal() -> None:
    decoded = decode_body(
        "是否".encode() + b"\xff\xfe\xfa" + "维族".encode(), "text/html; charset=utf-8"
    )
    assert decoded.replaced and decoded.text.startswith("是否") and decoded.text.endswith("维族")


def test_unknown_declared_charset_falls_back() -> None:
    decoded = decode_body(b"<meta charset='x-nonsense'>hello", None)
    assert "hello" in decoded.text
