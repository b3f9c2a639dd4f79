"""Tenant isolation on every route of template.yaml: a company reaches only its own data.

The company comes only from the ``company_id`` claim of the JWT authorizer. For each route this
module checks three things. The owner gets the route's normal status. Another company gets the same
404 as for an id that never existed, so no response reveals that a resource exists. A missing or
malformed claim gets 401 without any write.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.api_harness import (
    ApiReply,
    ApiWorld,
    Route,
    SeededCompany,
    body_routes,
    claims_for,
    json_text,
    open_world,
    route,
    seed_company,
    template_routes,
)

# Status of a successful request to each route.
NORMAL_STATUS = {
    "GET /company": 200,
    "PUT /company": 200,
    "POST /contacts": 201,
    "GET /contacts/{contact_id}": 200,
    "PATCH /contacts/{contact_id}": 200,
    "GET /contacts/{contact_id}/consent-history": 200,
    "GET /contacts/{contact_id}/consent-history.csv": 200,
    "POST /properties": 201,
    "GET /properties/{property_id}": 200,
    "POST /properties/{property_id}/launch": 202,
    "POST /properties/{property_id}/parties": 201,
    "POST /properties/{property_id}/sms-tasks": 201,
    "POST /properties/{property_id}/sms-tasks/{task_id}/recipients": 201,
    "GET /properties/{property_id}/sms-tasks/{task_id}": 200,
    "GET /properties/{property_id}/sms-tasks/{task_id}/preview": 200,
    "POST /properties/{property_id}/sms-tasks/{task_id}/send": 200,
    "POST /contacts/{contact_id}/opt-in-requests": 202,
}

_company_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def world() -> Iterator[ApiWorld]:
    with open_world() as opened:
        yield opened


def new_company(world: ApiWorld, role: str) -> SeededCompany:
    """Seed a company with a fresh id, so that no earlier case has touched its data."""
    number = next(_company_numbers)
    if role == "first":
        return seed_company(
            world,
            f"tenant-first-{number}",
            name=f"Harbor Realty {number}",
            phone="+12015550101",
            contact_name="Dana Buyer",
            address=f"{number} Harbor Way",
        )
    return seed_company(
        world,
        f"tenant-second-{number}",
        name=f"Summit Homes {number}",
        phone="+12015550102",
        contact_name="Riley Second",
        address=f"{number} Summit Road",
    )


@pytest.fixture
def first(world: ApiWorld) -> SeededCompany:
    """The company whose data the other caller tries to reach, seeded fresh for each test."""
    return new_company(world, "first")


@pytest.fixture
def second(world: ApiWorld) -> SeededCompany:
    return new_company(world, "second")


@pytest.fixture(scope="module")
def shared_first(world: ApiWorld) -> SeededCompany:
    """A first company for cases that may not change anything."""
    return new_company(world, "first")


def valid_body(key: str, caller: SeededCompany) -> str | None:
    """A body the route accepts from ``caller``, naming only ``caller``'s own contact."""
    bodies: dict[str, Any] = {
        "PUT /company": {"name": f"{caller.name} Renamed"},
        "POST /contacts": {"name": "Sam Seller", "mobile_phone": "+12015550103"},
        "PATCH /contacts/{contact_id}": {"name": "Dana B."},
        "POST /properties": {
            "address": "40 Pier Road",
            "parties": [{"contact_id": caller.contact_id, "role": "seller"}],
        },
        "POST /properties/{property_id}/parties": {"contact_id": caller.contact_id, "role": "seller"},
        "POST /properties/{property_id}/sms-tasks": {
            "name": "Walkthrough",
            "message": "Final walkthrough at noon.",
            "recipient_roles": ["buyer"],
        },
        "POST /properties/{property_id}/sms-tasks/{task_id}/recipients": {"contact_id": caller.contact_id},
    }
    return json_text(bodies[key]) if key in bodies else None


def leaked_values(reply: ApiReply, owner: SeededCompany) -> list[str]:
    """Return the private values of ``owner`` that appear in the response body."""
    return [value for value in owner.private_values() if value in reply.body]


def mask(body: str, ids: dict[str, str]) -> str:
    """Replace each requested id in a response body by its parameter name."""
    for name, value in ids.items():
        body = body.replace(value, f"<{name}>")
    return body


# Own company --------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", template_routes(), ids=lambda found: found.key)
def test_own_company_gets_normal_status(
    world: ApiWorld, first: SeededCompany, second: SeededCompany, target: Route
) -> None:
    reply = world.call(target, first.path_parameters(target), valid_body(target.key, first), first.claims)

    assert reply.status == NORMAL_STATUS[target.key], f"{reply.body[:300]}; {world.last.describe()}"
    assert leaked_values(reply, second) == []


def test_normal_status_covers_every_route() -> None:
    assert set(NORMAL_STATUS) == {found.key for found in template_routes()}


# Another company ----------------------------------------------------------------------------------


def check_ids_of_first_not_found(
    world: ApiWorld, target: Route, first: SeededCompany, second: SeededCompany
) -> None:
    """The second company sends the first company's path ids, then ids that never existed."""
    first_ids = first.path_parameters(target)
    unknown_ids = {name: uuid.uuid4().hex for name in target.parameters}
    body = valid_body(target.key, second)
    texts_before = len(world.sender.sent)

    other = world.call(target, first_ids, body, second.claims)
    other_log = world.last
    unknown = world.call(target, unknown_ids, body, second.claims)

    assert other.status == 404, f"{other.body[:300]}; {other_log.describe()}"
    assert unknown.status == 404, unknown.body[:300]
    assert mask(other.body, first_ids) == mask(unknown.body, unknown_ids)
    assert leaked_values(other, first) == []
    assert other_log.dynamodb_writes == []
    assert other_log.events_published == 0
    assert len(world.sender.sent) == texts_before


def check_get_company(world: ApiWorld, target: Route, first: SeededCompany, second: SeededCompany) -> None:
    """A company that never set its profile must not see the first company's profile."""
    newcomer = claims_for(f"tenant-newcomer-{next(_company_numbers)}")

    seen_by_second = world.call(target, None, None, second.claims)
    seen_by_newcomer = world.call(target, None, None, newcomer)

    assert seen_by_second.status == 200
    assert seen_by_second.json()["name"] == second.name
    assert leaked_values(seen_by_second, first) == []
    assert seen_by_newcomer.status == 200
    assert seen_by_newcomer.json()["company_id"] == newcomer["company_id"]
    assert leaked_values(seen_by_newcomer, first) == []


def check_put_company(world: ApiWorld, target: Route, first: SeededCompany, second: SeededCompany) -> None:
    changed = world.call(target, None, valid_body(target.key, second), second.claims)
    first_profile = world.call(route("GET /company"), None, None, first.claims)

    assert changed.status == 200
    assert changed.json()["company_id"] == second.company_id
    assert first_profile.json()["name"] == first.name


def check_post_contacts(world: ApiWorld, target: Route, first: SeededCompany, second: SeededCompany) -> None:
    created = world.call(target, None, valid_body(target.key, second), second.claims)
    contact_id = created.json()["contact_id"]
    read_by_first = world.call(
        route("GET /contacts/{contact_id}"), {"contact_id": contact_id}, None, first.claims
    )

    assert created.status == 201
    assert read_by_first.status == 404


def check_post_properties(
    world: ApiWorld, target: Route, first: SeededCompany, second: SeededCompany
) -> None:
    """Naming the first company's contact fails exactly like naming a contact that never existed."""
    unknown_contact_id = uuid.uuid4().hex

    def body(contact_id: str) -> str:
        return json_text(
            {"address": "40 Pier Road", "parties": [{"contact_id": contact_id, "role": "buyer"}]}
        )

    other = world.call(target, None, body(first.contact_id), second.claims)
    other_log = world.last
    unknown = world.call(target, None, body(unknown_contact_id), second.claims)

    assert other.status == 422, other.body[:300]
    assert mask(other.body, {"contact_id": first.contact_id}) == mask(
        unknown.body, {"contact_id": unknown_contact_id}
    )
    assert other_log.dynamodb_writes == []


OTHER_COMPANY_CHECKS: dict[str, Callable[[ApiWorld, Route, SeededCompany, SeededCompany], None]] = {
    "GET /company": check_get_company,
    "PUT /company": check_put_company,
    "POST /contacts": check_post_contacts,
    "POST /properties": check_post_properties,
}


@pytest.mark.parametrize("target", template_routes(), ids=lambda found: found.key)
def test_other_company_cannot_reach_data(
    world: ApiWorld, first: SeededCompany, second: SeededCompany, target: Route
) -> None:
    """Compare 404 bodies on routes with path ids, and run the route's own check on the others."""
    if target.parameters:
        check_ids_of_first_not_found(world, target, first, second)
    else:
        OTHER_COMPANY_CHECKS[target.key](world, target, first, second)


# Missing or malformed claims ----------------------------------------------------------------------


def _claims_without_company() -> dict[str, Any]:
    claims = claims_for("unused")
    del claims["company_id"]
    return claims


BAD_CLAIMS: list[tuple[str, Callable[[SeededCompany], dict[str, Any] | None]]] = [
    ("no-authorizer", lambda owner: None),
    ("claims-without-company_id", lambda owner: _claims_without_company()),
    ("company_id-number", lambda owner: claims_for(12345)),
    ("company_id-list", lambda owner: claims_for([owner.company_id])),
    ("company_id-path-traversal", lambda owner: claims_for("../x")),
    ("company_id-space", lambda owner: claims_for("a b")),
    ("company_id-100-characters", lambda owner: claims_for("a" * 100)),
    ("company_id-empty", lambda owner: claims_for("")),
]


def bad_claim_cases() -> list[Any]:
    return [
        pytest.param(target, make_claims, id=f"{target.key} {case_id}")
        for target in template_routes()
        for case_id, make_claims in BAD_CLAIMS
    ]


@pytest.mark.parametrize(("target", "make_claims"), bad_claim_cases())
def test_bad_claims_get_401(
    world: ApiWorld, shared_first: SeededCompany, target: Route, make_claims: Callable[..., Any]
) -> None:
    """The request names the first company's real ids, so only the claim check can reject it."""
    texts_before = len(world.sender.sent)

    reply = world.call(
        target,
        shared_first.path_parameters(target),
        valid_body(target.key, shared_first),
        make_claims(shared_first),
    )

    assert reply.status == 401, f"{reply.body[:300]}; {world.last.describe()}"
    assert reply.error().get("code") == "unauthorized"
    assert leaked_values(reply, shared_first) == []
    assert world.last.dynamodb_writes == []
    assert world.last.events_published == 0
    assert len(world.sender.sent) == texts_before


@pytest.mark.parametrize("target", body_routes(), ids=lambda found: found.key)
def test_no_token_with_invalid_body_gets_401(
    world: ApiWorld, shared_first: SeededCompany, target: Route
) -> None:
    """The claim check runs before body validation, so a caller without a token learns no schema."""
    reply = world.call(target, shared_first.path_parameters(target), '{"unexpected": true}', None)

    assert reply.status == 401, reply.body[:300]
    assert world.last.dynamodb_writes == []
