"""PynamoDB models of the consent table and the ledger table, bound to tables at run time.

PynamoDB reads the table name, region and endpoint of a model from its ``Meta`` class. The model
classes in this module carry attributes and indexes only. `bind_models` derives subclasses with a
``Meta`` for one `DynamoConfig` and caches them, so tests and the local stack point the same code
at other tables or at a moto server. Binding creates no botocore client: the shared `Connection`
creates its client on the first request, which in tests comes after ``moto.mock_aws`` has started.

Items of the consent table, as partition key ``pk`` / sort key ``sk``:

- company profile: ``COMPANY#{company_id}`` / ``PROFILE``
- contact: ``COMPANY#{company_id}`` / ``CONTACT#{contact_id}``
- property: ``COMPANY#{company_id}`` / ``PROPERTY#{property_id}``
- property membership: ``COMPANY#{company_id}`` / ``MEMBER#{contact_id}#{property_id}``
- consent: ``COMPANY#{company_id}`` / ``CONSENT#{phone}``
- cooldown claim: ``COMPANY#{company_id}`` / ``COOLDOWN#{phone}``
- deferred send: ``COMPANY#{company_id}`` / ``SCHEDULED#{schedule_key}``
- outbound message lookup: ``MESSAGE#{message_id}`` / ``MESSAGE``
- inbound message marker: ``INBOUND#{dedupe_key}`` / ``INBOUND``

Consents also carry ``gsi1pk`` = ``PHONE#{phone}`` and ``gsi1sk`` = ``COMPANY#{company_id}`` for
the ``ByPhone`` index. Deferred sends carry ``due_bucket`` = ``SCHEDULED`` and ``due_at`` (epoch
seconds) for the ``ByDueTime`` index. Ledger items have pk ``{company_id}#{phone}`` and sk
``{recorded_at}#{entry_id}``, with a fixed-width UTC timestamp so that sort order is time order.
"""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

# Partition key of every deferred send in the ByDueTime index.
DUE_BUCKET = "SCHEDULED"


@dataclass(frozen=True)
class DynamoConfig:
    """Tables and endpoint of the DynamoDB repositories.

    ``endpoint_url`` is None for AWS itself, or the URL of a DynamoDB-compatible server such as
    ``moto_server`` (for example ``http://127.0.0.1:5000``). Timeouts are in seconds. PynamoDB's own
    defaults (15 s to connect, 30 s to read) exceed the 29 s that API Gateway waits for a function.
    """

    consent_table: str
    ledger_table: str
    region: str
    endpoint_url: str | None = None
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 5.0
    max_retry_attempts: int = 3


# Keys -------------------------------------------------------------------------------------------


def company_pk(company_id: str) -> str:
    return f"COMPANY#{company_id}"


PROFILE_SK = "PROFILE"
MESSAGE_SK = "MESSAGE"
INBOUND_SK = "INBOUND"


def contact_sk(contact_id: str) -> str:
    return f"CONTACT#{contact_id}"


def property_sk(property_id: str) -> str:
    return f"PROPERTY#{property_id}"


def membership_prefix(contact_id: str) -> str:
    """Return the sort key prefix of every membership item of one contact."""
    return f"MEMBER#{contact_id}#"


def membership_sk(contact_id: str, property_id: str) -> str:
    return f"{membership_prefix(contact_id)}{property_id}"


def consent_sk(phone: str) -> str:
    return f"CONSENT#{phone}"


def cooldown_sk(phone: str) -> str:
    return f"COOLDOWN#{phone}"


def scheduled_sk(schedule_key: str) -> str:
    return f"SCHEDULED#{schedule_key}"


def opt_in_scheduled_sk(phone: str) -> str:
    """Return the sort key of a phone's deferred opt-in request (``ScheduledSend.schedule_key``)."""
    return scheduled_sk(f"OPTIN#{phone}")


def phone_index_pk(phone: str) -> str:
    return f"PHONE#{phone}"


def message_pk(message_id: str) -> str:
    return f"MESSAGE#{message_id}"


def inbound_pk(dedupe_key: str) -> str:
    return f"INBOUND#{dedupe_key}"


def ledger_pk(company_id: str, phone: str) -> str:
    return f"{company_id}#{phone}"


def ledger_sk(recorded_at: datetime, entry_id: str) -> str:
    # Fixed width (microseconds always present), so string order is time order.
    return f"{recorded_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{entry_id}"


# Indexes ----------------------------------------------------------------------------------------


class ByPhoneIndex(GlobalSecondaryIndex[Any]):
    """Consents of one phone across companies."""

    class Meta:
        index_name = "ByPhone"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByDueTimeIndex(GlobalSecondaryIndex[Any]):
    """Deferred sends ordered by the time they become due."""

    class Meta:
        index_name = "ByDueTime"
        projection = AllProjection()

    due_bucket = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


# Consent table ----------------------------------------------------------------------------------


class ConsentTableItem(Model):
    """Keys shared by every item of the consent table."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    # Both indexes are declared on the base class, so each bound model registers the whole key
    # schema with the shared connection, which looks up index key names there for queries.
    by_phone = ByPhoneIndex()
    by_due_time = ByDueTimeIndex()


class CompanyItem(ConsentTableItem):
    company_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    support_contact = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class ContactItem(ConsentTableItem):
    company_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    name = UnicodeAttribute()
    mobile_phone = UnicodeAttribute(null=True)
    sms_enabled = BooleanAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class PartyAttribute(MapAttribute[str, Any]):
    contact_id = UnicodeAttribute()
    role = UnicodeAttribute()


class SmsTaskAttribute(MapAttribute[str, Any]):
    task_id = UnicodeAttribute()
    name = UnicodeAttribute()
    message = UnicodeAttribute()
    recipient_roles = ListAttribute(of=UnicodeAttribute, default=list)
    recipient_contact_ids = ListAttribute(of=UnicodeAttribute, default=list)


class PropertyItem(ConsentTableItem):
    company_id = UnicodeAttribute()
    property_id = UnicodeAttribute()
    address = UnicodeAttribute()
    parties = ListAttribute(of=PartyAttribute, default=list)
    sms_tasks = ListAttribute(of=SmsTaskAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    launched_at = UTCDateTimeAttribute(null=True)
    launch_event_id = UnicodeAttribute(null=True)
    # PynamoDB writes version + 1 and adds the condition "version = <current>" (or "version does
    # not exist" when the current value is None) to every save of the item.
    version = VersionAttribute()


class MembershipItem(ConsentTableItem):
    """A contact's link to a property, so the properties of a contact are one Query."""

    company_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    property_id = UnicodeAttribute()


class ConsentItem(ConsentTableItem):
    company_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute(null=True)
    opted_in_at = UTCDateTimeAttribute(null=True)
    opted_out_at = UTCDateTimeAttribute(null=True)
    origination_number = UnicodeAttribute(null=True)
    last_message_id = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()


class CooldownItem(ConsentTableItem):
    company_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    token = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    # Epoch seconds. PynamoDB drops the fraction of a second when it serializes a datetime, so
    # the repository rounds the expiry up before it writes.
    expires_at = TTLAttribute()
    message_id = UnicodeAttribute(null=True)
    send_attempts = NumberAttribute()


class SendWindowItem(ConsentTableItem):
    """A claim that blocks a repeat of one kind of text to one number until ``expires_at``.

    Used for task messages (a double click on Send) and automatic replies (an auto-responder loop).
    """

    claimed_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class ScheduledItem(ConsentTableItem):
    company_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    kind = UnicodeAttribute()
    cause = UnicodeAttribute()
    due_bucket = UnicodeAttribute()
    # Index key in whole epoch seconds, rounded up so no send is released early.
    due_at = NumberAttribute()
    # The exact due time, returned to the domain.
    due_time = UTCDateTimeAttribute()
    contact_ids = ListAttribute(of=UnicodeAttribute, default=list)
    property_id = UnicodeAttribute(null=True)
    task_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)


class MessageItem(ConsentTableItem):
    message_id = UnicodeAttribute()
    company_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    kind = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class InboundMarkerItem(ConsentTableItem):
    """Proof that one inbound message was applied, so a redelivery changes nothing."""

    dedupe_key = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    # The reply to the message, kept until it is sent so a retry can still send it.
    reply_destination = UnicodeAttribute(null=True)
    reply_origination = UnicodeAttribute(null=True)
    reply_body = UnicodeAttribute(null=True)
    reply_company_id = UnicodeAttribute(null=True)
    reply_kind = UnicodeAttribute(null=True)
    reply_sent = BooleanAttribute(null=True)


# Ledger table -----------------------------------------------------------------------------------


class LedgerItem(Model):
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    company_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()
    entry_id = UnicodeAttribute()
    action = UnicodeAttribute()
    status_after = UnicodeAttribute()
    cause = UnicodeAttribute()
    direction = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    origination_number = UnicodeAttribute(null=True)
    destination_number = UnicodeAttribute(null=True)


# Binding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundModels:
    """The model classes of one `DynamoConfig`; all of them send requests through ``connection``."""

    config: DynamoConfig
    connection: Connection
    item: type[ConsentTableItem]
    company: type[CompanyItem]
    contact: type[ContactItem]
    property: type[PropertyItem]
    membership: type[MembershipItem]
    consent: type[ConsentItem]
    cooldown: type[CooldownItem]
    send_window: type[SendWindowItem]
    scheduled: type[ScheduledItem]
    message: type[MessageItem]
    inbound_marker: type[InboundMarkerItem]
    ledger: type[LedgerItem]


_bound: dict[DynamoConfig, BoundModels] = {}
_bound_lock = threading.Lock()


def bind_models(config: DynamoConfig) -> BoundModels:
    """Return the model classes bound to ``config``'s tables, deriving them on the first call."""
    with _bound_lock:
        bound = _bound.get(config)
        if bound is None:
            bound = _derive_models(config)
            _bound[config] = bound
        return bound


def bound_model_sets() -> list[BoundModels]:
    """List the model sets that `bind_models` has derived so far."""
    with _bound_lock:
        return list(_bound.values())


_M = TypeVar("_M", bound=Model)


def _derive_models(config: DynamoConfig) -> BoundModels:
    # One connection, so one botocore client, serves every model of this config and the
    # transactions across both tables. The connection creates its client on the first request.
    connection = Connection(
        region=config.region,
        host=config.endpoint_url,
        connect_timeout_seconds=config.connect_timeout_seconds,
        read_timeout_seconds=config.read_timeout_seconds,
        max_retry_attempts=config.max_retry_attempts,
    )
    registered_tables: set[str] = set()

    def derive(schema: type[_M], table_name: str) -> type[_M]:
        meta = type(
            "Meta",
            (),
            {
                "table_name": table_name,
                "region": config.region,
                "host": config.endpoint_url,
                "connect_timeout_seconds": config.connect_timeout_seconds,
                "read_timeout_seconds": config.read_timeout_seconds,
                "max_retry_attempts": config.max_retry_attempts,
                "billing_mode": "PAY_PER_REQUEST",
            },
        )
        model = types.new_class(
            schema.__name__,
            (schema,),
            exec_body=lambda namespace: namespace.update({"Meta": meta, "__module__": __name__}),
        )
        # PynamoDB caches a TableConnection per model class and builds a connection of its own
        # for it. Point that TableConnection at the shared connection instead; neither has a
        # client yet. _get_connection is private, but it is the only way to reach the cache.
        table_connection = model._get_connection()
        if table_name not in registered_tables:
            # Every model of a table has the same key schema, so the first one registers it.
            connection.add_meta_table(table_connection.get_meta_table())
            registered_tables.add(table_name)
        table_connection.connection = connection
        return model

    consent_table = config.consent_table
    return BoundModels(
        config=config,
        connection=connection,
        item=derive(ConsentTableItem, consent_table),
        company=derive(CompanyItem, consent_table),
        contact=derive(ContactItem, consent_table),
        property=derive(PropertyItem, consent_table),
        membership=derive(MembershipItem, consent_table),
        consent=derive(ConsentItem, consent_table),
        cooldown=derive(CooldownItem, consent_table),
        send_window=derive(SendWindowItem, consent_table),
        scheduled=derive(ScheduledItem, consent_table),
        message=derive(MessageItem, consent_table),
        inbound_marker=derive(InboundMarkerItem, consent_table),
        ledger=derive(LedgerItem, config.ledger_table),
    )
