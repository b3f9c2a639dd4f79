"""The one place where errors become HTTP responses."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from sms_consent.errors import (
    CannotText,
    Conflict,
    ConsentServiceError,
    CooldownActive,
    NotFound,
    TransientError,
    Unauthorized,
    ValidationFailed,
)
from sms_consent.settings import SettingsError

logger = logging.getLogger(__name__)


def error_response(
    status: int, code: str, message: str, fields: list[dict] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    body["error"].update(extra)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def _body_field(field: str) -> str:
    """Name a domain field as request validation does: ``sms_tasks[0].name`` is ``body.sms_tasks.0.name``."""
    dotted = re.sub(r"\[(\d+)\]", r".\1", field)
    return dotted if dotted.startswith(("body.", "path.", "query.")) else f"body.{dotted}"


def service_error_response(error: ConsentServiceError, now: datetime | None = None) -> Response:
    """Map a typed service error to its status code and JSON body."""
    if isinstance(error, Unauthorized):
        return error_response(401, "unauthorized", error.message)
    if isinstance(error, NotFound):
        return error_response(404, "not_found", error.message)
    if isinstance(error, ValidationFailed):
        fields = [{"field": _body_field(item.field), "message": item.message} for item in error.errors]
        return error_response(422, "validation_failed", "the request has invalid fields", fields)
    if isinstance(error, CooldownActive):
        retry_after = max(1, int((error.next_request_at - (now or datetime.now(UTC))).total_seconds()))
        body = {
            "error": {"code": "cooldown_active", "message": error.message},
            "next_request_at": error.next_request_at.isoformat(),
        }
        return Response(
            status_code=429,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(body),
            headers={"Retry-After": str(retry_after)},
        )
    if isinstance(error, CannotText):
        return error_response(422, error.reason, error.message)
    if isinstance(error, Conflict):
        code = {
            "AlreadyLaunched": "already_launched",
            "AlreadyOptedIn": "already_opted_in",
            "OptedOut": "opted_out",
        }
        return error_response(409, code.get(type(error).__name__, "conflict"), error.message)
    if isinstance(error, SettingsError):
        logger.error("Service misconfigured", extra={"error": error.message})
        return error_response(500, "misconfigured", "the service is misconfigured; see its logs")
    if isinstance(error, TransientError):
        logger.warning("Transient failure", extra={"error_type": type(error).__name__})
        return error_response(503, "temporarily_unavailable", "a dependency failed; retry in a few seconds")
    logger.error("Unmapped service error", extra={"error_type": type(error).__name__})
    return error_response(500, "internal_error", "the request failed")
