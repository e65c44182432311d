"""Rules in the UI: the list, a rule as YAML to edit, test before saving, apply, delete."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model import rules as rm
from kizashi.model.errors import KizashiError, invalid
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page

router = APIRouter()

EXAMPLE = """name: ivanti
order: 10
when:
  any:
    - words: [Ivanti, CVE-2024-21887]
    - query: 'tag:edge ランサムウェア NOT tag:test'
then:
  add_tags: [product:ivanti]
  set_tlp: green
"""


def _parse(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise rm.unreadable_yaml(exc) from exc
    if not isinstance(data, dict):
        raise invalid("A rule is a YAML mapping with name, when and then.")
    return data


def _dump(definition: dict[str, Any]) -> str:
    keys = ("name", "description", "order", "enabled", "when", "then")
    ordered = {k: definition[k] for k in keys if k in definition}
    return str(yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False))


def _editor(request: Request, actor: Any, *, name: str | None, text: str, **extra: Any) -> Response:
    kz = get_kizashi(request)
    return page(
        request,
        "rule.html",
        actor=actor,
        rule_name=name,
        text=text,
        rules=kz.rules.list(),
        **{"error": None, "result": None, "run": None, **extra},
    )


@router.get("/rules")
def rules_page(request: Request, actor: PageActor) -> Response:
    return _editor(request, actor, name=None, text=EXAMPLE)


@router.get("/rules/{name}")
def rule_page(request: Request, actor: PageActor, name: str, run: int | None = None) -> Response:
    kz = get_kizashi(request)
    view = kz.rules.get(name)
    definition = {**view.definition, "order": view.order, "enabled": view.enabled}
    run_view = kz.rules.run_view(run, actor) if run else None
    return _editor(request, actor, name=name, text=_dump(definition), run=run_view)


@router.post("/rules/save")
def save_rule(request: Request, actor: PageActor, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    text = f.get("yaml", "")
    name = f.get("name") or None
    try:
        raw = _parse(text)
        if f.get("action") == "test":
            result = kz.rules.test(actor, raw)
            return _editor(request, actor, name=name, text=text, result=result)
        view = kz.rules.save(actor, raw, name=name)
    except KizashiError as exc:
        return _editor(request, actor, name=name, text=text, error=exc)
    return RedirectResponse(f"/rules/{view.name}", status_code=303)


@router.post("/rules/{name}/apply")
def apply_rule(request: Request, actor: PageActor, name: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    run = get_kizashi(request).rules.apply_in_background(actor, name)
    return RedirectResponse(f"/rules/{name}?run={run.id}", status_code=303)


@router.post("/rules/{name}/delete")
def delete_rule(request: Request, actor: PageActor, name: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).rules.delete(actor, name, remove_tags=f.get("remove_tags") == "on")
    return RedirectResponse("/rules", status_code=303)
