"""The command line: parsing and printing only; the work happens in the layers below."""

from .main import cli, entry, main

__all__ = ["cli", "entry", "main"]
