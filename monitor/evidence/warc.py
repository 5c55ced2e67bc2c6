"""Standard web-archive export: WARC 1.1 (warcio) and WACZ (Webrecorder's package).

Per capture, in capture order:

* ``request``: the GET as sent (method, path, Host; other request headers were not
  recorded and are not invented);
* ``response`` (when the server answered): the status line and headers as recorded and
  the body exactly as stored. The stored body is after content-decoding, so
  ``Content-Encoding``, ``Transfer-Encoding`` and ``Content-Length`` are renamed
  ``X-Monitor-Orig-…`` and a true ``Content-Length`` is set (what pywb and
  ReplayWeb.page expect of a decoded payload); the headers exactly as received are in
  the metadata record. ``WARC-Payload-Digest`` is ``sha256:`` + base32 of the body's
  SHA-256, the stored hash in another alphabet;
* redirect hops (where recorded) as ``response`` records of their status with a
  ``Location`` to the next hop, marked reconstructed in the metadata;
* ``metadata``: JSON with the capture's chain position, chain hash, canonical record,
  outcome and the headers as recorded.

A ``warcinfo`` record opens the file: tool, version, chain format and the data
directory's public key. Records are written one at a time (one body in memory), so a
history of any size exports in bounded memory.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from io import BytesIO
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from .. import __version__
from . import chain

DECODED_HEADERS = ("content-encoding", "transfer-encoding", "content-length")


class Sha256WARCWriter(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests (it defaults to SHA-1)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def sha256_label(hex_digest: str) -> str:
    """A hex SHA-256 in the WARC ``sha256:BASE32`` form.

    >>> sha256_label("00" * 32)[:16]
    'sha256:AAAAAAAAA'
    """
    return "sha256:" + base64.b32encode(bytes.fromhex(hex_digest)).decode("ascii")


def warc_date(stored: str) -> str:
    """The store's UTC time (microseconds) as a WARC 1.1 date.

    >>> warc_date("2020-12-17T08:00:00.120000Z")
    '2020-12-17T08:00:00.120000Z'
    """
    return stored


@dataclass
class ExportStats:
    captures: int = 0
    responses: int = 0
    bytes: int = 0


def _status_line(status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"{status} {reason}"


def _response_headers(recorded: list[list[str]], body_size: int) -> list[tuple[str, str]]:
    headers = []
    for name, value in recorded:
        if name.lower() in DECODED_HEADERS:
            headers.append((f"X-Monitor-Orig-{name}", value))
        else:
            headers.append((name, value))
    headers.append(("Content-Length", str(body_size)))
    return headers


def _request_record(writer: WARCWriter, url: str, date: str) -> Any:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    http = StatusAndHeaders(
        f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True
    )
    return writer.create_warc_record(
        url,
        "request",
        payload=BytesIO(b""),
        length=0,
        http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )


def capture_records(
    writer: WARCWriter, row: Mapping[str, Any], body: bytes | None
) -> Iterator[tuple[str, Any]]:
    """The WARC records of one capture, in order: hops, request, response, metadata."""
    date = warc_date(row["fetched_at"])
    redirects = (
        json.loads(row["redirects"]) if isinstance(row["redirects"], str) else row["redirects"]
    )
    headers = json.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]
    final_url = row["final_url"] or row["url"]
    if row.get("archive_url"):
        # A copy imported from a public archive: what we fetched, when, is its raw replay.
        final_url = re.sub(r"/web/(\d{14})/", r"/web/\1id_/", row["archive_url"], count=1)
    hops = [(int(status), str(url)) for status, url in redirects]
    for index, (status, url) in enumerate(hops):
        target = hops[index + 1][1] if index + 1 < len(hops) else final_url
        http = StatusAndHeaders(
            _status_line(status),
            [("Location", target), ("Content-Length", "0")],
            protocol="HTTP/1.1",
        )
        yield (
            "hop",
            writer.create_warc_record(
                url,
                "response",
                payload=BytesIO(b""),
                length=0,
                http_headers=http,
                warc_headers_dict={"WARC-Date": date},
            ),
        )
    request = _request_record(writer, final_url, date)
    yield "request", request
    response = None
    if row["status"] is not None:
        payload = body if body is not None else b""
        http = StatusAndHeaders(
            _status_line(int(row["status"])),
            _response_headers(headers, len(payload)),
            protocol="HTTP/1.1",
        )
        response = writer.create_warc_record(
            final_url,
            "response",
            payload=BytesIO(payload),
            length=len(payload),
            http_headers=http,
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": request.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        yield "response", response
    seq = row.get("chain_seq")
    meta: dict[str, Any] = {
        "capture_id": row["id"],
        "watch": row["watch"],
        "outcome": row["outcome"],
        "error_class": row["error_class"],
        "error": row["error"],
        "body_sha256": row["body_sha256"],
        "text_sha256": row["text_sha256"],
        "headers_as_recorded": headers,
        "redirects_as_recorded": redirects,
        "reconstructed": ["request headers"] + (["redirect hop headers"] if hops else []),
        "chain": {
            "format": chain.FORMAT,
            "seq": seq,
            "hash": row.get("chain_hash"),
            "canonical": chain.canonical("capture", seq, row).decode("utf-8")
            if seq is not None
            else None,
        },
    }
    warc_headers = {"WARC-Date": date}
    if response is not None:
        warc_headers["WARC-Refers-To"] = response.rec_headers.get_header("WARC-Record-ID")
    yield (
        "metadata",
        writer.create_warc_record(
            final_url,
            "metadata",
            payload=BytesIO(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")),
            warc_content_type="application/json",
            warc_headers_dict=warc_headers,
        ),
    )


def write_warc(
    out: IO[bytes],
    rows: Iterable[Mapping[str, Any]],
    read_blob: Any,
    public_key: str,
    filename: str = "monitor.warc.gz",
    on_page: Callable[[dict[str, Any]], None] | None = None,
) -> ExportStats:
    """Write a gzipped WARC 1.1 of the given capture rows to ``out`` (a binary stream)."""
    writer = Sha256WARCWriter(out, gzip=True, warc_version="WARC/1.1")
    info = {
        "software": f"monitor {__version__}",
        "format": "WARC File Format 1.1",
        "description": "Captures exported from a monitor data directory",
        "monitor-chain-format": chain.FORMAT,
        "monitor-public-key": f"ed25519:{public_key}",
    }
    writer.write_record(writer.create_warcinfo_record(filename, info))
    stats = ExportStats()
    for row in rows:
        body = read_blob(row["body_sha256"]) if row["body_sha256"] and row["status"] else None
        for kind, record in capture_records(writer, row, body):
            writer.write_record(record)
            if kind == "response":
                stats.responses += 1
                stats.bytes += len(body or b"")
                if on_page is not None:  # the WACZ's pages.jsonl, written as we go
                    on_page(
                        {
                            "url": row["final_url"] or row["url"],
                            "ts": row["fetched_at"],
                            "title": row["watch"],
                        }
                    )
        stats.captures += 1
    return stats
