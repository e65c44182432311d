"""Services: the one code path under the API, the web UI and the CLI."""

from kizashi.services.app import Kizashi

__all__ = ["Kizashi"]
