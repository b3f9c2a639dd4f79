"""Deliver EventBridge and SNS messages from their SQS queues in moto to the functions.

moto delivers an event that matches a rule to the rule's SQS target, and an SNS message to the
topic's SQS subscriptions. One background thread polls those queues and invokes the owning
function with the event shape Lambda would receive.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.functions import FunctionRunner

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.05


@dataclass(frozen=True)
class QueueSource:
    """An SQS queue in moto that feeds one function.

    ``kind`` is ``eventbridge`` (the body is the event envelope) or ``sns`` (the body is the SNS
    notification JSON).
    """

    function_id: str
    queue_url: str
    kind: str
    subscription_arn: str | None = None


def sns_lambda_event(notification: dict[str, Any], subscription_arn: str | None) -> dict[str, Any]:
    """Convert an SNS notification, as SQS receives it, to the event Lambda receives from SNS."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn or "",
                "Sns": {
                    "Type": notification.get("Type", "Notification"),
                    "MessageId": notification.get("MessageId", str(uuid.uuid4())),
                    "TopicArn": notification.get("TopicArn", ""),
                    "Subject": notification.get("Subject"),
                    "Message": notification.get("Message", ""),
                    "Timestamp": notification.get("Timestamp", ""),
                    "SignatureVersion": notification.get("SignatureVersion", "1"),
                    "Signature": notification.get("Signature", ""),
                    "SigningCertUrl": notification.get("SigningCertURL", ""),
                    "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
                    "MessageAttributes": notification.get("MessageAttributes") or {},
                },
            }
        ]
    }


class EventDispatcher:
    """Poll the queues with short polling and invoke each message's function.

    A message is deleted once its invocation succeeded or, after the retries, was kept as a dead
    letter, so the queues empty out either way.
    """

    def __init__(
        self,
        sqs_client: Any,
        runner: FunctionRunner,
        sources: list[QueueSource],
        printer: Callable[[str], None] = print,
    ) -> None:
        self._sqs = sqs_client
        self._runner = runner
        self._sources = sources
        self._print = printer
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures: dict[str, int] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="event-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def pending_messages(self) -> int:
        """Return the number of messages in the queues, visible or in flight."""
        total = 0
        for source in self._sources:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=source.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            total += int(attributes.get("ApproximateNumberOfMessages", 0))
            total += int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            delivered = False
            for source in self._sources:
                if self._stop.is_set():
                    return
                try:
                    delivered = self._poll(source) or delivered
                except Exception as error:  # noqa: BLE001 - log the error and keep delivering
                    self._record_failure(source, error)
                    continue
                self._record_recovery(source)
            if not delivered:
                self._stop.wait(POLL_INTERVAL_SECONDS)

    def _record_failure(self, source: QueueSource, error: Exception) -> None:
        # The loop polls every 50 ms, so a lasting fault is logged once, with a count on recovery.
        failures = self._failures.get(source.queue_url, 0)
        self._failures[source.queue_url] = failures + 1
        if failures == 0:
            logger.error(
                "Polling %s for %s failed (%s: %s); retrying every %.2f s",
                source.queue_url,
                source.function_id,
                type(error).__name__,
                error,
                POLL_INTERVAL_SECONDS,
            )

    def _record_recovery(self, source: QueueSource) -> None:
        failures = self._failures.pop(source.queue_url, 0)
        if failures:
            logger.info("Polling %s works again after %d failed polls", source.queue_url, failures)

    def _poll(self, source: QueueSource) -> bool:
        response = self._sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
        )
        messages = response.get("Messages", [])
        if not messages:
            # An empty poll is not work: marking it busy made /local/idle flip while nothing ran.
            return False
        # Received messages count as in flight in `pending_messages` until deleted, so the stack
        # never looks idle between the receive and this flag.
        self._busy.set()
        try:
            for message in messages:
                self._deliver(source, message)
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return bool(messages)
        finally:
            self._busy.clear()

    def _deliver(self, source: QueueSource, message: dict[str, Any]) -> None:
        try:
            body = json.loads(message["Body"])
        except ValueError:
            logger.error("Dropped a message for %s whose body is not JSON", source.function_id)
            return
        if source.kind == "sns":
            event = sns_lambda_event(body, source.subscription_arn)
            event_id = event["Records"][0]["Sns"]["MessageId"]
            label = "SNS message"
        else:
            event = body
            event_id = str(body.get("id", ""))
            label = str(body.get("detail-type", "event"))
        self._print(f"[event]  {label} -> {source.function_id} (id {event_id})")
        self._runner.invoke_async(source.function_id, event, source=source.kind, event_id=event_id)
