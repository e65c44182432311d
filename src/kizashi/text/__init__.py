"""Text analysis: pure functions over strings (no I/O, no database, no clock)."""
