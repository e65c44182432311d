"""Object types STIX 2.1 does not define but threat intelligence needs, registered with stix2.

- ``cryptocurrency-wallet`` and ``user-agent``: observables (``new-sco``), declared by
  Kizashi's extension definition; their ids come from ``value`` like any observable's.
  The names are the ones OpenCTI uses, so bundles travel between the two.
- ``x-mitre-tactic``: ATT&CK's own tactic object, as MITRE's bundles carry it, so that
  ``TA0001`` in a report links to the tactic once ATT&CK is loaded.

Imported by :mod:`kizashi.model.stix` before it lists the known types.
"""

from __future__ import annotations

import uuid
from typing import Any

from stix2.properties import BooleanProperty, ListProperty, StringProperty
from stix2.v21 import CustomObject, CustomObservable

from kizashi.model.actor import KIZASHI_NAMESPACE, SYSTEM_IDENTITY

#: One extension definition per new observable type (stix2 registers each on its own).
OBSERVABLE_EXTENSIONS = {
    t: f"extension-definition--{uuid.uuid5(KIZASHI_NAMESPACE, f'{t}-extension-v1')}"
    for t in ("cryptocurrency-wallet", "user-agent")
}
EXTENSION_CREATED = "2026-11-28T00:00:00.000Z"


@CustomObservable(
    "cryptocurrency-wallet",
    [("value", StringProperty(required=True)), ("currency", StringProperty())],
    id_contrib_props=["value"],
    extension_name=OBSERVABLE_EXTENSIONS["cryptocurrency-wallet"],
)
class CryptocurrencyWallet:
    """A wallet address as written (Bitcoin, Ethereum, Monero); ``currency`` says which."""


@CustomObservable(
    "user-agent",
    [("value", StringProperty(required=True))],
    id_contrib_props=["value"],
    extension_name=OBSERVABLE_EXTENSIONS["user-agent"],
)
class UserAgent:
    """An HTTP User-Agent string, as a value that reports share."""


@CustomObject(
    "x-mitre-tactic",
    [
        ("name", StringProperty(required=True)),
        ("description", StringProperty()),
        ("x_mitre_shortname", StringProperty()),
        ("x_kizashi_stub", BooleanProperty()),
        ("x_mitre_domains", ListProperty(StringProperty)),
    ],
)
class MitreTactic:
    """ATT&CK's tactic object (``TA0001`` Initial Access)."""


_DESCRIPTIONS = {
    "cryptocurrency-wallet": (
        "A cryptocurrency wallet address as written; currency is btc, eth or xmr.",
        "value (string, required), currency (string)",
    ),
    "user-agent": ("An HTTP User-Agent string.", "value (string, required)"),
}


def observable_extension_definitions() -> list[dict[str, Any]]:
    """The extension definitions that declare the new observables (stored at first run)."""
    return [
        {
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": ext_id,
            "created_by_ref": SYSTEM_IDENTITY,
            "created": EXTENSION_CREATED,
            "modified": EXTENSION_CREATED,
            "name": f"Kizashi {stix_type}",
            "description": _DESCRIPTIONS[stix_type][0] + " The id is a UUIDv5 of the value.",
            "schema": f"{stix_type}: {_DESCRIPTIONS[stix_type][1]}",
            "version": "1.0",
            "extension_types": ["new-sco"],
        }
        for stix_type, ext_id in OBSERVABLE_EXTENSIONS.items()
    ]
