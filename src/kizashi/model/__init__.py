"""Domain types: pure, no I/O, no database, no clock reads."""
