"""The REST API under ``/api/v1`` (FastAPI), and the application that also serves the UI."""
