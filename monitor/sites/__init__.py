"""Whole documentation sites: discovery of their pages (robots.txt, sitemaps, start
pages), the watches those pages become, and the language versions (counterparts) of
a document compared with one another. The I/O lives here; the decisions are pure
functions in ``monitor/analysis/`` (``pageset.py``, ``locales.py``).
"""
