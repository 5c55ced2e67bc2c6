"""Public web archives as witness and as memory (the Internet Archive's Wayback Machine).

- ``wayback``: the documented request and answer shapes of the CDX server, the raw
  replay and Save Page Now 2 (pure, no I/O);
- ``client``: an async, politely paced client for them (one base URL,
  ``MONITOR_WAYBACK_URL``; keys from ``MONITOR_IA_ACCESS_KEY`` / ``MONITOR_IA_SECRET_KEY``);
- ``witness``: the durable witness queue: Save Page Now asked to capture a page when a
  change is detected, the archived copy fetched back and compared with ours;
- ``imports``: ``monitor import wayback NAME``: a page's archived history as captures;
- ``timeline``: where the text changed along our captures and the archive's together;
- ``reading``: an archived copy read to the same rules as a live page.

``docs/archives.md`` says which behaviours were modelled from the archive's public
documentation and which remain untested without the internet.
"""
