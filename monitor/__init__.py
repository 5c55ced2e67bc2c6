"""monitor: watch public vendor documentation and report exactly what wording changed."""

__version__ = "0.1.0"
