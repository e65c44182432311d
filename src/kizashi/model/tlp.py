"""Traffic Light Protocol 2.0 as STIX marking definitions.

The ids are the ones OASIS publishes for the TLP 2.0 extension, not generated:
another platform recognises a marking only by these exact ids.
"""

from __future__ import annotations

from typing import Any

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_CREATED = "2022-10-01T00:00:00.000Z"

# Ordered from least to most restrictive.
LEVELS: tuple[str, ...] = ("clear", "green", "amber", "amber+strict", "red")

MARKING_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# TLP 1.0 ids that stix2 predefines; read on import and mapped to 2.0 levels.
TLP1_IDS: dict[str, str] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}

LEVEL_BY_ID: dict[str, str] = {v: k for k, v in MARKING_IDS.items()} | TLP1_IDS

ALIASES = {"white": "clear"}


def normalise(level: str) -> str | None:
    """Return the TLP 2.0 level for ``level`` (``TLP:AMBER``, ``white`` …) or None."""
    key = level.strip().lower().removeprefix("tlp:")
    key = ALIASES.get(key, key)
    return key if key in MARKING_IDS else None


def rank(level: str) -> int:
    return LEVELS.index(level)


def less_restricted(level: str | None, than: str | None) -> bool:
    """Whether marking ``level`` is less restricted than ``than`` (unmarked is least)."""
    if than is None:
        return False
    return level is None or rank(level) < rank(than)


def marking_definition(level: str) -> dict[str, Any]:
    """The published STIX object for a level."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": MARKING_IDS[level],
        "created": TLP_CREATED,
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def level_of(marking_refs: list[str]) -> str | None:
    """The most restrictive TLP level among ``marking_refs``."""
    levels = [LEVEL_BY_ID[r] for r in marking_refs if r in LEVEL_BY_ID]
    return max(levels, key=rank) if levels else None


#: The TLP 1.0 marking definitions as STIX 2.1 publishes them (python-stix2's constants).
_TLP1_CREATED = "2017-01-20T00:00:00.000Z"


def tlp_definition(marking_id: str) -> dict[str, Any]:
    """The marking-definition object behind a TLP marking id, 2.0 or 1.0."""
    level = LEVEL_BY_ID[marking_id]
    if marking_id in TLP1_IDS:
        return {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking_id,
            "created": _TLP1_CREATED,
            "definition_type": "tlp",
            "name": f"TLP:{level.upper() if level != 'clear' else 'WHITE'}",
            "definition": {"tlp": level if level != "clear" else "white"},
        }
    return marking_definition(level)
