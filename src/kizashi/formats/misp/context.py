"""Preparing what an event says about its records rather than the records themselves:
tags, event reports, analyst notes and galaxies (the mixin :class:`EventContext` of
:mod:`.prepare`'s preparer)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from kizashi.formats.misp.common import Cluster, Prepared, derived, is_uuid, timestamp_of


class EventContext:
    """Tags, reports, analyst data and galaxies; the preparer provides ``out``,
    ``problem`` and ``uuid_for``."""

    out: Prepared

    def problem(self, where: str, why: str) -> None:
        raise NotImplementedError

    def uuid_for(self, record: dict[str, Any], *identity: Any) -> str:
        raise NotImplementedError

    def tags(self, record: dict[str, Any], key: str) -> None:
        tags = record.get(key)
        if tags is None:
            return
        kept: list[dict[str, Any]] = []
        for tag in tags if isinstance(tags, list) else []:
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str) or not name.strip():
                continue  # a tag without a name says nothing
            name = name.strip()
            if name.lower().startswith("tlp:"):
                name = name.lower()  # misp-stix knows TLP tags in lower case only
            kept.append({**tag, "name": name})
        record[key] = kept

    def reports(self, event: dict[str, Any]) -> None:
        reports = event.get("EventReport")
        if reports is None:
            return
        kept: list[dict[str, Any]] = []
        for i, report in enumerate(reports if isinstance(reports, list) else []):
            if not isinstance(report, dict) or not isinstance(report.get("content"), str):
                self.problem(f"EventReport[{i}]", "an event report without text content")
                continue
            if not isinstance(report.get("name"), str) or not report["name"]:
                report["name"] = f"Event report {i + 1}"
            report["uuid"] = self.uuid_for(report, "report", report["name"], report["content"])
            stamp = timestamp_of(report.get("timestamp"))
            report["timestamp"] = str(stamp if stamp is not None else self.out.timestamp)
            kept.append(report)
        event["EventReport"] = kept

    def analyst_data(self, record: dict[str, Any], owner: str) -> None:
        """Analyst notes and opinions: a uuid and times each."""
        for key in ("Note", "Opinion"):
            items = record.get(key)
            if items is None:
                continue
            kept = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
            for item in kept:
                item["uuid"] = self.uuid_for(
                    item, key, owner, item.get("note"), item.get("opinion")
                )
                when = item.get("created") or item.get("modified")
                if not isinstance(when, str):  # as MISP writes it, UTC without a zone
                    when = datetime.fromtimestamp(self.out.timestamp, UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S"
                    )
                item.setdefault("created", when)
                item.setdefault("modified", when)
            record[key] = kept

    # -- galaxies -------------------------------------------------------------------------

    def galaxies(self, record: dict[str, Any], where: str) -> None:
        galaxies = record.get("Galaxy")
        if galaxies is None:
            return
        kept: list[dict[str, Any]] = []
        for i, galaxy in enumerate(galaxies if isinstance(galaxies, list) else []):
            here = f"{where + '.' if where else ''}Galaxy[{i}]"
            if not isinstance(galaxy, dict) or not isinstance(galaxy.get("type"), str):
                self.problem(here, "a galaxy without a type")
                continue
            clusters = galaxy.get("GalaxyCluster")
            usable = [
                c
                for c in (clusters if isinstance(clusters, list) else [])
                if isinstance(c, dict) and isinstance(c.get("value"), str) and c["value"]
            ]
            if len(usable) != len(clusters if isinstance(clusters, list) else []):
                self.problem(here, f"galaxy {galaxy['type']}: a cluster without a value")
            if not usable:
                continue
            galaxy.setdefault("name", galaxy["type"])
            galaxy.setdefault("description", galaxy["name"])
            for cluster in usable:
                cluster.setdefault("type", galaxy["type"])
                cluster.setdefault(
                    "tag_name", f'misp-galaxy:{cluster["type"]}="{cluster["value"]}"'
                )
            galaxy["GalaxyCluster"] = usable
            kept.append(galaxy)
        record["Galaxy"] = kept

    def clusters(self) -> None:
        """Each cluster's uuid. Clusters exported by older MISP carry their galaxy's
        uuid, the same for every cluster of it: misp-stix would keep the first of them
        only, so those get one derived from their type and value."""
        every = list(_clusters_in(self.out.event))
        values: dict[str, set[tuple[str, str]]] = {}
        for cluster in every:
            if is_uuid(cluster.get("uuid")):
                values.setdefault(cluster["uuid"], set()).add((cluster["type"], cluster["value"]))
        for cluster in every:
            given = cluster.get("uuid")
            if not is_uuid(given) or len(values.get(str(given), ())) > 1:
                cluster["uuid"] = derived("cluster", cluster["type"], cluster["value"])
            version = timestamp_of(cluster.get("version"))
            meta: dict[str, Any] = cluster["meta"] if isinstance(cluster.get("meta"), dict) else {}
            self.out.clusters[cluster["uuid"]] = Cluster(
                cluster["uuid"],
                cluster["type"],
                cluster["value"],
                version,
                cluster.get("default") is True,
                meta,
            )


def _clusters_in(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    holders = [event, *event.get("Attribute", [])]
    for obj in event.get("Object", []):
        holders += obj.get("Attribute", [])
    for holder in holders:
        for galaxy in holder.get("Galaxy", []) or []:
            yield from galaxy["GalaxyCluster"]
