"""Reports: change events as JSON (the stable contract, ``json.py``), terminal text
(``text.py``) and the self-contained HTML report (``html.py``), over one change read
from a store (``view.py``).

Import the submodule you need: the command line's ``changes`` must not pay for Jinja2.
"""
