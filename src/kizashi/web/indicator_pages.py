"""The lookup page: paste values (defanged or not), see which are known and where."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.errors import invalid
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page

router = APIRouter()
#: Values one form may carry; the API and CLI take 100,000.
FORM_LIMIT = 5000


@router.get("/lookup")
def lookup_form(request: Request, actor: PageActor) -> Response:
    return page(request, "lookup.html", actor=actor, values="", results=None, error=None)


@router.post("/lookup")
def lookup(request: Request, actor: PageActor, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    text = f.get("values", "")
    values = [v.strip() for v in text.splitlines() if v.strip()]
    if len(values) > FORM_LIMIT:
        error = invalid("Up to %(n)s values per page; the API takes 100,000.", n=FORM_LIMIT)
        return page(request, "lookup.html", actor=actor, values=text, results=None, error=error)
    results = get_kizashi(request).indicators.lookup(actor, values)
    results.sort(key=lambda r: (not r.known, -r.reports))
    return page(request, "lookup.html", actor=actor, values=text, results=results, error=None)
