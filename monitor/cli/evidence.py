"""Evidence commands: ``key``, ``checkpoint``, ``export``, ``bundle`` (docs/evidence.md)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from .common import Context, echo_json, format_option, parse_time_option, say

_FORMAT = format_option()


@click.command()
@_FORMAT
@click.pass_obj
def key(obj: Context, output_format: str) -> None:
    """Print the data directory's public signing key.

    Created on first use. Publish its fingerprint: it is how others know a checkpoint
    or bundle is yours. The private key stays in DATA_DIR/keys (or $MONITOR_KEY_DIR),
    owner-only, and is never printed.

    \b
    Examples:
      monitor key
      monitor key --format json
    """
    from ..evidence.keys import fingerprint
    from ..evidence.service import key_ring

    with obj.store(read_only=True) as store:
        ring = key_ring(store)
        public = ring.public_key_b64()
        info = {
            "algorithm": "ed25519",
            "public_key": public,
            "fingerprint": fingerprint(public),
            "public_key_pem": ring.public_key_pem(),
            "wacz_public_key": ring.wacz_public_spki_b64(),
        }
    if output_format == "json":
        echo_json(info)
        return
    say(f"ed25519 {public}")
    say(f"fingerprint {info['fingerprint']}")
    say(info["public_key_pem"].rstrip())


@click.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    help="Write the checkpoint to this file, to publish or keep elsewhere.",
)
@click.option("--tsa", "authority", help="Also timestamp it at this RFC 3161 authority URL.")
@_FORMAT
@click.pass_obj
def checkpoint(
    obj: Context, out_path: str | None, authority: str | None, output_format: str
) -> None:
    """Sign a checkpoint of the evidence now; export it.

    With --out, the checkpoint is also written to a file, to publish or keep elsewhere.

    Anyone who keeps an exported checkpoint can later detect any edit, deletion,
    insertion or truncation of the records it covers: monitor verify --checkpoint FILE.

    \b
    Examples:
      monitor checkpoint --out checkpoint-2026-12-01.json
      monitor checkpoint --tsa https://freetsa.org/tsr --format json
    """
    from ..errors import ConfigError
    from ..evidence.service import make_checkpoint

    with obj.store() as store:
        point = make_checkpoint(store, authority=authority)
    if point is None:
        raise ConfigError("the evidence chain is empty: nothing to sign yet (run a check)")
    exported = point.to_export()
    if out_path:
        Path(out_path).write_text(json.dumps(exported, indent=2) + "\n", encoding="utf-8")
    if output_format == "json":
        echo_json({"seq": point.seq, "head": point.head, "at": point.at, **exported})
        return
    stamp = f", timestamped by {point.authority}" if point.timestamp else ""
    say(f"checkpoint: {point.seq} records, head {point.head}, signed {point.at}{stamp}")
    if out_path:
        say(f"written to {Path(out_path).resolve()}")


@click.command()
@click.argument("kind", type=click.Choice(["warc", "wacz"]))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--watch", "watches", multiple=True, help="Only this watch (repeatable).")
@click.option("--since", callback=parse_time_option, help="Captures at or after this time.")
@click.option("--until", callback=parse_time_option, help="Captures at or before this time.")
@click.pass_obj
def export(
    obj: Context,
    kind: str,
    out: str,
    watches: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Export captures as WARC or WACZ.

    A standard web archive: WARC 1.1 (gzip), or a signed WACZ 1.1.1, streamed.

    \b
    Examples:
      monitor export warc captures.warc.gz --watch aliyun-cloud-shield-face-api
      monitor export wacz archive.wacz --since 2020-12-01 --until 2020-12-31
    """
    from ..evidence.exporting import export_archive

    with obj.store(read_only=True) as store:
        stats = export_archive(store, kind, Path(out), watches, since, until)
    say(
        f"{kind}: {stats.captures} capture(s), {stats.responses} response(s), "
        f"{stats.bytes} body bytes -> {Path(out).resolve()}"
    )


@click.command()
@click.argument("target")
@click.argument("out", required=False, type=click.Path(dir_okay=False))
@click.option("--verify", "check", is_flag=True, help="Check the bundle TARGET (no data dir).")
@click.option(
    "--key",
    "expected_key",
    help="With --verify: the signer's published key fingerprint; any other key fails.",
)
@click.pass_obj
def bundle(
    obj: Context, target: str, out: str | None, check: bool, expected_key: str | None
) -> None:
    """Write (or --verify) the evidence bundle of one change.

    --verify checks a bundle with nothing but the zip; exit status 3 if it fails.

    \b
    Examples:
      monitor bundle 12 change-12.zip
      monitor bundle --verify change-12.zip --key 782ded56ea0b2ba9
    """
    if check:
        from ..evidence.bundle_verify import bundle_key, verify_bundle

        problems = verify_bundle(Path(target), expected_key)
        for problem in problems:
            say(problem)
        if not problems:
            say(
                f"{target}: bundle OK, signed by key {bundle_key(Path(target))} "
                "(compare with the fingerprint its author published)"
            )
        else:
            say(f"{len(problems)} problem(s)")
        if problems:
            sys.exit(3)
        return
    if out is None or not target.isdigit():
        raise click.UsageError("usage: monitor bundle CHANGE_ID OUT.zip, or --verify OUT.zip")
    from ..evidence.exporting import write_bundle

    with obj.store(read_only=True) as store:
        manifest = write_bundle(store, int(target), Path(out))
    say(
        f"bundle of change {target}: {len(manifest['files'])} files, checkpoint at position "
        f"{manifest['chain']['segment']['end_seq']} -> {Path(out).resolve()}"
    )
