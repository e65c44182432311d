"""Persistence: tables, migrations, the engine and queries. Imports only ``model``."""
