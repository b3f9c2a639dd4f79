"""Property-based fuzzing of the HTTP routes and the inbound SMS handler, under moto.

Generated bodies and path ids must never produce a 5xx, and random inbound notifications must
never raise or send more than one text per message. Each test runs all its examples against one
mocked world, which the examples may change. ``derandomize=True`` makes every run generate the
same examples, so CI is stable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sms_consent.domain.model import Role
from sms_consent.event_handlers import handle_inbound_sns

from tests.integration.api_harness import (
    OUR_NUMBER,
    ApiWorld,
    Route,
    SeededCompany,
    body_routes,
    json_text,
    open_world,
    route,
    seed_company,
    template_routes,
)

FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    # The world fixture is meant to persist across examples: creating moto tables per example
    # would make each test minutes long.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world() -> Iterator[ApiWorld]:
    with open_world() as opened:
        yield opened


@pytest.fixture
def company(world: ApiWorld) -> SeededCompany:
    return seed_company(world, "fuzz-company", name="Harbor Realty", phone="+12015550101", launched=True)


# Strategies ---------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)

ROLE_NAMES = [role.value for role in Role]
FIELD_NAMES = [
    "name",
    "support_contact",
    "mobile_phone",
    "sms_enabled",
    "address",
    "parties",
    "sms_tasks",
    "message",
    "recipient_roles",
    "recipient_contact_ids",
    "contact_id",
    "role",
]
phone_like = st.from_regex(r"\A\+?[0-9 ()\-.]{0,20}\Z") | st.text(alphabet="+0123456789", max_size=18)
texts = st.text(max_size=300) | st.sampled_from(["", " ", "\u200b", "\u202e", "\ud800", "\x00", "Buyer"])


def field_values(contact_id: str) -> st.SearchStrategy[Any]:
    """Values shaped like the API's fields, mixed with arbitrary JSON."""
    ids = st.sampled_from([contact_id, "x" * 65, "no-such-contact"]) | st.text(max_size=70)
    roles = st.sampled_from(ROLE_NAMES) | st.text(max_size=20)
    party = st.fixed_dictionaries({"contact_id": ids, "role": roles}) | json_values
    task = (
        st.fixed_dictionaries(
            {
                "name": texts,
                "message": texts,
                "recipient_roles": st.lists(roles, max_size=3),
                "recipient_contact_ids": st.lists(ids, max_size=3),
            }
        )
        | json_values
    )
    return (
        texts
        | phone_like
        | ids
        | roles
        | st.booleans()
        | st.lists(party, max_size=3)
        | st.lists(task, max_size=2)
        | json_values
    )


def field_bodies(contact_id: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELD_NAMES), field_values(contact_id), max_size=6)


def route_bodies(key: str, company: SeededCompany) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies shaped like the route's schema, with each value plausible or odd.

    Many of them pass validation, so the fuzzing reaches phone parsing, contact lookups and the
    DynamoDB writes, not only the request validation.
    """
    name = st.sampled_from(["Harbor Realty", "Dana Buyer", "12 Harbor Way"]) | texts
    phone = st.sampled_from(["+12015550104", "(201) 555-0105", "2015550106", "+442079460018"]) | phone_like
    contact_id = (
        st.just(company.contact_id) | st.sampled_from(["no-such-contact", "x" * 65]) | st.text(max_size=70)
    )
    role = st.sampled_from(ROLE_NAMES) | st.text(max_size=20)
    party = st.fixed_dictionaries({"contact_id": contact_id, "role": role})
    task = st.fixed_dictionaries(
        {"name": name, "message": name},
        optional={
            "recipient_roles": st.lists(role, max_size=3),
            "recipient_contact_ids": st.lists(contact_id, max_size=3),
        },
    )
    shapes: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "PUT /company": st.fixed_dictionaries({"name": name}, optional={"support_contact": st.none() | name}),
        "POST /contacts": st.fixed_dictionaries(
            {"name": name}, optional={"mobile_phone": st.none() | phone, "sms_enabled": st.booleans()}
        ),
        "PATCH /contacts/{contact_id}": st.fixed_dictionaries(
            {},
            optional={
                "name": name,
                "mobile_phone": st.none() | phone,
                "sms_enabled": st.none() | st.booleans(),
            },
        ),
        "POST /properties": st.fixed_dictionaries(
            {"address": name},
            optional={"parties": st.lists(party, max_size=3), "sms_tasks": st.lists(task, max_size=2)},
        ),
        "POST /properties/{property_id}/parties": party,
        "POST /properties/{property_id}/sms-tasks": task,
        "POST /properties/{property_id}/sms-tasks/{task_id}/recipients": st.fixed_dictionaries(
            {"contact_id": contact_id}
        ),
    }
    return shapes[key]


def assert_handled(world: ApiWorld, target: Route, reply: Any) -> None:
    """A response below 500, and a JSON body with an error code for every 4xx."""
    assert reply.status < 500, f"{target.key}: {reply.status} {reply.body[:300]}; {world.last.describe()}"
    if reply.status >= 400:
        assert isinstance(reply.error().get("code"), str), f"{target.key}: {reply.body[:300]}"


# HTTP bodies --------------------------------------------------------------------------------------


def test_fuzzed_json_body_never_5xx(world: ApiWorld, company: SeededCompany) -> None:
    @FUZZ_SETTINGS
    @given(target=st.sampled_from(body_routes()), value=json_values, ascii_only=st.booleans())
    def check(target: Route, value: Any, ascii_only: bool) -> None:
        body = json.dumps(value, ensure_ascii=ascii_only)

        reply = world.call(target, company.path_parameters(target), body, company.claims)

        assert_handled(world, target, reply)

    check()


def test_fuzzed_field_values_never_5xx(world: ApiWorld, company: SeededCompany) -> None:
    @FUZZ_SETTINGS
    @given(target=st.sampled_from(body_routes()), value=field_bodies(company.contact_id))
    def check(target: Route, value: dict[str, Any]) -> None:
        reply = world.call(target, company.path_parameters(target), json_text(value), company.claims)

        assert_handled(world, target, reply)

    check()


def test_fuzzed_route_shaped_bodies_never_5xx(world: ApiWorld, company: SeededCompany) -> None:
    @FUZZ_SETTINGS
    @given(target=st.sampled_from(body_routes()), data=st.data())
    def check(target: Route, data: st.DataObject) -> None:
        value = data.draw(route_bodies(target.key, company), label="body")

        reply = world.call(target, company.path_parameters(target), json_text(value), company.claims)

        assert_handled(world, target, reply)

    check()


def test_fuzzed_raw_body_text_never_5xx(world: ApiWorld, company: SeededCompany) -> None:
    @FUZZ_SETTINGS
    @given(target=st.sampled_from(body_routes()), body=st.text(max_size=200))
    def check(target: Route, body: str) -> None:
        reply = world.call(target, company.path_parameters(target), body, company.claims)

        assert_handled(world, target, reply)

    check()


# Path ids -----------------------------------------------------------------------------------------

ROUTES_WITH_IDS = [found for found in template_routes() if found.parameters]


def valid_body(key: str, company: SeededCompany) -> str | None:
    """A body the route accepts, so that only the fuzzed path id can make the request fail."""
    bodies: dict[str, Any] = {
        "PATCH /contacts/{contact_id}": {"name": "Dana B."},
        "POST /properties/{property_id}/parties": {"contact_id": company.contact_id, "role": "seller"},
        "POST /properties/{property_id}/sms-tasks": {"name": "Walkthrough", "message": "Noon."},
        "POST /properties/{property_id}/sms-tasks/{task_id}/recipients": {"contact_id": company.contact_id},
    }
    return json_text(bodies[key]) if key in bodies else None


def test_fuzzed_path_ids_never_5xx(world: ApiWorld, company: SeededCompany) -> None:
    @FUZZ_SETTINGS
    @given(target=st.sampled_from(ROUTES_WITH_IDS), data=st.data())
    def check(target: Route, data: st.DataObject) -> None:
        path_parameters = company.path_parameters(target)
        name = data.draw(st.sampled_from(target.parameters), label="parameter")
        path_parameters[name] = data.draw(st.text(min_size=1, max_size=1200), label="id")

        reply = world.call(target, path_parameters, valid_body(target.key, company), company.claims)

        assert_handled(world, target, reply)

    check()


# Inbound SMS --------------------------------------------------------------------------------------

KEYWORDS = ["YES", "Y", "START", "STOP", "STOPALL", "UNSUBSCRIBE", "HELP", "INFO", "CANCEL", "NO"]


def inbound_messages(phones: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Inbound SMS notifications with every field random, missing or plausible."""
    optional_text = st.none() | st.text(max_size=40)
    return st.fixed_dictionaries(
        {
            "originationNumber": st.sampled_from(phones) | phone_like | st.text(max_size=30),
            "destinationNumber": st.just(OUR_NUMBER) | phone_like,
            "messageBody": st.sampled_from(KEYWORDS) | st.text(max_size=200) | st.text(max_size=2100),
            "inboundMessageId": st.uuids().map(str) | st.text(min_size=1, max_size=50),
        },
        optional={
            "messageKeyword": st.sampled_from(KEYWORDS) | optional_text,
            "previousPublishedMessageId": optional_text,
        },
    )


def sns_event(messages: list[Any]) -> dict[str, Any]:
    records = []
    for index, message in enumerate(messages):
        text = message if isinstance(message, str) else json.dumps(message)
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "Sns": {"Type": "Notification", "MessageId": f"fuzz-{index}", "Message": text},
            }
        )
    return {"Records": records}


def request_opt_in(world: ApiWorld, company: SeededCompany) -> None:
    """Send the company's contact an opt-in request, so that replies from that phone change consent."""
    opt_in = route("POST /contacts/{contact_id}/opt-in-requests")
    requested = world.call(opt_in, {"contact_id": company.contact_id}, None, company.claims)
    assert requested.status == 202, requested.body


def apply_inbound(world: ApiWorld, messages: list[Any]) -> None:
    """Run the inbound handler on one SNS event and check the texts it sent.

    The handler sends at most one reply per inbound message, to that message's sender, so no phone
    may receive more texts than it sent messages. An exception fails the example.
    """
    texts_before = len(world.sender.sent)

    handle_inbound_sns(sns_event(messages))

    sent = world.sender.sent[texts_before:]
    assert len(sent) <= len(messages)
    for sms in sent:
        assert sent_by(messages, sms.destination) >= texts_to(sent, sms.destination), sms.destination


def test_fuzzed_inbound_replies_never_raise(world: ApiWorld, company: SeededCompany) -> None:
    """Well-formed notifications from the phone with a pending request and from other phones."""
    request_opt_in(world, company)
    phones = [company.phone, "+12015550102", "+442079460018"]

    @FUZZ_SETTINGS
    @given(messages=st.lists(inbound_messages(phones), min_size=1, max_size=3))
    def check(messages: list[Any]) -> None:
        apply_inbound(world, messages)

    check()


def test_fuzzed_inbound_records_never_raise(world: ApiWorld, company: SeededCompany) -> None:
    """Records whose Message is random text or JSON of any shape, mixed with well-formed ones."""
    request_opt_in(world, company)
    message = st.text(max_size=100) | json_values | inbound_messages([company.phone])

    @FUZZ_SETTINGS
    @given(messages=st.lists(message, min_size=1, max_size=3))
    def check(messages: list[Any]) -> None:
        apply_inbound(world, messages)

    check()


def sent_by(messages: list[Any], phone: str) -> int:
    """Count the messages whose originationNumber is ``phone``, in any formatting of the same digits."""
    digits = "".join(character for character in phone if character.isdigit())
    count = 0
    for message in messages:
        origin = message.get("originationNumber") if isinstance(message, dict) else None
        if isinstance(origin, str) and "".join(c for c in origin if c.isdigit()).endswith(digits[-10:]):
            count += 1
    return count


def texts_to(sent: list[Any], phone: str) -> int:
    return sum(1 for sms in sent if sms.destination == phone)
