from kizashi.model.actor import Actor
from kizashi.services import Kizashi


def test_same_domain_twice_is_one_object(kz: Kizashi, analyst: Actor) -> None:
    first, created = kz.objects.create(analyst, {"type": "domain-name", "value": "evil.example"})
    second, again = kz.objects.create(analyst, {"type": "domain-name", "value": "evil.example"})
    assert created and not again
    assert first.id == second.id
    assert len(kz.objects.list(analyst, types=["domain-name"]).items) == 1
