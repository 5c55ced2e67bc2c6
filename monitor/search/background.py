"""Keeping the search index current while ``monitor run`` checks: a background thread.

The checks never wait for it: a check records its capture and returns; the thread is
poked and indexes what is new in short transactions of its own (one text version
each). Stopping lets the version in hand finish; the rest is indexed next time.
"""

from __future__ import annotations

import logging
import threading

from ..store.base import EvidenceStore
from . import open_index

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0  # look for work this often even without a poke (other writers)


class BackgroundIndexer:
    """A daemon thread that runs :meth:`SearchIndex.catch_up` whenever poked.

    >>> import tempfile
    >>> from monitor.store import open_store
    >>> with open_store(tempfile.mkdtemp()) as store, BackgroundIndexer(store) as indexer:
    ...     indexer.poke()
    """

    def __init__(self, store: EvidenceStore, idle_seconds: float = IDLE_SECONDS) -> None:
        self._store = store
        self._idle = idle_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="monitor-search", daemon=True)

    def __enter__(self) -> BackgroundIndexer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def poke(self) -> None:
        """Something was recorded: index it soon."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        try:
            index = open_index(self._store)
        except Exception as error:  # a traceback only with -vv (a full disk is no bug)
            log.warning(
                "search index unavailable (%s); searches will miss new captures",
                error,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return
        with index:
            while not self._stop.is_set():
                self._wake.wait(self._idle)
                self._wake.clear()
                try:
                    # Short budgets, so that a stop request is seen between rounds.
                    while not self._stop.is_set() and index.catch_up(budget_seconds=2.0):
                        pass
                except Exception as error:
                    log.warning(
                        "search indexing failed (%s); retrying later",
                        error,
                        exc_info=log.isEnabledFor(logging.DEBUG),
                    )
