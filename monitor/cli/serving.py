"""``monitor serve``: the web dashboard, its JSON API and the Atom feed."""

from __future__ import annotations

import click

from .common import Context, say


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but a loopback address needs authentication "
    "(MONITOR_SERVE_TOKEN or MONITOR_SERVE_USERS).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--hash-password",
    is_flag=True,
    help="Read a password (prompted, not echoed) and print its hash for MONITOR_SERVE_USERS.",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, hash_password: bool) -> None:
    """Web dashboard, JSON API (OpenAPI) and Atom feed.

    Over the data directory: overview, changes with filters and triage, watch timelines
    and diffs, search, a JSON API (schema at /openapi.json) and an Atom feed at
    /feed.atom. Works while 'monitor run' is writing.

    \b
    Examples:
      monitor serve                                  # http://127.0.0.1:8765/
      monitor --data-dir monitor-data serve --port 9000
      MONITOR_SERVE_TOKEN=$(openssl rand -hex 24) monitor serve --host 0.0.0.0
      monitor serve --hash-password                  # then MONITOR_SERVE_USERS="ana:HASH"
    """
    from ..web.auth import Auth, check_bind
    from ..web.auth import hash_password as make_hash

    if hash_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        say(make_hash(password))
        return
    auth = Auth.from_environment()
    check_bind(host, auth)

    import uvicorn

    from ..web import create_app

    app = create_app(obj.spec, auth)
    shown = f"[{host}]" if ":" in host else host
    say(
        f"serving {app.state.web.store.location} at http://{shown}:{port}/ "
        f"({'login required' if auth.enabled else 'this machine only'}); stop with Ctrl-C"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
