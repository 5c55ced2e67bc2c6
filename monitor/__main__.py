"""``python -m monitor`` is the same as the ``monitor`` command."""

from .cli import main

if __name__ == "__main__":  # worker processes (--workers) import this module too
    main()
