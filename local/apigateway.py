"""HTTP API emulation: match the template's routes and build payload format 2.0 events.

Locally there is no JWT authorizer. The ``X-Company-Id`` request header supplies the
``company_id`` claim that the deployed API takes from a verified access token. Without the
header the event has no authorizer, and the functions return 401. Only the local stack reads
this header.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.template import ACCOUNT_ID, HttpRoute

COMPANY_HEADER = "X-Company-Id"
API_ID = "local"
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)


@dataclass(frozen=True)
class RouteMatch:
    """A route of the template that matches a request, with the values of its path parameters."""

    route: HttpRoute
    path_parameters: dict[str, str]


class RouteTable:
    """The template's HttpApi routes, matched as API Gateway HTTP APIs match them.

    A ``{name}`` segment matches one path segment and ``{name+}`` the rest of the path. The
    route with the most literal characters wins, so ``/contacts/{id}/consent-history.csv``
    beats a greedy route over the same path.
    """

    def __init__(self, routes: list[HttpRoute]) -> None:
        compiled = [(route, _compile(route.path)) for route in routes if route.path != "$default"]
        self._routes = sorted(compiled, key=lambda item: -len(re.sub(r"\{[^}]+\}", "", item[0].path)))
        self._default = next((route for route in routes if route.path == "$default"), None)

    def match(self, method: str, path: str) -> RouteMatch | None:
        for route, pattern in self._routes:
            if route.method not in (method, "ANY"):
                continue
            found = pattern.fullmatch(path)
            if found:
                return RouteMatch(route, {key: value for key, value in found.groupdict().items()})
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None


def _compile(path: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                pattern += f"(?P<{_group(name[:-1])}>.+)"
            else:
                pattern += f"(?P<{_group(name)}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"path parameter {{{name}}} is not a valid name for the local route table")
    return name


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an incoming HTTP request that the event needs."""

    method: str
    path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str


def build_event(request: HttpRequest, match: RouteMatch, now: datetime) -> dict[str, Any]:
    """Build the API Gateway HTTP API payload format 2.0 event of a matched request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value

    route_key = "$default" if match.route.path == "$default" else match.route.route_key
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S %z"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if request.body:
        if _is_text(headers.get("content-type", ""), request.body):
            event["body"] = request.body.decode("utf-8")
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    company_id = headers.get(COMPANY_HEADER.lower())
    if company_id:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": {"company_id": company_id, "sub": f"local-user-{company_id}"}, "scopes": None}
        }
    return event


def _query_parameters(raw_query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    values: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        values[key] = f"{values[key]},{value}" if key in values else value
    return values


def _is_text(content_type: str, body: bytes) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    if kind and not kind.startswith(_TEXT_TYPES) and not kind.endswith("+json"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class HttpResponse:
    """A response to send back: status, headers and body bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def to_http_response(result: Any) -> HttpResponse:
    """Convert a handler's return value to an HTTP response as HTTP APIs do for format 2.0.

    A dict with ``statusCode`` is used as it is; any other value is sent as a 200 JSON body.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode("utf-8"))
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, payload)
