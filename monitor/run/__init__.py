"""Running many checks: once (`check`), on a schedule (`run`), across local processes."""
