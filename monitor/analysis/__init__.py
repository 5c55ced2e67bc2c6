"""Analysis: pure functions from before/after data (compare, flag, events). No I/O."""
