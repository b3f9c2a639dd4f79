"""HTTP front of the local stack: the template's API routes and the local-only ``/local/*`` routes.

The ``/local/*`` routes exist only here, never in the deployed API. They show the outbox, move
the clock, simulate inbound texts and carrier opt-outs, tell tests when all events are handled,
and serve the committed OpenAPI document with a Swagger UI page that needs no network access.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from local import REPO_ROOT
from local.apigateway import COMPANY_HEADER, HttpRequest, RouteTable, build_event, to_http_response
from local.wsgi import make_threaded_server

if TYPE_CHECKING:
    from local.stack import LocalStack

logger = logging.getLogger(__name__)

MAX_API_BODY_BYTES = 10 * 1024 * 1024  # the HTTP API payload quota
MAX_LOCAL_BODY_BYTES = 64 * 1024
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Tests and the demo poll these paths, and printing each request would bury the other lines.
UNPRINTED_PATHS = {"/local/idle", "/local/health"}
OPENAPI_DOCUMENT = REPO_ROOT / "openapi.json"
OPENAPI_PATH = "/local/openapi.json"
SWAGGER_PATH = "/local/swagger"
# Swagger UI files that aws-lambda-powertools ships in event_handler/openapi/swagger_ui, with the
# media type of each. Serving them from the stack keeps the page working without network access.
SWAGGER_ASSETS = {
    "swagger-ui-bundle.min.js": "text/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}


class InvalidRequest(Exception):
    """Error for an invalid body of a local route. ``field`` names the first invalid field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


# Bounds of the local clock: datetime arithmetic overflows near the years 1 and 9999, and the
# schedules step through the time between two clock positions.
_CLOCK_MIN = datetime(1970, 1, 1, tzinfo=UTC)
_CLOCK_MAX = datetime(9000, 1, 1, tzinfo=UTC)
_MAX_ADVANCE_SECONDS = 10 * 365 * 86400


def json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(value), status=status, headers=headers, content_type="application/json")


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["fields"] = [{"field": field, "message": message}]
    return json_response(status, {"error": error})


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without its own request line, because the server prints a shorter one."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LocalHttpServer:
    """Serve the stack over HTTP on ``host:port`` from a background thread (threaded server)."""

    def __init__(
        self, stack: LocalStack, host: str, port: int, printer: Callable[[str], None] = print
    ) -> None:
        self._stack = stack
        self._host = host
        self._requested_port = port
        self._print = printer
        self._routes = RouteTable(stack.description.routes if stack.description else [])
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._local_routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/local/health"): self._health,
            ("GET", "/local/idle"): self._idle,
            ("GET", "/local/outbox"): self._outbox,
            ("POST", "/local/inbound-sms"): self._inbound_sms,
            ("GET", "/local/clock"): self._get_clock,
            ("POST", "/local/clock"): self._move_clock,
            ("POST", "/local/opt-out-list"): self._add_opt_out,
            ("GET", "/local/dead-letters"): self._dead_letters,
            ("GET", OPENAPI_PATH): self._openapi_document,
            ("GET", SWAGGER_PATH): self._swagger_page,
        }
        for asset in SWAGGER_ASSETS:
            self._local_routes[("GET", f"{SWAGGER_PATH}/{asset}")] = self._swagger_asset

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HTTP server is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._server = make_threaded_server(
            self._host, self._requested_port, self.wsgi_app, QuietRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    # Dispatch -------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        started = time.monotonic()
        if request.path == "/local" or request.path.startswith("/local/"):
            response = self._local(request)
        else:
            response = self._api(request)
        if request.path not in UNPRINTED_PATHS:
            elapsed_ms = (time.monotonic() - started) * 1000
            self._print(
                f"[http]   {request.method} {request.path} -> {response.status_code} ({elapsed_ms:.0f} ms)"
            )
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        if request.content_length is not None and request.content_length > MAX_API_BODY_BYTES:
            return json_response(413, {"message": "Request Entity Too Large"})
        match = self._routes.match(request.method, request.path)
        if match is None:
            # The deployed HTTP API returns this body for a route the template does not declare.
            return json_response(404, {"message": "Not Found"})
        if not request.headers.get(COMPANY_HEADER):
            # The deployed JWT authorizer rejects a request without a token before any function runs,
            # with this body. The hint is local only, because locally the header replaces the token's claim.
            return json_response(
                401,
                {
                    "message": "Unauthorized",
                    "hint": f"send {COMPANY_HEADER}: <company id>; locally it replaces the JWT claim",
                },
            )
        http_request = HttpRequest(
            method=request.method,
            path=request.path,
            raw_query=request.query_string.decode("latin-1"),
            headers=list(request.headers.items()),
            body=request.get_data(cache=False),
            source_ip=request.remote_addr or "127.0.0.1",
            host=request.host,
        )
        event = build_event(http_request, match, self._stack.clock.now())
        try:
            result = self._stack.runner.invoke(match.route.function_id, event)
        except Exception as error:  # noqa: BLE001 - API Gateway answers 500 for any function error
            logger.exception(
                "%s raised %s on %s", match.route.function_id, type(error).__name__, match.route.route_key
            )
            return json_response(500, {"message": "Internal Server Error"})
        converted = to_http_response(result)
        return Response(converted.body, status=converted.status, headers=converted.headers)

    def _local(self, request: Request) -> Response:
        handler = self._local_routes.get((request.method, request.path))
        if handler is None:
            allowed = sorted(method for method, path in self._local_routes if path == request.path)
            if allowed:
                return error_response(
                    405, "method_not_allowed", f"use {' or '.join(allowed)} on {request.path}"
                )
            return error_response(404, "not_found", f"no local route {request.path}")
        try:
            return handler(request)
        except InvalidRequest as error:
            return error_response(400, "invalid_request", error.message, error.field)

    # Local routes ---------------------------------------------------------------------------

    def _health(self, request: Request) -> Response:
        return json_response(
            200,
            {
                "status": "ok",
                "now": self._stack.clock.now().isoformat(),
                "moto_endpoint": self._stack.moto.endpoint_url,
            },
        )

    def _idle(self, request: Request) -> Response:
        """Report whether all events are handled; ``?wait_seconds=N`` (at most 30) waits for it."""
        raw_wait = request.args.get("wait_seconds", "0")
        try:
            wait_seconds = float(raw_wait)
        except ValueError:
            raise InvalidRequest("wait_seconds", "must be a number of seconds") from None
        if not 0 <= wait_seconds <= 30:
            raise InvalidRequest("wait_seconds", "must be between 0 and 30")
        idle = self._stack.wait_until_idle(wait_seconds) if wait_seconds else self._stack.is_idle()
        return json_response(200, {"idle": idle})

    def _outbox(self, request: Request) -> Response:
        return json_response(200, self._stack.outbox.entries_as_json())

    def _dead_letters(self, request: Request) -> Response:
        return json_response(200, [letter.as_json() for letter in self._stack.runner.dead_letters])

    def _get_clock(self, request: Request) -> Response:
        return json_response(200, {"now": self._stack.clock.now().isoformat()})

    def _move_clock(self, request: Request) -> Response:
        body = _json_object(request, allowed={"advance_seconds", "now"})
        if ("advance_seconds" in body) == ("now" in body):
            raise InvalidRequest("advance_seconds", "give exactly one of advance_seconds and now")
        if "now" in body:
            new_time = _aware_datetime(body["now"], "now")
            if not _CLOCK_MIN <= new_time <= _CLOCK_MAX:
                raise InvalidRequest("now", "must be between the years 1970 and 9000")
            now, ran = self._stack.move_clock(now=new_time)
        else:
            seconds = body["advance_seconds"]
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
            ):
                raise InvalidRequest("advance_seconds", "must be a number of seconds")
            if seconds < 0:
                raise InvalidRequest("advance_seconds", "must not be negative; to go back, set now")
            if seconds > _MAX_ADVANCE_SECONDS:
                raise InvalidRequest("advance_seconds", f"must be at most {_MAX_ADVANCE_SECONDS} (10 years)")
            if self._stack.clock.now() + timedelta(seconds=seconds) > _CLOCK_MAX:
                raise InvalidRequest(
                    "advance_seconds", "would move the clock past the year 9000; set now instead"
                )
            now, ran = self._stack.move_clock(advance_seconds=float(seconds))
        return json_response(200, {"now": now.isoformat(), "ran": ran})

    def _inbound_sms(self, request: Request) -> Response:
        body = _json_object(
            request, allowed={"from", "to", "body", "inbound_message_id", "previous_published_message_id"}
        )
        from_number = _phone(body, "from", required=True)
        to_number = _phone(body, "to", required=False)
        text = body.get("body")
        if not isinstance(text, str):
            raise InvalidRequest("body", "is required and must be a string")
        if len(text) > 1600:
            raise InvalidRequest("body", "must be at most 1600 characters")
        inbound_id = _optional_text(body, "inbound_message_id")
        previous_id = _optional_text(body, "previous_published_message_id")
        inbound_message_id = self._stack.publish_inbound_sms(
            from_number, text, to_number, inbound_id, previous_id
        )
        return json_response(202, {"inbound_message_id": inbound_message_id})

    def _openapi_document(self, request: Request) -> Response:
        # The file is read on every request, so a `make openapi` run shows without a restart.
        try:
            document = OPENAPI_DOCUMENT.read_bytes()
        except FileNotFoundError:
            return error_response(
                404, "not_found", f"{OPENAPI_DOCUMENT.name} is missing; generate it with make openapi"
            )
        return Response(document, status=200, content_type="application/json")

    def _swagger_page(self, request: Request) -> Response:
        return Response(swagger_page(), status=200, content_type="text/html; charset=utf-8")

    def _swagger_asset(self, request: Request) -> Response:
        name = request.path.rsplit("/", 1)[-1]
        return Response(
            (swagger_ui_directory() / name).read_bytes(), status=200, content_type=SWAGGER_ASSETS[name]
        )

    def _add_opt_out(self, request: Request) -> Response:
        body = _json_object(request, allowed={"phone"})
        phone = _phone(body, "phone", required=True)
        self._stack.outbox.add_opted_out(phone)
        return json_response(200, {"opted_out": sorted(self._stack.outbox.opted_out)})


# Swagger UI ------------------------------------------------------------------------------------


def swagger_ui_directory() -> Path:
    """Return the folder of the Swagger UI files bundled with aws-lambda-powertools."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    return Path(swagger_ui.__file__).parent


def swagger_page() -> str:
    """Build the Swagger UI page for the served OpenAPI document, with local script and style URLs.

    Powertools' ``generate_swagger_html`` embeds the document in the page. This page loads it from
    `OPENAPI_PATH` instead, so the page and that route always show the same file. ``validatorUrl``
    is null because Swagger UI's default is https://validator.swagger.io/validator, which its
    validator badge would load.
    """
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>SMS consent API (local stack)</title>
  <link rel="stylesheet" href="{SWAGGER_PATH}/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{SWAGGER_PATH}/swagger-ui-bundle.min.js"></script>
  <script>
    SwaggerUIBundle({{
      url: "{OPENAPI_PATH}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null
    }});
  </script>
</body>
</html>
"""


# Validation of local request bodies ------------------------------------------------------------


def _json_object(request: Request, allowed: set[str]) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_LOCAL_BODY_BYTES:
        raise InvalidRequest("body", f"must be at most {MAX_LOCAL_BODY_BYTES} bytes")
    raw = request.get_data(cache=False)
    try:
        value = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise InvalidRequest("body", "is not valid JSON, or nests too deeply") from None
    if not isinstance(value, dict):
        raise InvalidRequest("body", "must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidRequest(unknown[0], f"is not a known field; use {', '.join(sorted(allowed))}")
    return value


def _phone(body: dict[str, Any], name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not E164.match(value):
        raise InvalidRequest(name, "must be an E.164 phone number such as +12015550101")
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise InvalidRequest(name, "must be a string of 1 to 200 characters")
    return value


def _aware_datetime(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(name, "must be an ISO 8601 string such as 2026-12-07T15:00:00+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(name, "must be an ISO 8601 string such as 2026-12-07T15:00:00+00:00") from None
    if parsed.tzinfo is None:
        raise InvalidRequest(name, "needs a UTC offset, for example 2026-12-07T15:00:00Z")
    return parsed
