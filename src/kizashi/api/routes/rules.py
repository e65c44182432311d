"""``/api/v1/rules``: auto-tagging rules, their test, "apply to existing", YAML sharing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import PlainTextResponse

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import ErrorOut
from kizashi.model.errors import invalid

router = APIRouter(tags=["rules"], responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})

RuleBody = Annotated[
    dict[str, Any],
    Body(
        description=(
            "name, order, enabled, description, when (one condition: query, words (+match), "
            "phrase, regex (+ignore_case), fuzzy (+threshold), source, language, indicator, "
            "watchlist, or all/any/not of conditions), then (add_tags, set_tlp, "
            "add_to_collection, relate {relationship_type, target_ref}, notify)."
        ),
        examples=[
            {
                "name": "ivanti",
                "when": {"words": ["Ivanti", "CVE-2024-21887"]},
                "then": {"add_tags": ["product:ivanti"], "set_tlp": "green"},
            }
        ],
    ),
]
MAX_YAML = 5 * 1024 * 1024


@router.get("/rules")
def list_rules(kz: KizashiDep, _actor: ActorDep) -> list[dict[str, Any]]:
    return [r.as_dict() for r in kz.rules.list()]


@router.post("/rules", status_code=201)
def create_rule(kz: KizashiDep, actor: ActorDep, body: RuleBody) -> dict[str, Any]:
    """Store a rule; from now on it runs on every incoming and edited item."""
    return kz.rules.save(actor, body).as_dict()


@router.post("/rules/test")
def test_rule(kz: KizashiDep, actor: ActorDep, body: RuleBody) -> dict[str, Any]:
    """How many stored items the rule would match, and a sample with why (nothing changes)."""
    return kz.rules.test(actor, body).as_dict()


@router.post("/rules/apply", status_code=202)
def apply_all(kz: KizashiDep, actor: ActorDep) -> dict[str, Any]:
    """Run every enabled rule over stored items, in the background; poll the run."""
    return kz.rules.apply_in_background(actor).as_dict()


@router.get("/rules/export", response_class=PlainTextResponse)
def export_rules(kz: KizashiDep, _actor: ActorDep) -> PlainTextResponse:
    """Every rule as YAML, to share with another team or installation."""
    return PlainTextResponse(kz.rules.export_yaml(), media_type="application/yaml")


@router.post("/rules/import")
async def import_rules(
    kz: KizashiDep, actor: ActorDep, request: Request, replace: bool = False
) -> dict[str, int]:
    """Rules from a YAML body; all are checked before any is stored."""
    raw = await request.body()
    if len(raw) > MAX_YAML:
        raise invalid("The YAML is larger than 5 MB.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid("The YAML must be UTF-8.") from exc
    return kz.rules.import_yaml(actor, text, replace=replace)


@router.get("/rules/runs/{run_id}")
def run_status(kz: KizashiDep, actor: ActorDep, run_id: int) -> dict[str, Any]:
    return kz.rules.run_view(run_id, actor).as_dict()


@router.get("/rules/events")
def rule_events(kz: KizashiDep, actor: ActorDep, limit: int = 100) -> list[dict[str, Any]]:
    """What rules matched with ``notify`` on, newest first (for notifications), about the
    items the asker may read."""
    return kz.rules.events(actor, limit=min(max(limit, 1), 1000))


@router.get("/rules/{name}")
def get_rule(kz: KizashiDep, _actor: ActorDep, name: str) -> dict[str, Any]:
    return kz.rules.get(name).as_dict()


@router.put("/rules/{name}")
def update_rule(kz: KizashiDep, actor: ActorDep, name: str, body: RuleBody) -> dict[str, Any]:
    """Replace a rule's definition (its version goes up; tags it adds record the version)."""
    return kz.rules.save(actor, body, name=name).as_dict()


@router.delete("/rules/{name}", status_code=204)
def delete_rule(kz: KizashiDep, actor: ActorDep, name: str, remove_tags: bool = False) -> Response:
    """Delete a rule; ``remove_tags=true`` also takes away every tag it added."""
    kz.rules.delete(actor, name, remove_tags=remove_tags)
    return Response(status_code=204)


@router.post("/rules/{name}/apply", status_code=202)
def apply_rule(kz: KizashiDep, actor: ActorDep, name: str) -> dict[str, Any]:
    """Run one rule over stored items, in the background; poll ``/rules/runs/{id}``."""
    return kz.rules.apply_in_background(actor, name).as_dict()


@router.get("/objects/{stix_id}/tag-sources")
def tag_sources(kz: KizashiDep, actor: ActorDep, stix_id: str) -> dict[str, Any]:
    """For each tag of an object: the rule (and version) that added it, or null."""
    return kz.rules.provenance(actor, stix_id)


@router.post("/rules/train")
def train(kz: KizashiDep, actor: ActorDep) -> dict[str, Any]:
    """Learn tag suggestions from analysts' own tags; ``auto`` rules then propose tags."""
    return kz.rules.train(actor)


@router.get("/objects/{stix_id}/suggestions")
def suggestions(kz: KizashiDep, actor: ActorDep, stix_id: str) -> list[dict[str, Any]]:
    """Tags ``auto`` rules propose for an object, until accepted or dismissed."""
    return kz.rules.suggestions(actor, stix_id)


@router.post("/objects/{stix_id}/suggestions/{decision}", status_code=204)
def decide(
    kz: KizashiDep,
    actor: ActorDep,
    stix_id: str,
    decision: Annotated[str, Path(pattern="^(accept|dismiss)$")],
    tag: Annotated[str, Body(embed=True, max_length=255)],
) -> Response:
    """``accept`` adds the tag (as yours); ``dismiss`` means it is never proposed again."""
    kz.rules.decide(actor, stix_id, tag, accept=decision == "accept")
    return Response(status_code=204)
