"""Jobs: scheduled polls and other background work, on one queue API (Huey)."""
