"""TLP 2.0 marking definitions: the published ids, aliases and the most restrictive level."""

from __future__ import annotations

import pytest
import stix2

from kizashi.model import tlp

OASIS_TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def test_marking_ids_are_the_oasis_ones() -> None:
    assert tlp.MARKING_IDS == OASIS_TLP2
    assert tlp.LEVELS == ("clear", "green", "amber", "amber+strict", "red")


@pytest.mark.parametrize("level", list(OASIS_TLP2))
def test_marking_definition_is_valid_stix(level: str) -> None:
    md = tlp.marking_definition(level)
    parsed = stix2.parse(md, version="2.1")
    assert parsed.id == OASIS_TLP2[level]
    assert parsed.type == "marking-definition"
    assert parsed.name == f"TLP:{level.upper()}"
    ext = md["extensions"][tlp.TLP_EXTENSION]
    assert ext == {"extension_type": "property-extension", "tlp_2_0": level}


def test_tlp1_ids_are_stix2s_predefined_ones() -> None:
    assert {
        stix2.TLP_WHITE.id: "clear",
        stix2.TLP_GREEN.id: "green",
        stix2.TLP_AMBER.id: "amber",
        stix2.TLP_RED.id: "red",
    } == tlp.TLP1_IDS
    for marking_id, level in tlp.TLP1_IDS.items():
        assert tlp.level_of([marking_id]) == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("amber", "amber"),
        ("TLP:AMBER", "amber"),
        ("tlp:Amber+Strict", "amber+strict"),
        ("  red ", "red"),
        ("white", "clear"),
        ("TLP:WHITE", "clear"),
        ("clear", "clear"),
        ("green", "green"),
    ],
)
def test_normalise(text: str, level: str) -> None:
    assert tlp.normalise(text) == level


@pytest.mark.parametrize("text", ["", "amber strict", "purple", "tlp:", "pap:red", "ex:chr"])
def test_normalise_rejects_non_levels(text: str) -> None:
    assert tlp.normalise(text) is None


def test_level_of_picks_the_most_restrictive() -> None:
    ids = tlp.MARKING_IDS
    assert tlp.level_of([]) is None
    assert tlp.level_of(["marking-definition--00000000-0000-4000-8000-000000000000"]) is None
    assert tlp.level_of([ids["green"], ids["amber"]]) == "amber"
    assert tlp.level_of([ids["amber+strict"], ids["amber"], ids["clear"]]) == "amber+strict"
    assert tlp.level_of([ids["red"], ids["clear"]]) == "red"
    # TLP 1.0 and 2.0 markings together still rank by level.
    assert tlp.level_of([stix2.TLP_RED.id, ids["amber+strict"]]) == "red"
    assert tlp.level_of([stix2.TLP_GREEN.id, ids["amber"]]) == "amber"


def test_rank_is_ordered() -> None:
    ranks = [tlp.rank(level) for level in tlp.LEVELS]
    assert ranks == sorted(ranks)
    assert tlp.rank("amber+strict") > tlp.rank("amber")
