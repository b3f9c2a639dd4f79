"""Bad input to every HTTP route and every asynchronous event: a 4xx or a drop, and nothing written.

Each HTTP case checks the status, the JSON error body, and that the call made no DynamoDB write and
put no event on the bus. Each event case checks that the function returns, writes nothing and sends
no text. One seeded world serves the whole module. Cases that pass change nothing in it, and the
known-bug cases and the closing control cases write only names and records that no later case reads.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pytest

from tests.integration.api_harness import (
    ApiWorld,
    SeededCompany,
    body_routes,
    json_text,
    load_event,
    open_world,
    route,
    seed_company,
    template_routes,
)

LANDLINE = "+44 20 7946 0018"  # a London number that phonenumbers 9 classifies as FIXED_LINE
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Ids:
    """The seeded company and a contact id of another company."""

    own: SeededCompany
    other_contact_id: str


@pytest.fixture(scope="module")
def world() -> Iterator[ApiWorld]:
    with open_world() as opened:
        yield opened


@pytest.fixture(scope="module")
def ids(world: ApiWorld) -> Ids:
    own = seed_company(world, "bad-input-own", name="Harbor Realty", phone="+12015550101", launched=True)
    other = seed_company(
        world, "bad-input-other", name="Summit Homes", phone="+12015550102", contact_name="Riley Other"
    )
    return Ids(own, other.contact_id)


# Body cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A body sent exactly as this text, or as base64 of ``data`` when ``data`` is set."""

    text: str | None = None
    data: bytes | None = None


Body = Callable[[Ids], Any]

VALID_BODIES: dict[str, Body] = {
    "PUT /company": lambda ids: {"name": "Harbor Realty", "support_contact": "help@example.com"},
    "POST /contacts": lambda ids: {"name": "Sam Seller", "mobile_phone": "+12015550103", "sms_enabled": True},
    "PATCH /contacts/{contact_id}": lambda ids: {"name": "Dana B."},
    "POST /properties": lambda ids: {
        "address": "40 Pier Road",
        "parties": [{"contact_id": ids.own.contact_id, "role": "buyer"}],
        "sms_tasks": [
            {
                "name": "Walkthrough",
                "message": "Final walkthrough at noon.",
                "recipient_roles": ["buyer"],
                "recipient_contact_ids": [ids.own.contact_id],
            }
        ],
    },
    "POST /properties/{property_id}/parties": lambda ids: {
        "contact_id": ids.own.contact_id,
        "role": "seller",
    },
    "POST /properties/{property_id}/sms-tasks": lambda ids: {
        "name": "Walkthrough",
        "message": "Final walkthrough at noon.",
        "recipient_roles": ["buyer"],
        "recipient_contact_ids": [ids.own.contact_id],
    },
    "POST /properties/{property_id}/sms-tasks/{task_id}/recipients": lambda ids: {
        "contact_id": ids.own.contact_id
    },
}


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def _drop(body: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return changed


def with_field(route_key: str, path: tuple[Any, ...], value: Any | Callable[[Ids], Any]) -> Body:
    """Build the route's valid body with the value at ``path`` replaced."""
    valid = VALID_BODIES[route_key]
    return lambda ids: _set(valid(ids), path, value(ids) if callable(value) else value)


def without_field(route_key: str, path: tuple[Any, ...]) -> Body:
    valid = VALID_BODIES[route_key]
    return lambda ids: _drop(valid(ids), path)


def raw(text: str | None = None, data: bytes | None = None) -> Body:
    return lambda ids: Raw(text, data)


@dataclass(frozen=True)
class BodyCase:
    """One bad body for one route: the expected status and, for a 422, the field to name."""

    route_key: str
    case_id: str
    body: Body
    status: int
    field: str | None = None
    bug: str | None = None


COMMON_CASES: list[tuple[str, Body, int, str | None, str | None]] = [
    ("json-open-brace", raw("{"), 400, None, None),
    ("json-truncated-array", raw("[1,"), 400, None, None),
    ("json-null", raw("null"), 422, "body", None),
    ("json-string", raw('"Harbor Realty"'), 422, "body", None),
    ("no-body", raw(None), 422, "body", None),
    ("empty-body", raw(""), 422, "body", None),
    ("non-utf8-base64", raw(data=b"\xff\xfe{\x00"), 400, None, None),
]

# (route, field path, wrong value, field the error names)
WRONG_TYPES: list[tuple[str, tuple[Any, ...], Any, str]] = [
    ("PUT /company", ("name",), 5, "name"),
    ("PUT /company", ("name",), None, "name"),
    ("PUT /company", ("name",), ["Harbor Realty"], "name"),
    ("PUT /company", ("support_contact",), 5, "support_contact"),
    ("POST /contacts", ("name",), 5, "name"),
    ("POST /contacts", ("sms_enabled",), "true", "sms_enabled"),
    ("POST /contacts", ("sms_enabled",), 1, "sms_enabled"),
    ("POST /contacts", ("mobile_phone",), 12015550103, "mobile_phone"),
    ("PATCH /contacts/{contact_id}", ("name",), 5, "name"),
    ("PATCH /contacts/{contact_id}", ("sms_enabled",), "true", "sms_enabled"),
    ("PATCH /contacts/{contact_id}", ("mobile_phone",), 12015550103, "mobile_phone"),
    ("POST /properties", ("address",), 5, "address"),
    ("POST /properties", ("parties",), {}, "parties"),
    ("POST /properties", ("sms_tasks",), "Walkthrough", "sms_tasks"),
    ("POST /properties", ("parties", 0, "contact_id"), 5, "parties.0.contact_id"),
    ("POST /properties", ("sms_tasks", 0, "recipient_roles"), "buyer", "sms_tasks.0.recipient_roles"),
    ("POST /properties/{property_id}/parties", ("contact_id",), 5, "contact_id"),
    ("POST /properties/{property_id}/parties", ("role",), ["buyer"], "role"),
    ("POST /properties/{property_id}/sms-tasks", ("name",), 5, "name"),
    ("POST /properties/{property_id}/sms-tasks", ("message",), 5, "message"),
    ("POST /properties/{property_id}/sms-tasks", ("recipient_roles",), "buyer", "recipient_roles"),
    ("POST /properties/{property_id}/sms-tasks", ("recipient_contact_ids",), {}, "recipient_contact_ids"),
    ("POST /properties/{property_id}/sms-tasks/{task_id}/recipients", ("contact_id",), 5, "contact_id"),
    (
        "POST /properties/{property_id}/sms-tasks/{task_id}/recipients",
        ("contact_id",),
        lambda ids: [ids.own.contact_id],
        "contact_id",
    ),
]

# (route, field path) of each required field. The PATCH body has none, but must not be empty.
REQUIRED: list[tuple[str, tuple[Any, ...]]] = [
    ("PUT /company", ("name",)),
    ("POST /contacts", ("name",)),
    ("POST /properties", ("address",)),
    ("POST /properties", ("parties", 0, "contact_id")),
    ("POST /properties", ("parties", 0, "role")),
    ("POST /properties", ("sms_tasks", 0, "name")),
    ("POST /properties", ("sms_tasks", 0, "message")),
    ("POST /properties/{property_id}/parties", ("contact_id",)),
    ("POST /properties/{property_id}/parties", ("role",)),
    ("POST /properties/{property_id}/sms-tasks", ("name",)),
    ("POST /properties/{property_id}/sms-tasks", ("message",)),
    ("POST /properties/{property_id}/sms-tasks/{task_id}/recipients", ("contact_id",)),
]

BAD_PHONES: list[tuple[str, str]] = [
    ("spaced-invalid-area-code", "+1 555 123 4567"),
    ("two-digits", "12"),
    ("letters", "abc"),
    ("unknown-country-code", "+999999999999999"),
    ("landline", LANDLINE),
    ("over-40-characters", "+1 201 555 0101 " + "0" * 30),
]

# Text fields that go into stored names, addresses and messages.
TEXT_FIELDS: list[tuple[str, tuple[Any, ...]]] = [
    ("PUT /company", ("name",)),
    ("PUT /company", ("support_contact",)),
    ("POST /contacts", ("name",)),
    ("PATCH /contacts/{contact_id}", ("name",)),
    ("POST /properties", ("address",)),
    ("POST /properties", ("sms_tasks", 0, "message")),
    ("POST /properties/{property_id}/sms-tasks", ("name",)),
    ("POST /properties/{property_id}/sms-tasks", ("message",)),
]

# Contact id fields, which must match ^[A-Za-z0-9_-]{1,64}$.
ID_FIELDS: list[tuple[str, tuple[Any, ...]]] = [
    ("POST /properties", ("parties", 0, "contact_id")),
    ("POST /properties/{property_id}/parties", ("contact_id",)),
    ("POST /properties/{property_id}/sms-tasks", ("recipient_contact_ids", 0)),
    ("POST /properties/{property_id}/sms-tasks/{task_id}/recipients", ("contact_id",)),
]

# (case id, value, product bug when text fields accept it)
ODD_UNICODE: list[tuple[str, str, str | None]] = [
    ("zero-width-spaces-only", "\u200b\u200b\u200b", None),
    ("nul-character", "Dana\u0000Buyer", None),
    ("right-to-left-override", "Dana \u202eReyub", None),
    ("10000-emoji", "\U0001f600" * 10_000, None),
]

# (route, field path, role field the error names)
ROLE_FIELDS: list[tuple[str, tuple[Any, ...], str]] = [
    ("POST /properties", ("parties", 0, "role"), "parties.0.role"),
    ("POST /properties", ("sms_tasks", 0, "recipient_roles", 0), "sms_tasks.0.recipient_roles"),
    ("POST /properties/{property_id}/parties", ("role",), "role"),
    ("POST /properties/{property_id}/sms-tasks", ("recipient_roles", 0), "recipient_roles"),
]

# (route, contact id field path, field the domain error names)
CONTACT_REFERENCES: list[tuple[str, tuple[Any, ...], str]] = [
    ("POST /properties", ("parties", 0, "contact_id"), "parties"),
    ("POST /properties", ("sms_tasks", 0, "recipient_contact_ids", 0), "sms_tasks.0.recipient_contact_ids"),
    ("POST /properties/{property_id}/parties", ("contact_id",), "contact_id"),
    ("POST /properties/{property_id}/sms-tasks", ("recipient_contact_ids", 0), "recipient_contact_ids"),
    ("POST /properties/{property_id}/sms-tasks/{task_id}/recipients", ("contact_id",), "contact_id"),
]


def _path_id(path: tuple[Any, ...]) -> str:
    return ".".join(str(step) for step in path)


def _whole_body_cases() -> list[BodyCase]:
    """Bodies that are wrong as a whole: not JSON, not an object, extra fields, too large."""
    cases: list[BodyCase] = []
    for key in VALID_BODIES:
        for case_id, body, status, field, bug in COMMON_CASES:
            cases.append(BodyCase(key, case_id, body, status, field, bug))
        in_list = _in_list(VALID_BODIES[key])
        cases.append(BodyCase(key, "json-array-of-valid-body", in_list, 422, None, None))

        company_field = with_field(key, ("company_id",), "bad-input-other")
        cases.append(BodyCase(key, "unknown-field-company_id", company_field, 422, "company_id"))
        unknown_field = with_field(key, ("nickname",), "Dee")
        cases.append(BodyCase(key, "unknown-field", unknown_field, 422, "nickname"))

        oversized = with_field(key, ("padding",), "x" * MAX_BODY_BYTES)
        cases.append(BodyCase(key, "over-64kb", oversized, 413))
        # 22,000 three-byte characters: under the limit in characters, over it in bytes.
        oversized_in_utf8 = with_field(key, ("padding",), "\u20ac" * 22_000)
        cases.append(BodyCase(key, "over-64kb-in-utf8", oversized_in_utf8, 413))
        oversized_malformed = raw("{" + "x" * MAX_BODY_BYTES)
        cases.append(BodyCase(key, "over-64kb-malformed-json", oversized_malformed, 413))

    # 50 tasks of 1,600 characters: every field is valid, so the guard's size check is reached.
    many_tasks = with_field(
        "POST /properties",
        ("sms_tasks",),
        [{"name": f"Task {n}", "message": "m" * 1600, "recipient_roles": ["buyer"]} for n in range(50)],
    )
    cases.append(BodyCase("POST /properties", "valid-fields-over-64kb", many_tasks, 413))
    return cases


def _field_cases() -> list[BodyCase]:
    """Bodies with one field of the wrong type, missing, or an invalid phone number."""
    cases: list[BodyCase] = []
    for key, path, value, field in WRONG_TYPES:
        case_id = f"wrong-type-{_path_id(path)}-{type(value).__name__}"
        cases.append(BodyCase(key, case_id, with_field(key, path, value), 422, field))

    for key, path in REQUIRED:
        cases.append(
            BodyCase(key, f"missing-{_path_id(path)}", without_field(key, path), 422, _path_id(path))
        )
    cases.append(BodyCase("PATCH /contacts/{contact_id}", "empty-object", lambda ids: {}, 422, "body"))

    for key in ("POST /contacts", "PATCH /contacts/{contact_id}"):
        for case_id, phone in BAD_PHONES:
            bad_phone = with_field(key, ("mobile_phone",), phone)
            cases.append(BodyCase(key, f"phone-{case_id}", bad_phone, 422, "mobile_phone"))
    return cases


def _value_cases() -> list[BodyCase]:
    """Bodies with odd Unicode, unknown roles, or contact ids the caller's company does not have."""
    cases: list[BodyCase] = []
    for key, path in TEXT_FIELDS:
        field = _path_id(path)
        for case_id, value, bug in ODD_UNICODE:
            cases.append(BodyCase(key, f"{field}-{case_id}", with_field(key, path, value), 422, field, bug))
        cases.append(BodyCase(key, f"{field}-lone-surrogate", _lone_surrogate_body(key, path), 422, field))

    for key, path in ID_FIELDS:
        field = _path_id(path)
        for case_id, value, _bug in ODD_UNICODE:
            cases.append(BodyCase(key, f"{field}-{case_id}", with_field(key, path, value), 422, field))
        cases.append(BodyCase(key, f"{field}-lone-surrogate", _lone_surrogate_body(key, path), 422, field))

    for key, path, field in ROLE_FIELDS:
        unknown_role = with_field(key, path, "landlord")
        cases.append(BodyCase(key, f"unknown-role-{_path_id(path)}", unknown_role, 422, field))
        capitalized_role = with_field(key, path, "Buyer")
        cases.append(BodyCase(key, f"capitalized-role-{_path_id(path)}", capitalized_role, 422, field))

    for key, path, field in CONTACT_REFERENCES:
        other = with_field(key, path, lambda ids: ids.other_contact_id)
        cases.append(BodyCase(key, f"other-company-contact-{_path_id(path)}", other, 422, field))
        unknown = with_field(key, path, uuid.UUID(int=7).hex)
        cases.append(BodyCase(key, f"unknown-contact-{_path_id(path)}", unknown, 422, field))
    return cases


def body_cases() -> list[BodyCase]:
    """Expand the tables above into one case per route and bad body."""
    return [*_whole_body_cases(), *_field_cases(), *_value_cases()]


def _in_list(valid: Body) -> Body:
    return lambda ids: [valid(ids)]


def _lone_surrogate_body(route_key: str, path: tuple[Any, ...]) -> Body:
    """Build the valid body with a lone high surrogate, escaped as \\ud800 in the JSON text."""
    marker = "LONE-SURROGATE-MARKER"
    with_marker = with_field(route_key, path, f"Dana {marker}")
    return lambda ids: Raw(json.dumps(with_marker(ids)).replace(marker, "\\ud800"))


def _as_param(case: BodyCase) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
    return pytest.param(case, id=f"{case.route_key} {case.case_id}", marks=marks)


def _send(world: ApiWorld, ids: Ids, route_key: str, body: Any) -> Any:
    target = route(route_key)
    path_parameters = ids.own.path_parameters(target)
    if isinstance(body, Raw) and body.data is not None:
        encoded = base64.b64encode(body.data).decode("ascii")
        return world.call(target, path_parameters, encoded, ids.own.claims, is_base64_encoded=True)
    text = body.text if isinstance(body, Raw) else json_text(body)
    return world.call(target, path_parameters, text, ids.own.claims)


def field_names(fields: list[dict[str, Any]]) -> list[str]:
    """Return each error field as dotted steps without the leading ``body``: ``parties.0.role``."""
    names = []
    for item in fields:
        name = re.sub(r"\[(\d+)\]", r".\1", str(item.get("field", "")))
        steps = name.split(".")
        if steps[:1] == ["body"] and len(steps) > 1:
            steps = steps[1:]
        names.append(".".join(steps))
    return names


def names_field(fields: list[dict[str, Any]], expected: str) -> bool:
    """Tell whether an error field is ``expected`` or lies inside it (``name.function-after`` counts)."""
    return any(name == expected or name.startswith(expected + ".") for name in field_names(fields))


@pytest.mark.parametrize("case", [_as_param(case) for case in body_cases()])
def test_bad_body_is_rejected_without_writes(world: ApiWorld, ids: Ids, case: BodyCase) -> None:
    reply = _send(world, ids, case.route_key, case.body(ids))
    error = reply.error()

    assert reply.status == case.status, f"{reply.status} {reply.body[:300]}; {world.last.describe()}"
    assert isinstance(error.get("code"), str), reply.body[:300]
    if case.status == 422 and case.field is not None:
        assert names_field(error.get("fields") or [], case.field), error
    if case.status == 422 and case.field is None:
        assert error.get("fields"), error
    assert world.last.dynamodb_writes == []
    assert world.last.events_published == 0
    assert world.last.texts_sent == 0


def test_every_body_route_has_cases() -> None:
    covered = {case.route_key for case in body_cases()}

    assert covered == {found.key for found in body_routes()}


def test_landline_sample_is_fixed_line() -> None:
    number = phonenumbers.parse(LANDLINE)

    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


# Path ids -----------------------------------------------------------------------------------------

BAD_IDS: list[tuple[str, str]] = [
    ("unknown-hex", uuid.UUID(int=42).hex),
    ("unknown-word", "no-such-id"),
    ("dot-dot", ".."),
    ("encoded-traversal", "%2e%2e%2fcompany"),
    ("space", "a b"),
    ("angle-brackets", "<script>"),
    ("quote-and-comment", "x'--"),
    ("non-latin", "\u540d\u524d"),
    ("right-to-left-override", "\u202eabc"),
    ("1100-characters", "a" * 1100),
]


def path_id_cases() -> list[Any]:
    params = []
    for target in template_routes():
        for parameter in target.parameters:
            for case_id, value in BAD_IDS:
                params.append(
                    pytest.param(target, parameter, value, id=f"{target.key} {parameter}={case_id}")
                )
    return params


@pytest.mark.parametrize(("target", "parameter", "value"), path_id_cases())
def test_bad_path_id_gives_404(world: ApiWorld, ids: Ids, target: Any, parameter: str, value: str) -> None:
    path_parameters = {**ids.own.path_parameters(target), parameter: value}
    body = json_text(VALID_BODIES[target.key](ids)) if target.takes_body else None

    reply = world.call(target, path_parameters, body, ids.own.claims)

    assert reply.status == 404, f"{reply.status} {reply.body[:300]}; {world.last.describe()}"
    assert reply.error().get("code") == "not_found", reply.body[:300]
    assert world.last.dynamodb_writes == []
    assert world.last.events_published == 0
    assert world.last.texts_sent == 0


# Asynchronous events ------------------------------------------------------------------------------

EventChange = Callable[[dict[str, Any]], Any]


def _event_without(*path: str) -> EventChange:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        target: Any = event
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
        return event

    return change


def _event_with(path: tuple[Any, ...], value: Any) -> EventChange:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        target: Any = event
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return event

    return change


def _message(**changes: Any) -> EventChange:
    """Change fields of the JSON Message of the first SNS record. A None value removes the field."""

    def change(event: dict[str, Any]) -> dict[str, Any]:
        sns = event["Records"][0]["Sns"]
        message = json.loads(sns["Message"])
        for name, value in changes.items():
            if value is None:
                message.pop(name, None)
            else:
                message[name] = value
        sns["Message"] = json.dumps(message)
        return event

    return change


def _replace_event(value: Any) -> EventChange:
    return lambda event: value


ENVELOPE_CHANGES: list[tuple[str, EventChange]] = [
    ("empty-dict", _replace_event({})),
    ("list-event", _replace_event([])),
    ("missing-detail", _event_without("detail")),
    ("detail-list", _event_with(("detail",), [])),
    ("detail-string", _event_with(("detail",), "company_id=acme")),
    ("detail-null", _event_with(("detail",), None)),
    ("missing-id", _event_without("id")),
    ("id-number", _event_with(("id",), 5)),
    ("company_id-missing", _event_without("detail", "company_id")),
    ("company_id-number", _event_with(("detail", "company_id"), 5)),
    ("company_id-empty", _event_with(("detail", "company_id"), "")),
]

# (sample event file, function, changes particular to that event type)
EVENT_TYPES: list[tuple[str, str, list[tuple[str, EventChange]]]] = [
    (
        "eventbridge_tasks_launched.json",
        "launch_tasks",
        [
            ("property_id-missing", _event_without("detail", "property_id")),
            ("property_id-empty", _event_with(("detail", "property_id"), "")),
            ("property_id-list", _event_with(("detail", "property_id"), ["p"])),
        ],
    ),
    (
        "eventbridge_party_added.json",
        "party_added",
        [
            ("property_id-missing", _event_without("detail", "property_id")),
            ("contact_id-missing", _event_without("detail", "contact_id")),
            ("role-missing", _event_without("detail", "role")),
            ("contact_id-number", _event_with(("detail", "contact_id"), 5)),
            ("unknown-detail-type", _event_with(("detail-type",), "Party Removed")),
            ("missing-detail-type", _event_without("detail-type")),
        ],
    ),
    (
        "eventbridge_recipient_added.json",
        "party_added",
        [
            ("property_id-missing", _event_without("detail", "property_id")),
            ("contact_ids-missing", _event_without("detail", "contact_ids")),
            ("contact_ids-empty", _event_with(("detail", "contact_ids"), [])),
            ("contact_ids-string", _event_with(("detail", "contact_ids"), "abc")),
            ("contact_ids-numbers", _event_with(("detail", "contact_ids"), [1, 2])),
        ],
    ),
    (
        "eventbridge_contact_updated.json",
        "party_added",
        [
            ("contact_id-missing", _event_without("detail", "contact_id")),
            ("contact_id-empty", _event_with(("detail", "contact_id"), "")),
            ("contact_id-dict", _event_with(("detail", "contact_id"), {"id": "x"})),
        ],
    ),
]

SNS_CHANGES: list[tuple[str, EventChange]] = [
    ("empty-dict", _replace_event({})),
    ("list-event", _replace_event([])),
    ("records-missing", _event_without("Records")),
    ("records-dict", _event_with(("Records",), {"0": {}})),
    ("records-string", _event_with(("Records",), "records")),
    ("record-string", _event_with(("Records", 0), "record")),
    ("record-without-sns", _event_without("Records", 0, "Sns")),
    ("sns-null", _event_with(("Records", 0, "Sns"), None)),
    ("message-missing", _event_without("Records", 0, "Sns", "Message")),
    ("message-not-json", _event_with(("Records", 0, "Sns", "Message"), "YES from +12015550101")),
    ("message-number", _event_with(("Records", 0, "Sns", "Message"), 5)),
    ("message-json-list", _event_with(("Records", 0, "Sns", "Message"), "[]")),
    ("message-json-null", _event_with(("Records", 0, "Sns", "Message"), "null")),
    ("originationNumber-missing", _message(originationNumber=None)),
    ("originationNumber-empty", _message(originationNumber="")),
    ("originationNumber-number", _message(originationNumber=12015550101)),
    ("originationNumber-letters", _message(originationNumber="abc")),
    ("originationNumber-two-digits", _message(originationNumber="12")),
    ("originationNumber-invalid-area-code", _message(originationNumber="+1 555 123 4567")),
    ("originationNumber-unknown-country-code", _message(originationNumber="+999999999999999")),
    ("destinationNumber-missing", _message(destinationNumber=None)),
    ("messageBody-missing", _message(messageBody=None)),
    ("messageBody-number", _message(messageBody=5)),
    ("messageBody-over-2000", _message(messageBody="Y" * 2001)),
    ("inboundMessageId-missing", _message(inboundMessageId=None)),
]

SCHEDULE_CHANGES: list[tuple[str, EventChange]] = [
    ("empty-dict", _replace_event({})),
    ("list-event", _replace_event([])),
    ("missing-detail", _event_without("detail")),
    ("detail-list", _event_with(("detail",), [])),
    ("detail-string", _event_with(("detail",), "now")),
]


def _seeded_event(name: str, own: SeededCompany) -> dict[str, Any]:
    """Load a sample event and point its ids at the seeded company, so a valid copy would act."""
    text = (
        json_text(load_event(name))
        .replace("acme-realty", own.company_id)
        .replace("3f6c0e0b9d2a4f59a1c1d2e3f4a5b6c7", own.contact_id)
        .replace("9a8b7c6d5e4f40312233445566778899", own.property_id)
        .replace("1a2b3c4d5e6f47788990aabbccddeeff", own.task_id)
        .replace("+12015550101", own.phone)
    )
    return json.loads(text)


def event_cases() -> list[Any]:
    params = []
    for name, function, particular in EVENT_TYPES:
        for case_id, change in [*ENVELOPE_CHANGES, *particular]:
            params.append(pytest.param(name, function, change, id=f"{name} {case_id}"))
    for case_id, change in SNS_CHANGES:
        params.append(
            pytest.param("sns_inbound_sms.json", "inbound_sms", change, id=f"sns_inbound_sms.json {case_id}")
        )
    for name, function in (
        ("schedule_release_scheduled.json", "release_scheduled"),
        ("schedule_sync_opt_outs.json", "sync_opt_outs"),
    ):
        for case_id, change in SCHEDULE_CHANGES:
            params.append(pytest.param(name, function, change, id=f"{name} {case_id}"))
    return params


@pytest.mark.parametrize(("name", "function", "change"), event_cases())
def test_malformed_event_is_dropped_quietly(
    world: ApiWorld, ids: Ids, name: str, function: str, change: EventChange
) -> None:
    event = change(_seeded_event(name, ids.own))

    world.invoke(function, event)

    assert world.last.dynamodb_writes == []
    assert world.last.events_published == 0
    assert world.last.texts_sent == 0


@pytest.mark.parametrize("key", list(VALID_BODIES))
def test_valid_body_is_accepted(world: ApiWorld, ids: Ids, key: str) -> None:
    """Control case: the unchanged body succeeds, so each rejection above comes from its one change."""
    reply = _send(world, ids, key, VALID_BODIES[key](ids))

    assert 200 <= reply.status < 300, reply.body[:300]
