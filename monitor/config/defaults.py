"""Every default setting, in one place (the README's settings list is tested against it).

No imports: the fetcher, the event state machine and the watchlist models all read
their defaults from here, whatever their place in the layout.
"""

from __future__ import annotations

DATA_DIR = "monitor-data"  # where captures and changes are kept (--data-dir)
EVERY_SECONDS = 21600.0  # 6h between checks of a watch
MAX_CONNECTIONS = 8  # connections open at once, for the whole run
PER_HOST = 2  # connections open at once to one host
HOST_DELAY = 0.5  # seconds between request starts to one host
RETRIES = 2  # extra attempts within one check, for transient failures
TIMEOUT = 30.0  # seconds to connect and between bytes read
MAX_BODY_MB = 20.0  # decoded body cap
CSS_BUDGET = 5.0  # seconds a page's select/exclude rules may take; past it: incomplete
UNREACHABLE_AFTER = 3  # failed checks in a row before an `unreachable` event
GONE_AFTER = 2  # confirmations of a 404/410 before a `gone` event
MOVES = "section"  # a block moved unchanged raises an event: ignore | section | any
ATTENTION_AFTER = 2  # confirmations of a bot wall or a missing selector
BROWSER_PAGES = 2  # pages a run renders at once in its one headless browser
BROWSER_MEMORY_MB = 1536  # the browser's processes together; past it, it is restarted
BROWSER_TIMEOUT = 30.0  # seconds for a page to load and meet its wait conditions
CHECKPOINT_EVERY_SECONDS = 300.0  # `monitor run` signs a checkpoint this often (if new records)
SITE_MAX_PAGES = 1000  # pages a site may have before new ones are left out
SITE_MAX_PAGES_LIMIT = 100_000  # the largest max_pages a site may ask for
SITE_DISCOVER_EVERY = 86400.0  # 1d between discovery runs of a site
SITE_REMOVE_AFTER_RUNS = 2  # complete discovery runs a page must be missing from
WITNESS = None  # no archive is asked to witness changes unless a watchlist says so
WITNESS_ON = "flagged"  # which changes get a witness: flagged | changed
WITNESS_ARCHIVES = ("wayback",)  # archives that can witness (Save Page Now)
WITNESS_ON_CHOICES = ("flagged", "changed")

# Hostile input (README "Watchlists": limits). A watchlist and the pages it names may be
# written by someone else: each of these bounds the time or memory one of them may take.
IGNORE_BUDGET_SECONDS = 2.0  # CPU seconds a page's `ignore` patterns may spend matching
WATCHLIST_MAX_MB = 4.0  # a larger watchlist file is refused before it is parsed
YAML_MAX_ALIAS_NODES = 100_000  # nodes that YAML aliases (*name) may add to a watchlist
STRUCTURED_MAX_ALIAS_NODES = 1_000_000  # ...and to a YAML document a page serves
PDF_SECONDS = 300.0  # a PDF is read in a child process (documents/isolated.py): its time...
PDF_MEMORY_MB = 2048  # ...and its memory

# The settings a watchlist's `settings:` block may set, with their defaults, in the
# order the README lists them.
SETTINGS = {
    "max_connections": MAX_CONNECTIONS,
    "per_host": PER_HOST,
    "host_delay": HOST_DELAY,
    "retries": RETRIES,
    "timeout": TIMEOUT,
    "max_body_mb": MAX_BODY_MB,
    "unreachable_after": UNREACHABLE_AFTER,
    "gone_after": GONE_AFTER,
    "browser_pages": BROWSER_PAGES,
    "browser_memory_mb": BROWSER_MEMORY_MB,
}

# Alert routes (a watchlist's notify: list; README "Alerts")
NOTIFY_WAIT = 60.0  # seconds an immediate route waits after an event, for others to join it
NOTIFY_RATE_COUNT = 10  # at most this many messages leave one route...
NOTIFY_RATE_SECONDS = 3600.0  # ...in this many seconds
NOTIFY_SUMMARIZE_OVER = 5  # more events than this at once become one summary message
NOTIFY_RETRY = 30.0  # seconds before the first retry of a failed delivery (then doubling)
NOTIFY_MAX_BACKOFF = 3600.0  # a failing destination is still retried at least hourly
NOTIFY_MIN_DIGEST = 300.0  # the shortest digest period

# How long a fetch may take, in multiples of `timeout` (README "What monitor will and
# will not fetch"): one attempt's whole response, and a whole fetch (every attempt and
# wait, from its first request). 90 s and 120 s at the default timeout.
ATTEMPT_DEADLINE_TIMEOUTS = 3.0
CHECK_DEADLINE_TIMEOUTS = 4.0
