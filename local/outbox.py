"""The local stack's SMS sender: the shared `LocalOutbox`, stamped with the local clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sms_consent.adapters.sms import LocalOutbox
from sms_consent.domain.ports import OutboundSms, SentSms


class ClockedOutbox(LocalOutbox):
    """A `LocalOutbox` that also records the local clock's time of each text.

    `LocalOutbox` stamps entries with the system time, but the local stack's functions run on a
    `ManualClock`, so ``GET /local/outbox`` reports the clock's time to match the consent records.
    """

    def __init__(self, origination_number: str, clock_now: Callable[[], datetime]) -> None:
        super().__init__(origination_number)
        self._clock_now = clock_now
        self._sent_at: dict[str, datetime] = {}
        self._sent_at_lock = threading.Lock()

    def send(self, sms: OutboundSms) -> SentSms:
        sent = super().send(sms)
        with self._sent_at_lock:
            self._sent_at[sent.message_id] = self._clock_now()
        return sent

    def add_opted_out(self, phone: str) -> None:
        """Put a number on the simulated provider opt-out list, as a carrier-handled STOP does."""
        with self._lock:
            self.opted_out.add(phone)

    def last_message_id_to(self, phone: str) -> str | None:
        """Return the id of the most recent text sent to ``phone``, or None."""
        for entry in reversed(self.snapshot()):
            if entry.destination == phone:
                return entry.message_id
        return None

    def entries_as_json(self) -> list[dict[str, Any]]:
        with self._sent_at_lock:
            sent_at = dict(self._sent_at)
        return [
            {
                "message_id": entry.message_id,
                "sent_at": sent_at[entry.message_id].isoformat()
                if entry.message_id in sent_at
                else entry.sent_at,
                "destination": entry.destination,
                "origination": entry.origination,
                "body": entry.body,
                "company_id": entry.company_id,
                "kind": entry.kind,
            }
            for entry in self.snapshot()
        ]
