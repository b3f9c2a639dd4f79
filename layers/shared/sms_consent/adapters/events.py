"""EventBridge adapter of the `EventPublisher` port."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sms_consent.domain.ports import DomainEvent
from sms_consent.errors import TransientError

SOURCE = "sms-consent.api"
_MAX_ENTRIES_PER_CALL = 10


class EventBridgePublisher:
    """Put domain events on the application's custom bus with ``PutEvents``.

    EventBridge delivers each event to its rules' targets at least once, so every consumer must
    tolerate duplicates. A partial failure (``FailedEntryCount`` > 0) raises `TransientError`.
    """

    def __init__(self, client_factory: Callable[[], Any], bus_name: str, source: str = SOURCE) -> None:
        self._client_factory = client_factory
        self._bus_name = bus_name
        self._source = source

    def publish(self, events: Sequence[DomainEvent]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        entries = [
            {
                "EventBusName": self._bus_name,
                "Source": self._source,
                "DetailType": event.detail_type,
                "Detail": json.dumps(event.detail, sort_keys=True),
            }
            for event in events
        ]
        client = self._client_factory()
        for start in range(0, len(entries), _MAX_ENTRIES_PER_CALL):
            batch = entries[start : start + _MAX_ENTRIES_PER_CALL]
            try:
                response = client.put_events(Entries=batch)
            except (ClientError, BotoCoreError) as error:
                raise TransientError(f"PutEvents on bus {self._bus_name} failed: {error}") from error
            if response.get("FailedEntryCount", 0):
                codes = sorted(
                    {entry.get("ErrorCode", "?") for entry in response["Entries"] if "ErrorCode" in entry}
                )
                raise TransientError(
                    f"PutEvents on bus {self._bus_name} rejected entries: {', '.join(codes)}"
                )
