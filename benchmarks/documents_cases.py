"""Benchmark cases for the other document types: a long PDF and a large OpenAPI document.

* ``pdf:zh:line``: a Chinese agreement of 20 pages (reportlab, CID font, outline,
  running footer), one sentence removed on page 3 so every later page's layout moves;
* ``openapi:en:api``: an OpenAPI 3 document of 200 operations (464 KB of JSON),
  with an enum value and a response property removed and a parameter renamed, and
  every mapping's keys re-ordered.

Timed like the HTML cases: both extractions, then compare (node by node for OpenAPI)
plus term flags.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.analysis.flag import flag_terms
from monitor.analysis.structured import compare_documents
from monitor.documents import EXTRACTORS

TERMS = ["维族", "维吾尔", "民族", "Uyghur", "uygur", "ethnicity"]


@dataclass(frozen=True)
class DocumentSample:
    extract_s: float
    compare_s: float
    removed: int
    added: int
    edits: int
    flags: int

    @property
    def total_s(self) -> float:
        return self.extract_s + self.compare_s


def _pdf(articles: int, drop_sentence: int | None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("b", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    heading = ParagraphStyle("h", parent=body, fontSize=16, leading=24, spaceBefore=8)
    story: list[Any] = []
    for n in range(1, articles + 1):
        if n % 25 == 1:
            story.append(Paragraph(f"第{n // 25 + 1}章 服务条款", heading))
        text = (
            f"第{n}条 服务提供方依据相关法律法规提供人脸检测、比对与属性分析功能，用户应当遵守"
            f"本协议第{n}条的约定，并对其上传的图片内容承担相应责任。"
        )
        if n == 60 and drop_sentence is None:
            text += "人脸属性包括是否是维族。"
        story.append(Paragraph(text, body))

    def footer(canvas: Any, _: Any) -> None:
        canvas.setFont("STSong-Light", 9)
        canvas.drawCentredString(A4[0] / 2, 30, f"第 {canvas.getPageNumber()} 页")

    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4).build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _openapi(operations: int, edited: bool) -> bytes:
    rng = random.Random(7)
    paths: dict[str, Any] = {}
    for n in range(operations):
        properties = {
            f"field{k}": {
                "type": rng.choice(["string", "integer"]),
                "description": f"字段{k}的说明。",
            }
            for k in range(20)
        }
        properties["ethnicity"] = {"type": "string", "enum": ["han", "uygur", "other"]}
        properties["uygur"] = {"type": "boolean", "description": "是否是维族。"}
        parameters = [
            {"name": f"Param{k}", "in": "query", "schema": {"type": "string"}} for k in range(10)
        ]
        if edited and n == operations // 2:
            properties["ethnicity"]["enum"].remove("uygur")
            del properties["uygur"]
            parameters[3]["name"] = "ParamThree"
        operation = {
            "operationId": f"Operation{n}",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": properties}}
                    },
                }
            },
        }
        paths[f"/v1/resource{n}"] = {"post": operation}
    spec = {"openapi": "3.0.3", "info": {"title": "Bench API", "version": "1"}, "paths": paths}
    if edited:
        spec = json.loads(json.dumps(spec), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    return json.dumps(spec, ensure_ascii=False, indent=1 if edited else None).encode()


CASES: dict[str, Callable[[], tuple[str, bytes, bytes]]] = {
    "pdf:zh:line": lambda: ("pdf", _pdf(400, None), _pdf(400, 60)),
    "openapi:en:api": lambda: ("json", _openapi(200, False), _openapi(200, True)),
}


def run_document_case(kind: str, old: bytes, new: bytes) -> DocumentSample:
    extract = EXTRACTORS[kind]
    content_old: bytes | str = old if kind == "pdf" else old.decode()
    content_new: bytes | str = new if kind == "pdf" else new.decode()
    started = time.perf_counter()
    before, after = extract(content_old), extract(content_new)
    extracted = time.perf_counter()
    result = compare_documents(before, after)
    flags = flag_terms(before.text, after.text, TERMS)
    finished = time.perf_counter()
    return DocumentSample(
        extracted - started,
        finished - extracted,
        len(result.removed),
        len(result.added),
        len(result.edits),
        len(flags),
    )
