"""STIX types as a page names them: レポート for ``report`` (docs/glossary.md), in the
page's language; a type not listed (a custom ``x-`` type) is shown as it is."""

from __future__ import annotations

from kizashi.web.i18n import N_, say

TYPES = {
    # Domain objects.
    "attack-pattern": N_("Attack pattern"),
    "campaign": N_("Campaign"),
    "course-of-action": N_("Course of action"),
    "grouping": N_("Grouping"),
    "identity": N_("Identity"),
    "incident": N_("Incident"),
    "indicator": N_("Indicator"),
    "infrastructure": N_("Infrastructure"),
    "intrusion-set": N_("Intrusion set"),
    "location": N_("Location"),
    "malware": N_("Malware"),
    "malware-analysis": N_("Malware analysis"),
    "note": N_("Note"),
    "observed-data": N_("Observed data"),
    "opinion": N_("Opinion"),
    "report": N_("Report"),
    "threat-actor": N_("Threat actor"),
    "tool": N_("Tool"),
    "vulnerability": N_("Vulnerability"),
    # Relationship objects and the rest of the vocabulary.
    "relationship": N_("Relationship"),
    "sighting": N_("Sighting"),
    "marking-definition": N_("Marking definition"),
    "extension-definition": N_("Extension definition"),
    "language-content": N_("Language content"),
    # Cyber-observable objects.
    "artifact": N_("Artifact"),
    "autonomous-system": N_("Autonomous system"),
    "directory": N_("Directory"),
    "domain-name": N_("Domain name"),
    "email-addr": N_("E-mail address"),
    "email-message": N_("E-mail message"),
    "file": N_("File"),
    "ipv4-addr": N_("IPv4 address"),
    "ipv6-addr": N_("IPv6 address"),
    "mac-addr": N_("MAC address"),
    "mutex": N_("Mutex"),
    "network-traffic": N_("Network traffic"),
    "process": N_("Process"),
    "software": N_("Software"),
    "url": N_("URL"),
    "user-account": N_("User account"),
    "windows-registry-key": N_("Windows registry key"),
    "x509-certificate": N_("X.509 certificate"),
}


def type_name(stix_type: object) -> str:
    """``stix_type`` in the page's language (its STIX name if it has no other)."""
    text = str(stix_type or "")
    return say(TYPES[text]) if text in TYPES else text


#: The search index's ``lang`` values (kizashi.text.language).
LANGUAGES = {"ja": N_("Japanese"), "en": N_("English"), "mixed": N_("Mixed languages")}


def facet_value(name: str, value: object) -> str:
    """A search facet's value as the page shows it: a type's or language's name, a TLP
    level as FIRST writes it (TLP:AMBER), anything else (tags, sources) as it is."""
    text = str(value)
    if name == "type":
        return type_name(text)
    if name == "lang":
        return say(LANGUAGES[text]) if text in LANGUAGES else text
    if name == "tlp":
        return f"TLP:{text.upper()}"
    return text
