"""Bodies of the asynchronous functions: parse the event, call one service, apply delivery rules."""

from __future__ import annotations

import json
import logging
from typing import Any

from sms_consent.container import get_container
from sms_consent.domain.model import InboundSms
from sms_consent.domain.provider_opt_outs import sync_provider_opt_outs
from sms_consent.runner import Dropped, once_per_event, parse_or_drop, run_async
from sms_consent.schemas.events import (
    ContactUpdated,
    EventBridgeEnvelope,
    InboundSmsMessage,
    PartyAdded,
    RecipientAdded,
    SnsEvent,
    TasksLaunched,
)

logger = logging.getLogger(__name__)


def _envelope(event: Any, telemetry: Any, source: str) -> tuple[str, str, Any] | Dropped:
    """Return the EventBridge event's id, detail-type and detail, or drop a malformed envelope."""
    envelope = parse_or_drop(EventBridgeEnvelope, event, telemetry, source)
    if isinstance(envelope, Dropped):
        return envelope
    return envelope.id, envelope.detail_type, envelope.detail


def handle_tasks_launched(event: Any, context: Any = None) -> Any:
    """Send opt-in requests to every SMS recipient of a launched property, once per event."""
    container = get_container()
    envelope = _envelope(event, container.telemetry, "launch_tasks")
    if isinstance(envelope, Dropped):
        return envelope
    event_id, _, detail = envelope
    parsed = parse_or_drop(TasksLaunched, detail, container.telemetry, "launch_tasks")
    if isinstance(parsed, Dropped):
        return parsed

    def operation() -> Any:
        return container.lifecycle.on_tasks_launched(parsed.company_id, parsed.property_id, event_id)

    return run_async(
        lambda: once_per_event(container, f"launch|{event_id}", operation, context),
        container.telemetry,
        "launch_tasks",
    )


_PARTY_MODELS = {
    "Party Added": PartyAdded,
    "Recipient Added": RecipientAdded,
    "Contact Updated": ContactUpdated,
}


def handle_party_events(event: Any, context: Any = None) -> Any:
    """Send opt-in requests to someone who became an SMS recipient after launch."""
    container = get_container()
    envelope = _envelope(event, container.telemetry, "party_added")
    if isinstance(envelope, Dropped):
        return envelope
    event_id, detail_type, detail = envelope
    model = _PARTY_MODELS.get(detail_type)
    if model is None:
        container.telemetry.count("MalformedEventDropped")
        logger.warning("Unexpected detail-type dropped", extra={"detail_type": detail_type[:100]})
        return Dropped("unexpected detail-type")
    parsed = parse_or_drop(model, detail, container.telemetry, "party_added")
    if isinstance(parsed, Dropped):
        return parsed
    lifecycle = container.lifecycle

    def operation() -> Any:
        if isinstance(parsed, PartyAdded):
            return lifecycle.on_party_added(
                parsed.company_id, parsed.property_id, parsed.contact_id, event_id
            )
        if isinstance(parsed, RecipientAdded):
            return lifecycle.on_recipients_added(
                parsed.company_id, parsed.property_id, parsed.contact_ids, event_id
            )
        return lifecycle.on_contact_updated(parsed.company_id, parsed.contact_id, event_id)

    return run_async(
        lambda: once_per_event(container, f"party|{event_id}", operation, context),
        container.telemetry,
        "party_added",
    )


def handle_inbound_sns(event: Any, context: Any = None) -> list[Any]:
    """Apply each inbound SMS of an SNS event; duplicates are dropped by ``inboundMessageId``."""
    container = get_container()
    parsed = parse_or_drop(SnsEvent, event, container.telemetry, "inbound_sms")
    if isinstance(parsed, Dropped):
        return [parsed]
    results = []
    for record in parsed.records:
        message = _inbound_message(record.sns.message, container.telemetry)
        if isinstance(message, Dropped):
            results.append(message)
            continue
        sms = InboundSms(
            from_number=message.origination_number,
            to_number=message.destination_number,
            body=message.message_body,
            inbound_message_id=message.inbound_message_id,
            keyword=message.message_keyword,
            previous_published_message_id=message.previous_published_message_id,
        )
        results.append(
            run_async(lambda sms=sms: container.inbound.handle(sms), container.telemetry, "inbound_sms")
        )
    return results


def _inbound_message(raw: str, telemetry: Any) -> InboundSmsMessage | Dropped:
    """Parse the JSON that End User Messaging put in the notification's ``Message``."""
    try:
        data = json.loads(raw)
    except ValueError:
        telemetry.count("MalformedEventDropped")
        logger.warning(
            "Inbound SMS notification without a JSON Message dropped", extra={"source": "inbound_sms"}
        )
        return Dropped("malformed")
    if isinstance(data, dict):
        # A lone UTF-16 surrogate in the JSON (a broken emoji) would fail validation and lose the
        # reply, a STOP included. Replacing it keeps the rest of the text.
        data = {key: _without_lone_surrogates(value) for key, value in data.items()}
    return parse_or_drop(InboundSmsMessage, data, telemetry, "inbound_sms")


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def handle_release_scheduled(event: Any, context: Any = None) -> Any:
    """Send the texts that quiet hours deferred and whose window is now open."""
    container = get_container()
    return run_async(lambda: container.scheduler.release_due(), container.telemetry, "release_scheduled")


def handle_sync_opt_outs(event: Any, context: Any = None) -> Any:
    """Mark the phones on the provider's opt-out list as opted out."""
    container = get_container()
    return run_async(
        lambda: sync_provider_opt_outs(container.sender, container.consent_repository, container.opt_in),
        container.telemetry,
        "sync_opt_outs",
    )
