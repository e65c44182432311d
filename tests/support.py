"""Helpers tests import: skipping for missing services, and the shared fixtures data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("KIZASHI_REQUIRE_SERVICES") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def need(reason: str) -> None:
    """Skip for a missing service, or fail where CI says services are mandatory."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def shared_data(*parts: str) -> Path:
    """A file or folder under ../shared/data, or a skip (a failure in CI) where absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        need(f"../shared/data/{'/'.join(parts)} is not beside this checkout")
    return path
