"""``python -m monitor`` is the same as the ``monitor`` command."""

from .cli import entry

if __name__ == "__main__":  # worker processes (--workers) import this module too
    entry()
