"""Pieces every HTTP resolver shares: the caller's company, body limits and error mapping."""

from __future__ import annotations

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
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    value = claims.get(COMPANY_CLAIM) if isinstance(claims, dict) else None
    if not isinstance(value, str) or not _COMPANY_ID.match(value):
        raise Unauthorized("missing or malformed company_id claim in the access token")
    return value


def request_id_of(app: APIGatewayHttpResolver) -> str:
    return str((app.current_event.raw_event.get("requestContext") or {}).get("requestId") or "")


def _guard(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    """Reject unauthenticated and oversized requests before any parsing or validation."""
    try:
        company_id_of(app)
    except Unauthorized as error:
        return error_response(401, "unauthorized", error.message)
    body = app.current_event.body or ""
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return error_response(413, "payload_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    return next_middleware(app)


def _validation_fields(errors: Any) -> list[dict[str, str]]:
    fields = []
    for item in errors:
        location = ".".join(str(part) for part in item.get("loc", ()))
        fields.append({"field": location or "body", "message": str(item.get("msg", "is invalid"))})
    return fields


def build_resolver(*routers: Any) -> APIGatewayHttpResolver:
    """Create a resolver with validation, the guard middleware and the error mapping."""
    app = APIGatewayHttpResolver(enable_validation=True)
    app.use(middlewares=[_guard])
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
