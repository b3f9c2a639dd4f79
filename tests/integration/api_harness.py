"""Call the functions' entry points with real event shapes under moto, and count what each call writes.

`open_world()` starts moto, creates the tables from template.yaml, an event bus, a fake SMS sender
and a manual clock. `ApiWorld.call` builds an API Gateway HTTP API (payload format 2.0) event for one
route of template.yaml and sends it to the function that serves that route in the template. During
each call it records the DynamoDB write requests and the EventBridge PutEvents requests.
`seed_company` creates a company's data through the API itself.
"""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from sms_consent import container
from sms_consent.adapters.dynamodb import dynamodb_event_emitter
from sms_consent.domain.clock import ManualClock

from tests.fakes import FakeSmsSender
from tests.integration.conftest import REGION, TABLES, create_table, table_properties

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
EVENTS = ROOT / "events"

OUR_NUMBER = "+12015550100"
EVENT_BUS = "sms-consent-test"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New Jersey, outside quiet hours

# DynamoDB operations that change a table.
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})

# The body API Gateway returns when the integration function raises instead of returning a response.
INTEGRATION_ERROR_BODY = '{"message":"Internal Server Error"}'

# Routes whose handler reads a JSON request body.
BODY_ROUTE_KEYS = (
    "PUT /company",
    "POST /contacts",
    "PATCH /contacts/{contact_id}",
    "POST /properties",
    "POST /properties/{property_id}/parties",
    "POST /properties/{property_id}/sms-tasks",
    "POST /properties/{property_id}/sms-tasks/{task_id}/recipients",
)


# Routes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One HttpApi route of template.yaml and the folder under functions/ of the function serving it."""

    function: str
    method: str
    path: str

    @property
    def key(self) -> str:
        """The route key as API Gateway writes it, for example ``GET /contacts/{contact_id}``."""
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))

    @property
    def takes_body(self) -> bool:
        return self.key in BODY_ROUTE_KEYS

    def raw_path(self, path_parameters: dict[str, str]) -> str:
        """Fill the path template with ``path_parameters``, inserting each value without URL encoding."""
        return re.sub(r"\{(\w+)\}", lambda match: path_parameters[match.group(1)], self.path)


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short-form tags such as ``!Ref`` and ``!Sub``."""


def _construct_tagged(loader: _TemplateLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_TemplateLoader.add_multi_constructor("!", _construct_tagged)


@cache
def template_routes() -> tuple[Route, ...]:
    """Read every HttpApi event of every function in template.yaml, in template order."""
    with TEMPLATE_PATH.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    routes = []
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        function = Path(properties["CodeUri"]).name
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                routes.append(Route(function, event["Properties"]["Method"], event["Properties"]["Path"]))
    return tuple(routes)


def route(key: str) -> Route:
    """Return the template route with this key, for example ``route("GET /company")``."""
    for found in template_routes():
        if found.key == key:
            return found
    raise KeyError(f"template.yaml has no HttpApi route {key!r}")


def body_routes() -> tuple[Route, ...]:
    return tuple(route(key) for key in BODY_ROUTE_KEYS)


# Events -------------------------------------------------------------------------------------------


def claims_for(company_id: Any) -> dict[str, Any]:
    """JWT claims as the HTTP API's JWT authorizer passes them, with this ``company_id``."""
    return {
        "aud": "sms-consent",
        "company_id": company_id,
        "exp": "1796000000",
        "iat": "1795996400",
        "iss": "https://auth.example.com/",
        "sub": "agent-42",
    }


def api_event(
    route: Route,
    path_parameters: dict[str, str] | None = None,
    body: str | None = None,
    claims: dict[str, Any] | None = None,
    is_base64_encoded: bool = False,
) -> dict[str, Any]:
    """Build an HTTP API payload 2.0 event for ``route``.

    ``claims`` None leaves out the authorizer, as for a request that never passed the JWT
    authorizer. ``body`` is sent exactly as given.
    """
    path_parameters = path_parameters or {}
    raw_path = route.raw_path(path_parameters)
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5",
        "http": {
            "method": route.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "pytest",
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": route.key,
        "stage": "$default",
        "time": "07/Dec/2026:15:00:00 +0000",
        "timeEpoch": int(NOW.timestamp() * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "content-type": "application/json"},
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


def load_event(name: str) -> dict[str, Any]:
    """Return a fresh copy of a sample event from events/."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def lambda_context(function: str) -> SimpleNamespace:
    return SimpleNamespace(
        function_name=function,
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{function}",
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: 15000,
    )


@cache
def entry_point(function: str) -> Callable[[Any, Any], Any]:
    """Load ``functions/<function>/app.py`` by file path, once, and return its ``lambda_handler``."""
    spec = importlib.util.spec_from_file_location(
        f"function_{function}", ROOT / "functions" / function / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


# Calls --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiReply:
    """Status, headers and body text of one HTTP API response."""

    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> dict[str, Any]:
        """Return the ``error`` object of a JSON error body, or an empty dict when there is none."""
        try:
            value = self.json()
        except ValueError:
            return {}
        found = value.get("error") if isinstance(value, dict) else None
        return found if isinstance(found, dict) else {}


@dataclass
class CallLog:
    """AWS requests and texts recorded during one call."""

    dynamodb_writes: list[str] = field(default_factory=list)
    events_published: int = 0
    texts_sent: int = 0
    exception: Exception | None = None

    def describe(self) -> str:
        """Summarize the call for an assertion message: writes, and the exception if one escaped."""
        text = f"DynamoDB writes {self.dynamodb_writes}, events published {self.events_published}"
        if self.exception is not None:
            text += f", unhandled {type(self.exception).__name__}: {self.exception}"
        return text


class ApiWorld:
    """A mocked AWS account with the application's tables, bus, fake SMS sender and manual clock."""

    def __init__(self, sender: FakeSmsSender, clock: ManualClock) -> None:
        self.sender = sender
        self.clock = clock
        self.last = CallLog()
        self._recording: CallLog | None = None
        self._hooks: list[tuple[Any, str, Callable[..., None]]] = []

    @property
    def container(self) -> Any:
        return container.get_container()

    def start_counting(self) -> None:
        """Register the request hooks. Call it after the container is configured inside the mock."""
        built = container.get_container()
        dynamodb_emitters = [
            dynamodb_event_emitter(built.dynamo_config),
            built.aws.client("dynamodb").meta.events,
        ]
        for emitter in dynamodb_emitters:
            self._register(emitter, "before-call.dynamodb", self._on_dynamodb_call)
        self._register(built.aws.client("events").meta.events, "before-call", self._on_events_call)

    def stop_counting(self) -> None:
        for emitter, event_name, handler in self._hooks:
            emitter.unregister(event_name, handler, unique_id=f"api-harness-{id(self)}-{event_name}")
        self._hooks.clear()

    def _register(self, emitter: Any, event_name: str, handler: Callable[..., None]) -> None:
        emitter.register(event_name, handler, unique_id=f"api-harness-{id(self)}-{event_name}")
        self._hooks.append((emitter, event_name, handler))

    def _on_dynamodb_call(self, model: Any, **_: Any) -> None:
        if self._recording is not None and model.name in DYNAMODB_WRITES:
            self._recording.dynamodb_writes.append(model.name)

    def _on_events_call(self, model: Any, **_: Any) -> None:
        if self._recording is not None and model.name == "PutEvents":
            self._recording.events_published += 1

    def invoke(self, function: str, event: Any) -> Any:
        """Run ``functions/<function>/app.py`` on ``event`` and record its writes and texts in ``last``.

        An exception from the handler propagates after the record is stored.
        """
        self.last = CallLog()
        self._recording = self.last
        texts_before = len(self.sender.sent)
        try:
            return entry_point(function)(event, lambda_context(function))
        finally:
            self._recording = None
            self.last.texts_sent = len(self.sender.sent) - texts_before

    def call(
        self,
        route: Route,
        path_parameters: dict[str, str] | None = None,
        body: str | None = None,
        claims: dict[str, Any] | None = None,
        is_base64_encoded: bool = False,
    ) -> ApiReply:
        """Send one request to the function that serves ``route`` and return its response.

        An exception that escapes the function becomes a 500, as API Gateway returns it, and is kept
        in ``last.exception``.
        """
        event = api_event(route, path_parameters, body, claims, is_base64_encoded)
        try:
            response = self.invoke(route.function, event)
        except Exception as error:  # noqa: BLE001 - API Gateway turns any function error into a 500
            self.last.exception = error
            return ApiReply(500, {"content-type": "application/json"}, INTEGRATION_ERROR_BODY)
        return ApiReply(
            status=response["statusCode"],
            headers=dict(response.get("headers") or {}),
            body=response.get("body") or "",
        )


@contextmanager
def open_world() -> Iterator[ApiWorld]:
    """Start moto with the tables, the bus and the container configured as in Lambda.

    Usable from a fixture of any scope, because it sets the environment with its own MonkeyPatch.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "EVENT_BUS_NAME": EVENT_BUS,
            "ORIGINATION_NUMBER": OUR_NUMBER,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "SmsConsentTest",
            "POWERTOOLS_SERVICE_NAME": "sms-consent",
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            patch.delenv(name, raising=False)

        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION)
            properties = table_properties()
            for logical_id, (table_name, variable) in TABLES.items():
                create_table(client, table_name, properties[logical_id])
                patch.setenv(variable, table_name)
            boto3.client("events", region_name=REGION).create_event_bus(Name=EVENT_BUS)

            sender = FakeSmsSender(OUR_NUMBER)
            clock = ManualClock(NOW)
            container.configure(clock=clock, sender=sender)
            world = ApiWorld(sender, clock)
            world.start_counting()
            try:
                yield world
            finally:
                world.stop_counting()
                container.reset()


# Seed data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededCompany:
    """A company with one contact, and one property whose SMS task goes to that contact as buyer."""

    company_id: str
    name: str
    contact_id: str
    contact_name: str
    phone: str
    property_id: str
    address: str
    task_id: str
    launched: bool

    @property
    def claims(self) -> dict[str, Any]:
        return claims_for(self.company_id)

    def path_parameters(self, route: Route) -> dict[str, str]:
        """Return this company's ids for every parameter of ``route``."""
        ids = {"contact_id": self.contact_id, "property_id": self.property_id, "task_id": self.task_id}
        return {name: ids[name] for name in route.parameters}

    def private_values(self) -> tuple[str, ...]:
        """Values that only this company's own responses may contain."""
        return (self.name, self.contact_name, self.phone, self.address)


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def seed_company(
    world: ApiWorld,
    company_id: str,
    *,
    name: str,
    phone: str,
    contact_name: str = "Dana Buyer",
    address: str = "12 Harbor Way",
    launched: bool = False,
) -> SeededCompany:
    """Create a company profile, a contact, and a property with one SMS task, through the API.

    The contact is the property's buyer, and the task goes to every buyer. ``launched`` launches
    the property too. Raises AssertionError when a seeding request does not succeed.
    """
    claims = claims_for(company_id)

    def send(key: str, body: Any, path_parameters: dict[str, str] | None = None) -> Any:
        text = None if body is None else json_text(body)
        reply = world.call(route(key), path_parameters, text, claims)
        assert reply.status < 300, f"seeding {key} failed with {reply.status}: {reply.body}"
        return reply.json()

    send("PUT /company", {"name": name})
    contact = send("POST /contacts", {"name": contact_name, "mobile_phone": phone, "sms_enabled": True})
    prop = send(
        "POST /properties",
        {
            "address": address,
            "parties": [{"contact_id": contact["contact_id"], "role": "buyer"}],
            "sms_tasks": [
                {"name": "Closing reminder", "message": "Closing is on Friday.", "recipient_roles": ["buyer"]}
            ],
        },
    )
    if launched:
        send("POST /properties/{property_id}/launch", None, {"property_id": prop["property_id"]})
    return SeededCompany(
        company_id=company_id,
        name=name,
        contact_id=contact["contact_id"],
        contact_name=contact_name,
        phone=contact["mobile_phone"],
        property_id=prop["property_id"],
        address=address,
        task_id=prop["task_ids"][0],
        launched=launched,
    )
