"""DynamoDB repositories of the directory and of consent state, written with PynamoDB.

`DynamoDirectoryRepository` implements `DirectoryRepository` and `DynamoConsentRepository`
implements `ConsentRepository`. Both take a `DynamoConfig`. The item layout is described in
`sms_consent.adapters.dynamodb_models`.

Every write that must be all-or-nothing is one TransactWriteItems request, which can include at most
100 items. A failed condition cancels the whole request, and the cancellation reasons name the item whose
condition failed. That is how `claim_opt_in`, `apply_changes` and `save_property` tell their
rejections apart. Throttling, transaction conflicts and network faults raise
`sms_consent.errors.TransientError`, so callers can retry.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import botocore.exceptions
from botocore.hooks import BaseEventHooks
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from sms_consent.adapters.dynamodb_models import (
    DUE_BUCKET,
    INBOUND_SK,
    MESSAGE_SK,
    PROFILE_SK,
    BoundModels,
    ConsentItem,
    ContactItem,
    CooldownItem,
    DynamoConfig,
    LedgerItem,
    MessageItem,
    PartyAttribute,
    PropertyItem,
    ScheduledItem,
    SmsTaskAttribute,
    bind_models,
    bound_model_sets,
    company_pk,
    consent_sk,
    contact_sk,
    cooldown_sk,
    inbound_pk,
    ledger_pk,
    ledger_sk,
    membership_prefix,
    membership_sk,
    message_pk,
    opt_in_scheduled_sk,
    phone_index_pk,
    property_sk,
    scheduled_sk,
)
from sms_consent.domain.model import (
    Cause,
    Company,
    Consent,
    ConsentStatus,
    Contact,
    Cooldown,
    LedgerAction,
    LedgerEntry,
    OutboundMessage,
    Party,
    PhoneConsent,
    Property,
    ScheduledSend,
    SmsTask,
)
from sms_consent.domain.phone import mask_phone
from sms_consent.domain.ports import (
    ClaimRejected,
    ConsentChange,
    DuplicateChange,
    OptInClaim,
    PendingReply,
    StaleConsent,
)
from sms_consent.errors import Conflict, NotFound, TransientError

__all__ = [
    "DynamoConfig",
    "DynamoConsentRepository",
    "DynamoDirectoryRepository",
    "dynamodb_event_emitter",
    "dynamodb_event_emitters",
]

logger = logging.getLogger(__name__)

# DynamoDB limits: items in one TransactWriteItems request, keys in one BatchGetItem request.
MAX_TRANSACTION_ITEMS = 100
MAX_BATCH_GET_KEYS = 100

# How long outbound message lookups and inbound markers stay before TTL deletion.
LOOKUP_RETENTION = timedelta(days=400)

# BatchGetItem requests for UnprocessedKeys: at most this many, with exponential backoff between.
MAX_UNPROCESSED_RETRIES = 8
UNPROCESSED_BACKOFF_SECONDS = 0.05
UNPROCESSED_BACKOFF_MAX_SECONDS = 2.0

# Error codes of requests that may succeed when sent again.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ThrottlingException",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
# Codes of TransactWriteItems cancellation reasons that may clear when the request is sent again.
TRANSIENT_CANCELLATION_CODES = frozenset(
    {"ProvisionedThroughputExceeded", "RequestLimitExceeded", "ThrottlingError", "TransactionConflict"}
)
CONDITION_FAILED = "ConditionalCheckFailed"


def dynamodb_event_emitter(config: DynamoConfig) -> BaseEventHooks:
    """Return the event emitter of the botocore client that the repositories of ``config`` use.

    One client serves every model and transaction of a config, so a handler registered here
    receives every DynamoDB request, for example ``emitter.register("before-call.dynamodb", count_call)``.
    The call creates the client if needed, so make it after ``moto.mock_aws`` has started.

    NOTE: PynamoDB replaces a client whose credentials are empty, and the handlers go with it.
    """
    return bind_models(config).connection.client.meta.events


def dynamodb_event_emitters() -> list[BaseEventHooks]:
    """Return the event emitters of the clients of every config that a repository was built with."""
    return [bound.connection.client.meta.events for bound in bound_model_sets()]


class DynamoDirectoryRepository:
    """Companies, contacts and properties in the consent table.

    Parameters
    ----------
    config
        Table names, region and optional endpoint. Construction creates no AWS client.
    """

    def __init__(self, config: DynamoConfig) -> None:
        self._models = bind_models(config)

    def get_company(self, company_id: str) -> Company | None:
        """Read the company profile with GetItem."""
        item = _get_item(self._models.company, company_pk(company_id), PROFILE_SK)
        if item is None:
            return None
        return Company(item.company_id, item.name, item.support_contact, item.updated_at)

    def put_company(self, company: Company) -> None:
        """Replace the company profile with PutItem."""
        item = self._models.company(
            company_pk(company.company_id),
            PROFILE_SK,
            company_id=company.company_id,
            name=company.name,
            support_contact=company.support_contact,
            updated_at=company.updated_at,
        )
        with _translate_errors("PutItem"):
            item.save()

    def create_contact(self, contact: Contact) -> None:
        """Store a new contact. Raises `Conflict` when the contact id exists in the company."""
        try:
            with _translate_errors("PutItem"):
                self._contact_item(contact).save(condition=ContactItem.pk.does_not_exist())
        except PynamoDBException as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise Conflict(
                f"contact {contact.contact_id} already exists, so create the contact with a new id"
            ) from None

    def update_contact(self, contact: Contact) -> None:
        """Replace a stored contact. Raises `NotFound` when the contact does not exist."""
        try:
            with _translate_errors("PutItem"):
                self._contact_item(contact).save(condition=ContactItem.pk.exists())
        except PynamoDBException as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise NotFound(f"contact {contact.contact_id} not found") from None

    def get_contact(self, company_id: str, contact_id: str) -> Contact | None:
        """Read one contact with GetItem."""
        item = _get_item(self._models.contact, company_pk(company_id), contact_sk(contact_id))
        return None if item is None else _contact_from(item)

    def get_contacts(self, company_id: str, contact_ids: Iterable[str]) -> dict[str, Contact]:
        """Read contacts with BatchGetItem. Ids that do not exist are absent from the result."""
        pk = company_pk(company_id)
        keys = [{"pk": pk, "sk": contact_sk(contact_id)} for contact_id in dict.fromkeys(contact_ids)]
        contacts = {}
        for raw in _batch_get(self._models, keys, consistent_read=False):
            contact = _contact_from(self._models.contact.from_raw_data(raw))
            contacts[contact.contact_id] = contact
        return contacts

    def save_property(self, prop: Property, expected_version: int | None) -> None:
        """Store ``prop`` with version ``expected_version`` + 1 (1 when ``expected_version`` is None).

        The property and a membership item for each of its contacts (parties and manual
        recipients) are written in one transaction. Raises `Conflict` when the stored version is
        not ``expected_version``, or when ``expected_version`` is None and the property exists.

        NOTE: membership items of contacts removed from the property stay, so
        `property_ids_of_contact` may list a property that no longer names the contact. Callers
        read the property and check.
        """
        models = self._models
        pk = company_pk(prop.company_id)
        item = models.property(
            pk,
            property_sk(prop.property_id),
            company_id=prop.company_id,
            property_id=prop.property_id,
            address=prop.address,
            parties=[PartyAttribute(contact_id=party.contact_id, role=party.role) for party in prop.parties],
            sms_tasks=[_task_attribute(task) for task in prop.sms_tasks],
            created_at=prop.created_at,
            launched_at=prop.launched_at,
            launch_event_id=prop.launch_event_id,
        )
        # The version attribute makes PynamoDB add the version condition and write the next version.
        # Left unset (None) it means a new property.
        if expected_version is not None:
            item.version = expected_version
        memberships = [
            models.membership(
                pk,
                membership_sk(contact_id, prop.property_id),
                company_id=prop.company_id,
                contact_id=contact_id,
                property_id=prop.property_id,
            )
            for contact_id in sorted(prop.contact_ids())
        ]
        in_transaction = memberships[: MAX_TRANSACTION_ITEMS - 1]
        overflow = memberships[MAX_TRANSACTION_ITEMS - 1 :]

        transaction = _Transaction(models.connection)
        transaction.put("property", item)
        for membership in in_transaction:
            transaction.put("membership", membership)
        try:
            transaction.commit()
        except _ConditionFailed as failed:
            if "property" not in failed.names:
                raise
            raise Conflict(
                f"property {prop.property_id} was changed by another request "
                f"(expected version {expected_version}); read it again and retry"
            ) from None

        if overflow:
            # NOTE: these memberships are written after the transaction, so a failure here leaves
            # the property saved with some memberships missing until the next save.
            with _translate_errors("BatchWriteItem"), models.membership.batch_write() as batch:
                for membership in overflow:
                    batch.save(membership)

    def get_property(self, company_id: str, property_id: str) -> Property | None:
        """Read one property with GetItem."""
        item = _get_item(self._models.property, company_pk(company_id), property_sk(property_id))
        return None if item is None else _property_from(item)

    def property_ids_of_contact(self, company_id: str, contact_id: str) -> list[str]:
        """Query the membership items of one contact and return their property ids."""
        query = self._models.membership.query(
            company_pk(company_id),
            range_key_condition=self._models.membership.sk.startswith(membership_prefix(contact_id)),
        )
        with _translate_errors("Query"):
            return [item.property_id for item in query]

    def _contact_item(self, contact: Contact) -> ContactItem:
        return self._models.contact(
            company_pk(contact.company_id),
            contact_sk(contact.contact_id),
            company_id=contact.company_id,
            contact_id=contact.contact_id,
            name=contact.name,
            mobile_phone=contact.mobile_phone,
            sms_enabled=contact.sms_enabled,
            created_at=contact.created_at,
            updated_at=contact.updated_at,
        )


class DynamoConsentRepository:
    """Consents, cooldown claims, message lookups, deferred sends and the consent ledger.

    Consents, claims, lookups and deferred sends live in the consent table, and ledger entries in
    the ledger table. Writes that span both tables are single transactions.

    Parameters
    ----------
    config
        Table names, region and optional endpoint. Construction creates no AWS client.
    """

    def __init__(self, config: DynamoConfig) -> None:
        self._models = bind_models(config)

    # Reads --------------------------------------------------------------------------------------

    def get_phone_consents(self, company_id: str, phones: Sequence[str]) -> dict[str, PhoneConsent]:
        """Read the consent, cooldown claim and deferred opt-in request of each phone.

        Uses strongly consistent BatchGetItem requests, because a claim decision is made on what
        they return. A phone with none of the three items is absent from the result. A phone with
        a claim or a deferred request but no consent item gets a `Consent` with default values.
        """
        models = self._models
        pk = company_pk(company_id)
        keys = []
        for phone in dict.fromkeys(phones):
            keys.append({"pk": pk, "sk": consent_sk(phone)})
            keys.append({"pk": pk, "sk": cooldown_sk(phone)})
            keys.append({"pk": pk, "sk": opt_in_scheduled_sk(phone)})

        found: dict[str, PhoneConsent] = {}
        for raw in _batch_get(models, keys, consistent_read=True):
            sort_key = raw["sk"]["S"]
            if sort_key.startswith("CONSENT#"):
                consent = _consent_from(models.consent.from_raw_data(raw))
                found.setdefault(consent.phone, PhoneConsent(consent)).consent = consent
            elif sort_key.startswith("COOLDOWN#"):
                cooldown = _cooldown_from(models.cooldown.from_raw_data(raw))
                entry = found.setdefault(cooldown.phone, PhoneConsent(Consent(company_id, cooldown.phone)))
                entry.cooldown = cooldown
            else:
                scheduled = _scheduled_from(models.scheduled.from_raw_data(raw))
                entry = found.setdefault(scheduled.phone, PhoneConsent(Consent(company_id, scheduled.phone)))
                entry.scheduled = scheduled
        return found

    def consents_for_phone(self, phone: str) -> list[Consent]:
        """Query the ByPhone index for the phone's consents in every company.

        The index is eventually consistent, so a consent written a moment ago may be missing.
        """
        with _translate_errors("Query"):
            return [
                _consent_from(item) for item in self._models.consent.by_phone.query(phone_index_pk(phone))
            ]

    def claim_task_send(
        self, company_id: str, task_id: str, phone: str, now: datetime, until: datetime
    ) -> bool:
        """Claim the right to text task ``task_id`` to ``phone`` until ``until``; False while claimed."""
        return self._claim_window(company_pk(company_id), f"TASKSEND#{task_id}#{phone}", now, until)

    def release_task_send(self, company_id: str, task_id: str, phone: str) -> None:
        """Give the claim back after a send that the provider did not accept."""
        item = self._models.send_window(company_pk(company_id), f"TASKSEND#{task_id}#{phone}")
        with _translate_errors("DeleteItem"):
            item.delete()

    def claim_reply_slot(
        self, phone: str, our_number: str, kind: str, now: datetime, until: datetime
    ) -> bool:
        """Claim the right to send an automatic reply of ``kind`` to ``phone`` until ``until``."""
        return self._claim_window(f"REPLYLIMIT#{phone}", f"{our_number}#{kind}", now, until)

    def _claim_window(self, pk: str, sk: str, now: datetime, until: datetime) -> bool:
        model = self._models.send_window
        # An expired claim can still be there (TTL deletion runs late), so the stored expiry decides.
        condition = model.pk.does_not_exist() | (model.expires_at <= now)
        item = model(pk, sk, claimed_at=now, expires_at=_round_up_to_second(until))
        try:
            with _translate_errors("PutItem"):
                item.save(condition=condition)
        except PynamoDBException as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def unsent_reply(self, dedupe_key: str) -> PendingReply | None:
        """Read the reply stored on an inbound marker, unless it was flagged sent."""
        item = _get_item(self._models.inbound_marker, inbound_pk(dedupe_key), INBOUND_SK)
        if item is None or item.reply_body is None or item.reply_sent:
            return None
        return PendingReply(
            destination=item.reply_destination or "",
            origination=item.reply_origination or "",
            body=item.reply_body,
            company_id=item.reply_company_id or "",
            kind=item.reply_kind or "",
        )

    def mark_reply_sent(self, dedupe_key: str) -> None:
        """Flag the marker's reply as sent; a marker that does not exist is left alone."""
        marker_model = self._models.inbound_marker
        item = marker_model(inbound_pk(dedupe_key), INBOUND_SK)
        try:
            with _translate_errors("UpdateItem"):
                item.update(actions=[marker_model.reply_sent.set(True)], condition=marker_model.pk.exists())
        except PynamoDBException as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def find_outbound_message(self, message_id: str) -> OutboundMessage | None:
        """Read the lookup item of a message the service sent."""
        item = _get_item(self._models.message, message_pk(message_id), MESSAGE_SK)
        if item is None:
            return None
        return OutboundMessage(item.message_id, item.company_id, item.phone, item.kind, item.sent_at)

    def ledger(self, company_id: str, phone: str) -> list[LedgerEntry]:
        """Query the phone's ledger entries in the company, oldest first."""
        with _translate_errors("Query"):
            return [
                _ledger_entry_from(item) for item in self._models.ledger.query(ledger_pk(company_id, phone))
            ]

    def due_scheduled(self, now: datetime, limit: int) -> list[ScheduledSend]:
        """Query the ByDueTime index for at most ``limit`` deferred sends due at ``now``, earliest first."""
        query = self._models.scheduled.by_due_time.query(
            DUE_BUCKET,
            range_key_condition=ScheduledItem.due_at <= math.floor(now.timestamp()),
            limit=limit,
        )
        with _translate_errors("Query"):
            return [_scheduled_from(item) for item in query]

    # Opt-in claims ------------------------------------------------------------------------------

    def claim_opt_in(self, claim: OptInClaim) -> None:
        """Claim the phone's cooldown and set its consent to pending, in one transaction.

        A first claim puts the cooldown item. It succeeds when no claim exists or the stored claim
        has expired. A reclaim (``claim.reclaim``) updates the claim that the same operation made
        before. It succeeds only while that claim carries ``claim.token``, has no sent message and
        still has the send count of ``claim.previous``, so each reclaim works once.

        Raises
        ------
        ClaimRejected
            A condition failed: another token's claim is active, this token already sent or
            reclaimed, or the consent is opted in or opted out.
        TransientError
            DynamoDB throttled the request or another transaction wrote one of the items.
        """
        models = self._models
        pk = company_pk(claim.company_id)
        transaction = _Transaction(models.connection)
        cooldown = models.cooldown(pk, cooldown_sk(claim.phone))

        if claim.reclaim:
            previous = claim.previous.cooldown
            if previous is None:
                raise ValueError("a reclaim needs claim.previous.cooldown, the claim that it repeats")
            transaction.update(
                "cooldown",
                cooldown,
                actions=[CooldownItem.send_attempts.set(previous.send_attempts + 1)],
                condition=(CooldownItem.token == claim.token)
                & CooldownItem.message_id.does_not_exist()
                & (CooldownItem.send_attempts == previous.send_attempts),
            )
        else:
            cooldown.company_id = claim.company_id
            cooldown.phone = claim.phone
            cooldown.token = claim.token
            cooldown.claimed_at = claim.claimed_at
            cooldown.expires_at = _round_up_to_second(claim.expires_at)
            cooldown.send_attempts = 1
            # DynamoDB deletes expired items days after expires_at and they stay readable until
            # then, so an existing item does not mean an active claim. Only the stored expiry
            # decides. PynamoDB rounds claimed_at down to whole seconds here, which gives the same
            # result as Cooldown.is_active on the stored whole-second expiry.
            transaction.put(
                "cooldown",
                cooldown,
                condition=CooldownItem.pk.does_not_exist() | (CooldownItem.expires_at <= claim.claimed_at),
            )

        transaction.update(
            "consent",
            models.consent(pk, consent_sk(claim.phone)),
            actions=[
                *_consent_identity_actions(claim.company_id, claim.phone),
                ConsentItem.status.set(ConsentStatus.PENDING.value),
                ConsentItem.requested_at.set(claim.claimed_at),
                ConsentItem.updated_at.set(claim.claimed_at),
            ],
            condition=ConsentItem.pk.does_not_exist()
            | (
                (ConsentItem.status != ConsentStatus.OPTED_IN.value)
                & (ConsentItem.status != ConsentStatus.OPTED_OUT.value)
            ),
        )
        try:
            transaction.commit()
        except _ConditionFailed as failed:
            raise ClaimRejected(
                f"opt-in claim rejected for {mask_phone(claim.phone)} in company {claim.company_id}: "
                f"the {' and '.join(sorted(failed.names))} condition failed"
            ) from None

    def record_sent(
        self, claim: OptInClaim, message: OutboundMessage, origination_number: str, entry: LedgerEntry
    ) -> None:
        """Store the sent message on the claim and the consent, its lookup item and its ledger entry.

        The text has already gone out, so its records are written even when the claim no longer
        carries ``claim.token``: the transaction is then sent again without the claim update. When
        the ledger entry exists, an earlier call stored everything (a transaction is all-or-nothing),
        so nothing is written.
        """
        failed = self._write_sent(claim, message, origination_number, entry, update_claim=True)
        if failed == {"cooldown"}:
            logger.warning(
                "Cooldown claim taken over before the sent message was recorded, so recording without it",
                extra={
                    "company_id": claim.company_id,
                    "phone": mask_phone(claim.phone),
                    "message_id": message.message_id,
                },
            )
            failed = self._write_sent(claim, message, origination_number, entry, update_claim=False)
        if "ledger" in failed:
            logger.info(
                "Sent message not recorded again because its ledger entry exists",
                extra={"company_id": claim.company_id, "message_id": message.message_id},
            )

    def _write_sent(
        self,
        claim: OptInClaim,
        message: OutboundMessage,
        origination_number: str,
        entry: LedgerEntry,
        update_claim: bool,
    ) -> set[str]:
        """Send the transaction of `record_sent`; returns the names of the writes whose condition failed."""
        models = self._models
        pk = company_pk(claim.company_id)
        transaction = _Transaction(models.connection)
        if update_claim:
            transaction.update(
                "cooldown",
                models.cooldown(pk, cooldown_sk(claim.phone)),
                actions=[CooldownItem.message_id.set(message.message_id)],
                condition=CooldownItem.token == claim.token,
            )
        transaction.update(
            "consent",
            models.consent(pk, consent_sk(claim.phone)),
            actions=[
                *_consent_identity_actions(claim.company_id, claim.phone),
                # The claim created the consent item. If it is gone, this recreates a pending one.
                ConsentItem.status.set(ConsentItem.status | ConsentStatus.PENDING.value),
                ConsentItem.requested_at.set(ConsentItem.requested_at | claim.claimed_at),
                ConsentItem.last_message_id.set(message.message_id),
                ConsentItem.origination_number.set(origination_number),
                ConsentItem.updated_at.set(message.sent_at),
            ],
        )
        transaction.put("message", self._message_item(message))
        transaction.put("ledger", self._ledger_item(entry), condition=LedgerItem.pk.does_not_exist())
        try:
            transaction.commit()
        except _ConditionFailed as failed:
            return failed.names
        return set()

    def release_claim(self, claim: OptInClaim) -> None:
        """Delete the claim if it carries ``claim.token``, and restore ``claim.previous.consent``.

        Both writes are conditional and go in one transaction. The claim must still carry the token
        and the consent must still be pending. When either condition fails, another request
        owns the phone now, so nothing is written and the outcome is logged.
        """
        models = self._models
        pk = company_pk(claim.company_id)
        transaction = _Transaction(models.connection)
        transaction.delete(
            "cooldown",
            models.cooldown(pk, cooldown_sk(claim.phone)),
            condition=CooldownItem.token == claim.token,
        )
        still_pending = ConsentItem.status == ConsentStatus.PENDING.value
        previous = claim.previous.consent
        if previous.updated_at is None and previous.status is ConsentStatus.NOT_REQUESTED:
            # The consent item did not exist before the claim created it.
            transaction.delete(
                "consent", models.consent(pk, consent_sk(claim.phone)), condition=still_pending
            )
        else:
            transaction.put("consent", _consent_item(models, previous), condition=still_pending)
        try:
            transaction.commit()
        except _ConditionFailed as failed:
            logger.info(
                "Cooldown claim not released because another request changed it",
                extra={
                    "company_id": claim.company_id,
                    "phone": mask_phone(claim.phone),
                    "failed_conditions": sorted(failed.names),
                },
            )

    # Consent changes ----------------------------------------------------------------------------

    def apply_changes(
        self,
        changes: Sequence[ConsentChange],
        dedupe_key: str | None = None,
        reply: PendingReply | None = None,
    ) -> None:
        """Write the consents, their ledger entries and the inbound marker in one transaction.

        ``reply`` is stored on the marker with ``reply_sent`` false until `mark_reply_sent`.

        Each consent replaces the stored item. With ``expected_status`` set, the write requires
        that status (``not_requested`` also matches a consent that was never stored).

        Raises
        ------
        DuplicateChange
            The inbound marker of ``dedupe_key`` exists, or a ledger entry exists, so the change was
            applied before. Nothing is written.
        StaleConsent
            A consent's status is no longer its ``expected_status``. Nothing is written.
        ValueError
            The transaction would exceed 100 items, or two changes name the same consent.
        """
        if not changes and dedupe_key is None:
            return
        item_count = 2 * len(changes) + (1 if dedupe_key is not None else 0)
        if item_count > MAX_TRANSACTION_ITEMS:
            raise ValueError(
                f"apply_changes needs {item_count} writes but one DynamoDB transaction can include at most "
                f"{MAX_TRANSACTION_ITEMS}; pass at most {(MAX_TRANSACTION_ITEMS - 1) // 2} changes"
            )
        consent_keys = [(change.consent.company_id, change.consent.phone) for change in changes]
        if len(set(consent_keys)) != len(consent_keys):
            raise ValueError("apply_changes received two changes to the same consent; merge them into one")

        models = self._models
        transaction = _Transaction(models.connection)
        if dedupe_key is not None:
            now = datetime.now(UTC)
            marker = models.inbound_marker(
                inbound_pk(dedupe_key),
                INBOUND_SK,
                dedupe_key=dedupe_key,
                recorded_at=now,
                # The marker's TTL is housekeeping, so it comes from the wall clock.
                expires_at=now + LOOKUP_RETENTION,
            )
            if reply is not None:
                marker.reply_destination = reply.destination
                marker.reply_origination = reply.origination
                marker.reply_body = reply.body
                marker.reply_company_id = reply.company_id
                marker.reply_kind = reply.kind
                marker.reply_sent = False
            transaction.put("marker", marker, condition=models.inbound_marker.pk.does_not_exist())
        for change in changes:
            transaction.put(
                "consent",
                _consent_item(models, change.consent),
                condition=_expected_status_condition(change.expected_status),
            )
            transaction.put(
                "ledger", self._ledger_item(change.ledger_entry), condition=LedgerItem.pk.does_not_exist()
            )
        try:
            transaction.commit()
        except _ConditionFailed as failed:
            if "marker" in failed.names:
                raise DuplicateChange(f"inbound message {dedupe_key} was applied before") from None
            if "ledger" in failed.names:
                raise DuplicateChange(
                    "a ledger entry of these changes exists, so they were applied before"
                ) from None
            raise StaleConsent("a consent's status changed since it was read; read it again") from None

    # Single items -------------------------------------------------------------------------------

    def record_outbound(self, message: OutboundMessage) -> None:
        """Put the lookup item of a sent message, which expires 400 days after ``sent_at``."""
        with _translate_errors("PutItem"):
            self._message_item(message).save()

    def append_ledger(self, entry: LedgerEntry) -> None:
        """Put a ledger entry unless an entry with the same time and id exists.

        Appending the same entry again is a no-op, so a retried call is safe.
        """
        try:
            with _translate_errors("PutItem"):
                self._ledger_item(entry).save(condition=LedgerItem.pk.does_not_exist())
        except PynamoDBException as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            logger.info(
                "Ledger entry not written because it exists",
                extra={"company_id": entry.company_id, "entry_id": entry.entry_id},
            )

    def put_scheduled(self, scheduled: ScheduledSend) -> None:
        """Put a deferred send, replacing a send with the same ``schedule_key``."""
        models = self._models
        item = models.scheduled(
            company_pk(scheduled.company_id),
            scheduled_sk(scheduled.schedule_key),
            company_id=scheduled.company_id,
            phone=scheduled.phone,
            kind=scheduled.kind,
            cause=scheduled.cause.value,
            due_bucket=DUE_BUCKET,
            due_at=math.ceil(scheduled.due_at.timestamp()),
            due_time=scheduled.due_at,
            contact_ids=list(scheduled.contact_ids),
            property_id=scheduled.property_id,
            task_id=scheduled.task_id,
            created_at=scheduled.created_at,
        )
        with _translate_errors("PutItem"):
            item.save()

    def delete_scheduled(self, scheduled: ScheduledSend) -> None:
        """Delete a deferred send unless it was replaced with another due time since it was read."""
        item = self._models.scheduled(company_pk(scheduled.company_id), scheduled_sk(scheduled.schedule_key))
        try:
            with _translate_errors("DeleteItem"):
                item.delete(condition=ScheduledItem.due_time == scheduled.due_at)
        except PynamoDBException as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            logger.info(
                "Deferred send not deleted because it was replaced or deleted before",
                extra={
                    "company_id": scheduled.company_id,
                    "kind": scheduled.kind,
                    "phone": mask_phone(scheduled.phone),
                },
            )

    # Items --------------------------------------------------------------------------------------

    def _message_item(self, message: OutboundMessage) -> MessageItem:
        return self._models.message(
            message_pk(message.message_id),
            MESSAGE_SK,
            message_id=message.message_id,
            company_id=message.company_id,
            phone=message.phone,
            kind=message.kind,
            sent_at=message.sent_at,
            expires_at=message.sent_at + LOOKUP_RETENTION,
        )

    def _ledger_item(self, entry: LedgerEntry) -> LedgerItem:
        return self._models.ledger(
            ledger_pk(entry.company_id, entry.phone),
            ledger_sk(entry.recorded_at, entry.entry_id),
            company_id=entry.company_id,
            phone=entry.phone,
            recorded_at=entry.recorded_at,
            entry_id=entry.entry_id,
            action=entry.action.value,
            status_after=entry.status_after.value,
            cause=entry.cause.value,
            direction=entry.direction,
            text=entry.text,
            message_id=entry.message_id,
            origination_number=entry.origination_number,
            destination_number=entry.destination_number,
        )


# Transactions -----------------------------------------------------------------------------------


class _ConditionFailed(Exception):
    """DynamoDB cancelled a transaction because the conditions of the writes in ``names`` failed."""

    def __init__(self, names: set[str]) -> None:
        super().__init__(f"condition failed on: {', '.join(sorted(names))}")
        self.names = names


class _Transaction:
    """Named writes of one TransactWriteItems request, so that a failed condition points to its write."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._deletes: list[tuple[str, dict[str, Any]]] = []
        self._puts: list[tuple[str, dict[str, Any]]] = []
        self._updates: list[tuple[str, dict[str, Any]]] = []

    def put(self, name: str, item: Model, condition: Condition | None = None) -> None:
        self._puts.append((name, item.get_save_kwargs_from_instance(condition=condition)))

    def update(
        self, name: str, item: Model, actions: list[Action], condition: Condition | None = None
    ) -> None:
        self._updates.append(
            (name, item.get_update_kwargs_from_instance(actions=actions, condition=condition))
        )

    def delete(self, name: str, item: Model, condition: Condition | None = None) -> None:
        self._deletes.append((name, item.get_delete_kwargs_from_instance(condition=condition)))

    def commit(self) -> None:
        """Send the writes.

        Raises `_ConditionFailed` when a condition failed, and `TransientError` for throttling,
        transaction conflicts and network faults.
        """
        # Connection.transact_write_items sends deletes, then puts, then updates (PynamoDB 6.1), and
        # DynamoDB returns one cancellation reason per item in request order.
        names = [name for name, _ in (*self._deletes, *self._puts, *self._updates)]
        if len(names) > MAX_TRANSACTION_ITEMS:
            raise ValueError(
                f"a DynamoDB transaction can include at most {MAX_TRANSACTION_ITEMS} items, not {len(names)}"
            )
        try:
            self._connection.transact_write_items(
                condition_check_items=[],
                delete_items=[kwargs for _, kwargs in self._deletes],
                put_items=[kwargs for _, kwargs in self._puts],
                update_items=[kwargs for _, kwargs in self._updates],
            )
        except TransactWriteError as error:
            codes = [reason.code if reason is not None else None for reason in error.cancellation_reasons]
            failed = {name for name, code in zip(names, codes, strict=False) if code == CONDITION_FAILED}
            if failed:
                raise _ConditionFailed(failed) from error
            if _is_transient(error) or any(code in TRANSIENT_CANCELLATION_CODES for code in codes):
                reason = ", ".join(filter(None, codes)) or _error_code(error)
                raise TransientError(
                    f"DynamoDB TransactWriteItems failed ({reason}); retry the request"
                ) from error
            raise


# Reads and errors -------------------------------------------------------------------------------


def _error_code(error: PynamoDBException) -> str:
    return error.cause_response_code or type(error.cause).__name__


def _is_transient(error: PynamoDBException) -> bool:
    if error.cause_response_code in TRANSIENT_ERROR_CODES:
        return True
    # Timeouts and refused or dropped connections.
    return isinstance(error.cause, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError)


@contextmanager
def _translate_errors(operation: str) -> Iterator[None]:
    """Raise `TransientError` in place of a PynamoDB error that a retry may clear."""
    try:
        yield
    except PynamoDBException as error:
        if _is_transient(error):
            raise TransientError(
                f"DynamoDB {operation} failed ({_error_code(error)}); retry the request"
            ) from error
        raise


_M = TypeVar("_M", bound=Model)


def _get_item(model: type[_M], pk: str, sk: str) -> _M | None:
    try:
        with _translate_errors("GetItem"):
            return model.get(pk, sk)
    except DoesNotExist:
        return None


def _batch_get(
    models: BoundModels, keys: list[dict[str, str]], consistent_read: bool
) -> list[dict[str, Any]]:
    """Read consent table items with BatchGetItem, 100 keys per request.

    Keys that DynamoDB returns as UnprocessedKeys are requested again with exponential backoff.
    Raises `TransientError` when some stay unprocessed after `MAX_UNPROCESSED_RETRIES` requests.
    """
    table_name = models.config.consent_table
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_BATCH_GET_KEYS):
        pending: Sequence[Any] = keys[start : start + MAX_BATCH_GET_KEYS]
        retries = 0
        while pending:
            with _translate_errors("BatchGetItem"):
                response = models.connection.batch_get_item(
                    table_name, pending, consistent_read=consistent_read
                )
            items.extend(response.get("Responses", {}).get(table_name, []))
            pending = response.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
            if not pending:
                break
            retries += 1
            if retries > MAX_UNPROCESSED_RETRIES:
                raise TransientError(
                    f"DynamoDB BatchGetItem left {len(pending)} keys unprocessed after "
                    f"{MAX_UNPROCESSED_RETRIES} retries; retry the request"
                )
            time.sleep(min(UNPROCESSED_BACKOFF_SECONDS * 2**retries, UNPROCESSED_BACKOFF_MAX_SECONDS))
    return items


# Mapping between items and entities -------------------------------------------------------------


def _round_up_to_second(value: datetime) -> datetime:
    """Round up to a whole second, because DynamoDB TTL values are whole epoch seconds.

    Rounding up keeps a cooldown at least as long as requested.
    """
    whole = value.replace(microsecond=0)
    return whole if whole == value else whole + timedelta(seconds=1)


def _expected_status_condition(expected: ConsentStatus | None) -> Condition | None:
    if expected is None:
        return None
    condition = ConsentItem.status == expected.value
    if expected is ConsentStatus.NOT_REQUESTED:
        # A consent that was never stored reads as not_requested.
        condition = ConsentItem.pk.does_not_exist() | condition
    return condition


def _consent_identity_actions(company_id: str, phone: str) -> list[Action]:
    """Set the attributes that identify a consent, for updates that may create the item."""
    return [
        ConsentItem.company_id.set(company_id),
        ConsentItem.phone.set(phone),
        ConsentItem.gsi1pk.set(phone_index_pk(phone)),
        ConsentItem.gsi1sk.set(company_pk(company_id)),
    ]


def _consent_item(models: BoundModels, consent: Consent) -> ConsentItem:
    return models.consent(
        company_pk(consent.company_id),
        consent_sk(consent.phone),
        company_id=consent.company_id,
        phone=consent.phone,
        status=consent.status.value,
        requested_at=consent.requested_at,
        opted_in_at=consent.opted_in_at,
        opted_out_at=consent.opted_out_at,
        origination_number=consent.origination_number,
        last_message_id=consent.last_message_id,
        updated_at=consent.updated_at,
        gsi1pk=phone_index_pk(consent.phone),
        gsi1sk=company_pk(consent.company_id),
    )


def _consent_from(item: ConsentItem) -> Consent:
    return Consent(
        company_id=item.company_id,
        phone=item.phone,
        status=ConsentStatus(item.status),
        requested_at=item.requested_at,
        opted_in_at=item.opted_in_at,
        opted_out_at=item.opted_out_at,
        origination_number=item.origination_number,
        last_message_id=item.last_message_id,
        updated_at=item.updated_at,
    )


def _cooldown_from(item: CooldownItem) -> Cooldown:
    return Cooldown(
        company_id=item.company_id,
        phone=item.phone,
        token=item.token,
        claimed_at=item.claimed_at,
        expires_at=item.expires_at,
        message_id=item.message_id,
        send_attempts=int(item.send_attempts),
    )


def _scheduled_from(item: ScheduledItem) -> ScheduledSend:
    return ScheduledSend(
        company_id=item.company_id,
        phone=item.phone,
        kind=item.kind,
        due_at=item.due_time,
        cause=Cause(item.cause),
        contact_ids=list(item.contact_ids),
        property_id=item.property_id,
        task_id=item.task_id,
        created_at=item.created_at,
    )


def _contact_from(item: ContactItem) -> Contact:
    return Contact(
        company_id=item.company_id,
        contact_id=item.contact_id,
        name=item.name,
        mobile_phone=item.mobile_phone,
        sms_enabled=item.sms_enabled,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _task_attribute(task: SmsTask) -> SmsTaskAttribute:
    return SmsTaskAttribute(
        task_id=task.task_id,
        name=task.name,
        message=task.message,
        recipient_roles=list(task.recipient_roles),
        recipient_contact_ids=list(task.recipient_contact_ids),
    )


def _property_from(item: PropertyItem) -> Property:
    return Property(
        company_id=item.company_id,
        property_id=item.property_id,
        address=item.address,
        parties=[Party(party.contact_id, party.role) for party in item.parties],
        sms_tasks=[
            SmsTask(
                task_id=task.task_id,
                name=task.name,
                message=task.message,
                recipient_roles=list(task.recipient_roles),
                recipient_contact_ids=list(task.recipient_contact_ids),
            )
            for task in item.sms_tasks
        ],
        created_at=item.created_at,
        launched_at=item.launched_at,
        launch_event_id=item.launch_event_id,
        version=int(item.version),
    )


def _ledger_entry_from(item: LedgerItem) -> LedgerEntry:
    return LedgerEntry(
        company_id=item.company_id,
        phone=item.phone,
        recorded_at=item.recorded_at,
        entry_id=item.entry_id,
        action=LedgerAction(item.action),
        status_after=ConsentStatus(item.status_after),
        cause=Cause(item.cause),
        direction=item.direction,
        text=item.text,
        message_id=item.message_id,
        origination_number=item.origination_number,
        destination_number=item.destination_number,
    )
