"""Count DynamoDB calls per operation with a botocore event hook, against moto.

The budget: an opt-in request costs one transactional write (cooldown claim plus pending consent)
and at most one more write (the outbound message id). Launch reads its recipients' consents in
batches, and nothing scans.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New Jersey
COMPANY = "bench-co"
OUR_NUMBER = "+12015550100"
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


class CallCounter:
    """botocore ``before-call`` handler that counts operations by name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        counted, self.calls = self.calls, Counter()
        return counted


def _environment() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


def _create_stack() -> None:
    import boto3

    from local.template import describe_stack

    description, _ = describe_stack(ROOT / "template.yaml")
    dynamodb = boto3.client("dynamodb")
    names = {}
    for table in description.tables:
        dynamodb.create_table(**table.create_arguments)
        names[table.logical_id] = table.name
    boto3.client("events").create_event_bus(Name="bench-bus")
    os.environ.update(
        {
            "CONSENT_TABLE_NAME": names["ConsentTable"],
            "LEDGER_TABLE_NAME": names["LedgerTable"],
            "IDEMPOTENCY_TABLE_NAME": names["IdempotencyTable"],
            "EVENT_BUS_NAME": "bench-bus",
            "ORIGINATION_NUMBER": OUR_NUMBER,
        }
    )


def _row(operation: str, calls: Counter[str]) -> str:
    writes = sum(count for name, count in calls.items() if name in WRITE_OPERATIONS)
    reads = sum(count for name, count in calls.items() if name not in WRITE_OPERATIONS)
    detail = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    return f"  {operation:<44} writes {writes:>3}  reads {reads:>3}   ({detail})"


def run(recipients: int = 10) -> dict[str, Counter[str]]:
    from moto import mock_aws

    _environment()
    results: dict[str, Counter[str]] = {}
    with mock_aws():
        _create_stack()
        from sms_consent import container
        from sms_consent.adapters.dynamodb import dynamodb_event_emitter
        from sms_consent.adapters.sms import LocalOutbox
        from sms_consent.domain.clock import ManualClock
        from sms_consent.domain.directory import NewTask
        from sms_consent.domain.model import InboundSms, Party

        outbox = LocalOutbox(OUR_NUMBER, printer=None)
        container.configure(clock=ManualClock(NOW), sender=outbox)
        built = container.get_container()
        counter = CallCounter()
        dynamodb_event_emitter(built.dynamo_config).register("before-call.dynamodb", counter)

        built.directory.put_company(COMPANY, "Bench Realty", None)
        single = built.directory.create_contact(COMPANY, "Single", "+12015550150", True)
        counter.take()
        built.opt_in.request_for_contact(COMPANY, single.contact_id, "bench-request")
        results["Request Opt-In (one phone)"] = counter.take()

        contacts = [
            built.directory.create_contact(COMPANY, f"Party {i}", f"+1201555{1000 + i:04d}", True)
            for i in range(recipients)
        ]
        prop = built.directory.create_property(
            COMPANY,
            "1 Bench Street",
            [Party(c.contact_id, "buyer") for c in contacts],
            [NewTask("Reminder", "Closing on Friday.", ["buyer"], [])],
        )
        counter.take()
        built.directory.launch(COMPANY, prop.property_id)
        counter.take()
        built.lifecycle.on_tasks_launched(COMPANY, prop.property_id, "bench-launch")
        results[f"Launch with {recipients} recipients"] = counter.take()

        built.lifecycle.on_tasks_launched(COMPANY, prop.property_id, "bench-launch")
        results[f"Launch redelivered ({recipients} recipients)"] = counter.take()

        first = contacts[0].mobile_phone
        built.inbound.handle(InboundSms(first, OUR_NUMBER, "YES", "bench-inbound-1"))
        results["Inbound YES"] = counter.take()

        built.tasks.contact_status(COMPANY, contacts[0].contact_id)
        results["GET /contacts/{id} status"] = counter.take()

        built.tasks.preview(COMPANY, prop.property_id, prop.sms_tasks[0].task_id)
        results[f"Preview & Send ({recipients} recipients)"] = counter.take()
        container.reset()
    return results


def main() -> dict[str, Counter[str]]:
    results = run()
    print("DynamoDB calls per operation (moto, counted with a botocore before-call hook)")
    for operation, calls in results.items():
        print(_row(operation, calls))
    scans = sum(calls.get("Scan", 0) for calls in results.values())
    print(f"  Scan calls in all operations: {scans}")
    return results


if __name__ == "__main__":
    main()
