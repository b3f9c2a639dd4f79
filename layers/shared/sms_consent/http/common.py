"""Pieces every HTTP resolver shares: the caller's company, body limits and error mapping."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from sms_consent.container import get_container
from sms_consent.errors import ConsentServiceError, Unauthorized
from sms_consent.http.errors import error_response, service_error_response

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
COMPANY_CLAIM = "company_id"
_COMPANY_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def company_id_of(app: APIGatewayHttpResolver) -> str:
    """Return the ``company_id`` claim of the JWT authorizer; it keys every read and write.

    The company never comes from the body or the path, so a caller cannot reach another
    company's data by naming it.
    """
    return company_id_in(app.current_event.raw_event)


def company_id_in(event: Any) -> str:
    """Return the ``company_id`` claim of a payload-2.0 event, or raise `Unauthorized`."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    authorizer = (context.get("authorizer") if isinstance(context, dict) else None) or {}
    jwt = (authorizer.get("jwt") if isinstance(authorizer, dict) else None) or {}
    claims = (jwt.get("claims") if isinstance(jwt, dict) else None) or {}
    value = claims.get(COMPANY_CLAIM) if isinstance(claims, dict) else None
    if not isinstance(value, str) or not _COMPANY_ID.match(value):
        raise Unauthorized("missing or malformed company_id claim in the access token")
    return value


def request_id_of(app: APIGatewayHttpResolver) -> str:
    return str((app.current_event.raw_event.get("requestContext") or {}).get("requestId") or "")


def _rejection(event: Any) -> tuple[int, str, str, list[dict[str, str]] | None] | None:
    """Return status, code and message for a request to reject before routing, or None.

    Besides the claim and the size, the body must be UTF-8 JSON whose top level is an object:
    Powertools would otherwise validate only the first element of a JSON array.
    """
    try:
        company_id_in(event)
    except Unauthorized as error:
        return 401, "unauthorized", error.message, None
    body = event.get("body") or ""
    if not isinstance(body, str):
        return 400, "malformed_body", "the body must be a JSON object", None
    raw = body.encode("utf-8", "surrogatepass")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
            body = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return 400, "malformed_body", "the body is not valid UTF-8 text; send JSON encoded as UTF-8", None
    if len(raw) > MAX_BODY_BYTES:
        return 413, "payload_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes; send at most 64 KB", None
    if body.strip():
        content_type = _header(event, "content-type")
        if content_type and not _is_json(content_type):
            return (
                415,
                "unsupported_media_type",
                f"the body has Content-Type {content_type[:80]}; "
                "send JSON with Content-Type: application/json",
                None,
            )
        try:
            parsed = json.loads(body)
        except ValueError:
            return 400, "malformed_json", "the body is not valid JSON", None
        except RecursionError:
            return (
                400,
                "malformed_json",
                "the body nests too deeply; no field of this API nests more than 3 levels",
                None,
            )
        if not isinstance(parsed, dict):
            message = "must be a JSON object, not an array or a single value"
            return (
                422,
                "validation_failed",
                "the request has invalid fields",
                [{"field": "body", "message": message}],
            )
    return None


def _header(event: dict[str, Any], name: str) -> str:
    headers = event.get("headers") or {}
    if not isinstance(headers, dict):
        return ""
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value.strip()
    return ""


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class GuardedHttpResolver(APIGatewayHttpResolver):
    """An HTTP API resolver that rejects unauthenticated and oversized requests first.

    Powertools validates the body before middlewares run, so a guard written as a middleware would
    send a caller without a token the body schema's errors. This check runs on the raw event,
    before routing and validation.
    """

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        rejection = _rejection(event)
        if rejection is None:
            return super().resolve(event, context)
        status, code, message, fields = rejection
        error: dict[str, Any] = {"code": code, "message": message}
        if fields:
            error["fields"] = fields
        return {
            "statusCode": status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": error}),
            "isBase64Encoded": False,
            "cookies": [],
        }


def _validation_fields(errors: Any) -> list[dict[str, str]]:
    fields = []
    for item in errors:
        location = ".".join(str(part) for part in item.get("loc", ()))
        fields.append({"field": location or "body", "message": str(item.get("msg", "is invalid"))})
    return fields


def build_resolver(*routers: Any) -> APIGatewayHttpResolver:
    """Create a resolver with validation, the guard middleware and the error mapping."""
    app = GuardedHttpResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(ConsentServiceError)
    def _service_error(error: ConsentServiceError) -> Response:
        try:
            now = get_container().clock.now()
        except ConsentServiceError:
            now = None
        return service_error_response(error, now)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        errors = error.errors()
        if any(item.get("type") == "json_invalid" for item in errors):
            return error_response(400, "malformed_json", "the body is not valid JSON")
        return error_response(
            422, "validation_failed", "the request has invalid fields", _validation_fields(errors)
        )

    @app.not_found
    def _no_route(error: NotFoundError) -> Response:
        return error_response(404, "not_found", "no such route")

    return app


def json_body(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type="application/json", body=json.dumps(value), headers=headers
    )
