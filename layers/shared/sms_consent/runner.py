"""Delivery rules shared by the asynchronous functions.

EventBridge and SNS deliver at least once and Lambda retries failures. So a handler re-raises
transient faults (the retry or the dead-letter queue takes over), and logs, counts and drops events
that can never succeed, instead of failing them into a retry loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sms_consent.errors import ConsentServiceError, MalformedEvent

logger = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)


class Dropped:
    """Marker result of an event that was logged, counted and dropped."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Dropped({self.reason!r})"


def parse_or_drop(model: type[Model], data: Any, telemetry: Any, source: str) -> Model | Dropped:
    """Validate ``data`` as ``model``; a malformed event is logged and counted, never raised."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = [".".join(str(p) for p in item["loc"]) for item in error.errors(include_url=False)]
        telemetry.count("MalformedEventDropped")
        logger.warning("Malformed event dropped", extra={"source": source, "invalid_fields": fields})
        return Dropped("malformed")


def run_async(operation: Callable[[], Any], telemetry: Any, source: str) -> Any:
    """Run ``operation``; re-raise retryable faults, drop permanent ones after logging and counting."""
    try:
        return operation()
    except ConsentServiceError as error:
        if error.retryable:
            logger.warning(
                "Transient failure; the event will be retried",
                extra={"source": source, "error_type": type(error).__name__},
            )
            raise
        if isinstance(error, MalformedEvent):
            telemetry.count("MalformedEventDropped")
        else:
            telemetry.count("EventDropped")
        logger.warning(
            "Event dropped: it cannot succeed on retry",
            # The message can quote input (a phone number, a reply), so only its type is logged.
            extra={"source": source, "error_type": type(error).__name__},
        )
        return Dropped(type(error).__name__)


def once_per_event(container: Any, event_key: str, operation: Callable[[], Any], context: Any = None) -> Any:
    """Run ``operation`` at most once per ``event_key`` within the idempotency window.

    Powertools idempotency stores the key; a redelivery or replay inside the window (14 days by
    default) returns the stored result without running anything.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(
        event_key_jmespath="key",
        expires_after_seconds=container.settings.idempotency_expiry_hours * 3600,
        raise_on_no_idempotency_key=True,
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    @idempotent_function(
        data_keyword_argument="data", persistence_store=container.idempotency_store, config=config
    )
    def _run(data: dict) -> Any:
        return _jsonable(operation())

    return _run(data={"key": event_key})


def _jsonable(result: Any) -> Any:
    # Powertools stores the result; keep it small and JSON-safe.
    if isinstance(result, Dropped):
        return {"dropped": result.reason}
    if isinstance(result, list):
        return {"outcomes": len(result)}
    return {"done": True}
