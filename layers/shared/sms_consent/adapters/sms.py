"""Outbound SMS adapters: AWS End User Messaging SMS, and a local outbox for the local stack."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sms_consent.domain.phone import mask_phone
from sms_consent.domain.ports import OutboundSms, SentSms
from sms_consent.errors import DestinationOptedOut, PermanentSendFailure, SmsSendFailed

logger = logging.getLogger(__name__)

OPTED_OUT_REASON = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
_RETRYABLE_CODES = {
    "ThrottlingException",
    "InternalServerException",
    "ServiceUnavailableException",
    "RequestTimeoutException",
}


class EndUserMessagingSender:
    """Send texts with End User Messaging SMS (``pinpoint-sms-voice-v2`` ``SendTextMessage``).

    The provider accepts a message at most once per call but offers no idempotency token, so a
    caller that retries after a lost response may send the text twice. ``Context`` carries the
    company and the request reference, which appear in the provider's delivery events.

    Errors map to the `SmsSender` contract: ``ConflictException`` with reason
    ``DESTINATION_PHONE_NUMBER_OPTED_OUT`` raises `DestinationOptedOut` (no retry); throttling,
    internal errors and network faults raise `SmsSendFailed` (retryable); everything else raises
    `PermanentSendFailure`.
    """

    def __init__(
        self,
        client_factory: Callable[[], Any],
        origination_identity: str,
        origination_number: str,
        opt_out_list_name: str = "Default",
    ) -> None:
        self._client_factory = client_factory
        self._origination_identity = origination_identity
        self._origination_number = origination_number
        self._opt_out_list_name = opt_out_list_name

    def send(self, sms: OutboundSms) -> SentSms:
        from botocore.exceptions import BotoCoreError, ClientError

        identity = sms.origination_identity or self._origination_identity
        try:
            response = self._client_factory().send_text_message(
                DestinationPhoneNumber=sms.destination,
                OriginationIdentity=identity,
                MessageBody=sms.body,
                MessageType="TRANSACTIONAL",
                Context={"company_id": sms.company_id, "reference_id": sms.reference_id, "kind": sms.kind},
            )
        except ClientError as error:
            raise _map_client_error(error, sms) from error
        except BotoCoreError as error:
            raise SmsSendFailed(
                f"SendTextMessage failed before a response: {type(error).__name__}"
            ) from error
        origination = sms.origination_identity if sms.origination_identity else self._origination_number
        return SentSms(message_id=response["MessageId"], origination_number=origination)

    def opted_out_numbers(self) -> Iterator[str]:
        """Yield every number on the configured opt-out list (``DescribeOptedOutNumbers``, paginated)."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client_factory()
        token: str | None = None
        while True:
            request: dict[str, Any] = {"OptOutListName": self._opt_out_list_name, "MaxResults": 100}
            if token:
                request["NextToken"] = token
            try:
                response = client.describe_opted_out_numbers(**request)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code in _RETRYABLE_CODES:
                    raise SmsSendFailed(f"DescribeOptedOutNumbers failed: {code}") from error
                raise PermanentSendFailure(
                    f"DescribeOptedOutNumbers on list {self._opt_out_list_name} failed: {code}"
                ) from error
            except BotoCoreError as error:
                raise SmsSendFailed(f"DescribeOptedOutNumbers failed: {type(error).__name__}") from error
            for item in response.get("OptedOutNumbers", []):
                yield item["OptedOutNumber"]
            token = response.get("NextToken")
            if not token:
                return


def _map_client_error(error: Any, sms: OutboundSms) -> Exception:
    details = error.response.get("Error", {})
    code = details.get("Code", "")
    reason = error.response.get("Reason") or details.get("Reason", "")
    if code == "ConflictException" and reason == OPTED_OUT_REASON:
        return DestinationOptedOut(f"the provider reports {mask_phone(sms.destination)} as opted out")
    if code in _RETRYABLE_CODES:
        return SmsSendFailed(f"SendTextMessage failed with {code}; retry later")
    return PermanentSendFailure(f"SendTextMessage rejected the message: {code} {reason}".strip())


@dataclass(frozen=True)
class OutboxEntry:
    """A text the local outbox accepted instead of sending it."""

    message_id: str
    sent_at: str
    destination: str
    origination: str
    body: str
    company_id: str
    kind: str


class LocalOutbox:
    """The local stack's `SmsSender`: stores texts in memory and prints each one, sends nothing.

    Numbers in ``opted_out`` behave like numbers on the provider's opt-out list: sending to them
    raises `DestinationOptedOut`, as End User Messaging does.
    """

    def __init__(self, origination_number: str, printer: Callable[[str], None] | None = print) -> None:
        self._origination_number = origination_number
        self._printer = printer
        self._lock = threading.Lock()
        self.entries: list[OutboxEntry] = []
        self.opted_out: set[str] = set()

    def send(self, sms: OutboundSms) -> SentSms:
        origination = sms.origination_identity or self._origination_number
        with self._lock:
            if sms.destination in self.opted_out:
                raise DestinationOptedOut(f"the local opt-out list contains {mask_phone(sms.destination)}")
            entry = OutboxEntry(
                message_id=uuid.uuid4().hex,
                sent_at=datetime.now(UTC).isoformat(),
                destination=sms.destination,
                origination=origination,
                body=sms.body,
                company_id=sms.company_id,
                kind=sms.kind,
            )
            self.entries.append(entry)
        if self._printer is not None:
            # The local stack's console is the local stand-in for a phone, so it shows the text.
            self._printer(f"[outbox] {entry.kind} to {mask_phone(entry.destination)}: {entry.body}")
        return SentSms(entry.message_id, origination)

    def opted_out_numbers(self) -> Iterator[str]:
        with self._lock:
            yield from sorted(self.opted_out)

    def snapshot(self) -> list[OutboxEntry]:
        with self._lock:
            return list(self.entries)
