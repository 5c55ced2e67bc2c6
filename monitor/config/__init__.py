"""Configuration: watchlists, settings and their defaults (the one place they live)."""
