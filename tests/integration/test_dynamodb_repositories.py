"""The DynamoDB repositories against moto's DynamoDB, with tables built from template.yaml."""

from __future__ import annotations

import logging
import types
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sms_consent.adapters.dynamodb import (
    DynamoConfig,
    DynamoConsentRepository,
    DynamoDirectoryRepository,
    dynamodb_event_emitter,
)
from sms_consent.adapters.dynamodb_models import ledger_sk
from sms_consent.domain.model import (
    Cause,
    Company,
    Consent,
    ConsentStatus,
    Contact,
    LedgerAction,
    LedgerEntry,
    OutboundMessage,
    Party,
    PhoneConsent,
    Property,
    ScheduledSend,
    SmsTask,
)
from sms_consent.domain.ports import ClaimRejected, ConsentChange, DuplicateChange, OptInClaim, StaleConsent
from sms_consent.errors import Conflict, NotFound, TransientError

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
COOLDOWN = timedelta(hours=24)
COMPANY = "acme"
OTHER_COMPANY = "globex"
PHONE = "+12015550101"
OTHER_PHONE = "+12015550102"
OUR_NUMBER = "+12015550100"


@pytest.fixture
def config(tables) -> DynamoConfig:
    return DynamoConfig(consent_table=tables.consent, ledger_table=tables.ledger, region="us-east-1")


@pytest.fixture
def consents(config) -> DynamoConsentRepository:
    return DynamoConsentRepository(config)


@pytest.fixture
def directory(config) -> DynamoDirectoryRepository:
    return DynamoDirectoryRepository(config)


@pytest.fixture
def consent_table(tables):
    return boto3.resource("dynamodb", region_name="us-east-1").Table(tables.consent)


@pytest.fixture
def request_names(config) -> list[str]:
    """Collect the operation name of every DynamoDB request the repositories send."""
    names: list[str] = []

    def record(model, **_):
        names.append(model.name)

    emitter = dynamodb_event_emitter(config)
    emitter.register("before-call.dynamodb", record)
    yield names
    emitter.unregister("before-call.dynamodb", record)


# Builders ---------------------------------------------------------------------------------------


def empty_state(company_id: str = COMPANY, phone: str = PHONE) -> PhoneConsent:
    return PhoneConsent(Consent(company_id, phone))


def make_claim(
    token: str = "token-1",
    at: datetime = NOW,
    previous: PhoneConsent | None = None,
    reclaim: bool = False,
    company_id: str = COMPANY,
    phone: str = PHONE,
) -> OptInClaim:
    return OptInClaim(
        company_id=company_id,
        phone=phone,
        token=token,
        claimed_at=at,
        expires_at=at + COOLDOWN,
        previous=previous or empty_state(company_id, phone),
        reclaim=reclaim,
    )


def make_entry(
    entry_id: str = "entry-1",
    at: datetime = NOW,
    action: LedgerAction = LedgerAction.OPTED_IN,
    status_after: ConsentStatus = ConsentStatus.OPTED_IN,
    company_id: str = COMPANY,
    phone: str = PHONE,
) -> LedgerEntry:
    return LedgerEntry(
        company_id=company_id,
        phone=phone,
        recorded_at=at,
        entry_id=entry_id,
        action=action,
        status_after=status_after,
        cause=Cause.RECIPIENT_REPLY,
        direction="inbound",
        text="YES",
        message_id="inbound-1",
        origination_number=phone,
        destination_number=OUR_NUMBER,
    )


def make_change(
    status: ConsentStatus,
    expected: ConsentStatus | None,
    entry_id: str = "entry-1",
    company_id: str = COMPANY,
    phone: str = PHONE,
    at: datetime = NOW,
) -> ConsentChange:
    consent = Consent(company_id, phone, origination_number=OUR_NUMBER).with_status(status, at)
    entry = make_entry(entry_id, at, status_after=status, company_id=company_id, phone=phone)
    return ConsentChange(consent=consent, ledger_entry=entry, expected_status=expected)


def set_status(consents: DynamoConsentRepository, status: ConsentStatus, company_id: str = COMPANY) -> None:
    consents.apply_changes(
        [make_change(status, None, entry_id=f"set-{status}-{company_id}", company_id=company_id)]
    )


def sent_message(message_id: str = "message-1", at: datetime = NOW) -> OutboundMessage:
    return OutboundMessage(message_id, COMPANY, PHONE, "opt_in_request", at)


def request_entry(message_id: str = "message-1", at: datetime = NOW) -> LedgerEntry:
    return LedgerEntry(
        company_id=COMPANY,
        phone=PHONE,
        recorded_at=at,
        entry_id=f"sent-{message_id}",
        action=LedgerAction.OPT_IN_REQUESTED,
        status_after=ConsentStatus.PENDING,
        cause=Cause.LAUNCH,
        direction="outbound",
        text="Acme: reply YES to get texts",
        message_id=message_id,
        origination_number=OUR_NUMBER,
        destination_number=PHONE,
    )


def current(
    consents: DynamoConsentRepository, phone: str = PHONE, company_id: str = COMPANY
) -> PhoneConsent | None:
    return consents.get_phone_consents(company_id, [phone]).get(phone)


def make_contact(contact_id: str, phone: str | None = PHONE) -> Contact:
    return Contact(COMPANY, contact_id, f"Contact {contact_id}", phone, True, NOW, NOW)


def make_property(property_id: str = "property-1", parties: list[Party] | None = None) -> Property:
    return Property(
        company_id=COMPANY,
        property_id=property_id,
        address="1 Harbor Way",
        parties=parties
        if parties is not None
        else [Party("buyer-1", "buyer"), Party("agent-1", "listing_agent")],
        sms_tasks=[
            SmsTask("task-1", "Inspection", "Inspection is booked", ["buyer"], ["lender-1"]),
            SmsTask("task-2", "Closing", "Closing is tomorrow"),
        ],
        created_at=NOW,
    )


def make_scheduled(phone: str, due_at: datetime, kind: str = "opt_in_request") -> ScheduledSend:
    return ScheduledSend(
        company_id=COMPANY,
        phone=phone,
        kind=kind,
        due_at=due_at,
        cause=Cause.LAUNCH,
        contact_ids=["contact-1"],
        property_id="property-1" if kind == "task_message" else None,
        task_id="task-1" if kind == "task_message" else None,
        created_at=NOW,
    )


# Construction -----------------------------------------------------------------------------------


def test_repositories_create_no_client(monkeypatch):
    created: list[str] = []
    original = botocore.session.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        created.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    config = DynamoConfig("unbound-consent", "unbound-ledger", "us-east-1")

    DynamoDirectoryRepository(config)
    DynamoConsentRepository(config)

    assert created == []


def test_each_call_sends_one_request(consents, directory, request_names):
    directory.put_company(Company(COMPANY, "Acme Realty"))
    consents.claim_opt_in(make_claim())
    consents.ledger(COMPANY, PHONE)

    assert request_names == ["PutItem", "TransactWriteItems", "Query"]


# Directory --------------------------------------------------------------------------------------


def test_company_round_trip(directory):
    company = Company(COMPANY, "Acme Realty", "help@acme.example", NOW)

    directory.put_company(company)

    assert directory.get_company(COMPANY) == company


def test_minimal_company_round_trip(directory):
    directory.put_company(Company(COMPANY))

    assert directory.get_company(COMPANY) == Company(COMPANY)


def test_missing_company_is_none(directory):
    assert directory.get_company("nobody") is None


def test_contact_round_trip(directory):
    contact = make_contact("contact-1")

    directory.create_contact(contact)

    assert directory.get_contact(COMPANY, "contact-1") == contact


def test_contact_without_phone_round_trip(directory):
    contact = replace(make_contact("contact-1", phone=None), sms_enabled=False)

    directory.create_contact(contact)

    assert directory.get_contact(COMPANY, "contact-1") == contact


def test_create_contact_existing_id_conflicts(directory):
    directory.create_contact(make_contact("contact-1"))

    with pytest.raises(Conflict):
        directory.create_contact(make_contact("contact-1", phone=OTHER_PHONE))

    assert directory.get_contact(COMPANY, "contact-1").mobile_phone == PHONE


def test_update_contact_replaces_fields(directory):
    directory.create_contact(make_contact("contact-1"))
    updated = replace(
        make_contact("contact-1"), name="New Name", mobile_phone=OTHER_PHONE, updated_at=NOW + COOLDOWN
    )

    directory.update_contact(updated)

    assert directory.get_contact(COMPANY, "contact-1") == updated


def test_update_missing_contact_raises_not_found(directory):
    with pytest.raises(NotFound):
        directory.update_contact(make_contact("contact-1"))

    assert directory.get_contact(COMPANY, "contact-1") is None


def test_contact_of_other_company_not_found(directory):
    directory.create_contact(make_contact("contact-1"))

    assert directory.get_contact(OTHER_COMPANY, "contact-1") is None


def test_get_contacts_over_100_ids(directory):
    ids = [f"contact-{number:03}" for number in range(105)]
    for contact_id in ids:
        directory.create_contact(make_contact(contact_id))

    found = directory.get_contacts(COMPANY, [*ids, "missing", ids[0]])

    assert set(found) == set(ids)
    assert found["contact-104"] == make_contact("contact-104")


def test_property_round_trip(directory):
    prop = make_property()

    directory.save_property(prop, expected_version=None)

    assert directory.get_property(COMPANY, "property-1") == replace(prop, version=1)


def test_launched_property_round_trip(directory):
    prop = replace(make_property(), launched_at=NOW, launch_event_id="event-1", parties=[])

    directory.save_property(prop, expected_version=None)

    assert directory.get_property(COMPANY, "property-1") == replace(prop, version=1)


def test_missing_property_is_none(directory):
    assert directory.get_property(COMPANY, "property-1") is None


def test_save_property_increments_version(directory):
    directory.save_property(make_property(), expected_version=None)
    changed = replace(make_property(), address="2 Harbor Way", version=1)

    directory.save_property(changed, expected_version=1)

    stored = directory.get_property(COMPANY, "property-1")
    assert stored.version == 2
    assert stored.address == "2 Harbor Way"


def test_save_property_stale_version_conflicts(directory):
    directory.save_property(make_property(), expected_version=None)
    directory.save_property(replace(make_property(), address="2 Harbor Way"), expected_version=1)

    with pytest.raises(Conflict):
        directory.save_property(replace(make_property(), address="3 Harbor Way"), expected_version=1)

    stored = directory.get_property(COMPANY, "property-1")
    assert stored.address == "2 Harbor Way"
    assert stored.version == 2


def test_new_property_existing_id_conflicts(directory):
    directory.save_property(make_property(), expected_version=None)

    with pytest.raises(Conflict):
        directory.save_property(replace(make_property(), address="3 Harbor Way"), expected_version=None)

    assert directory.get_property(COMPANY, "property-1").address == "1 Harbor Way"


def test_memberships_cover_parties_and_recipients(directory):
    directory.save_property(make_property("property-1"), expected_version=None)
    directory.save_property(
        make_property("property-2", parties=[Party("seller-1", "seller")]), expected_version=None
    )

    assert sorted(directory.property_ids_of_contact(COMPANY, "buyer-1")) == ["property-1"]
    assert sorted(directory.property_ids_of_contact(COMPANY, "lender-1")) == ["property-1", "property-2"]
    assert directory.property_ids_of_contact(COMPANY, "seller-1") == ["property-2"]
    assert directory.property_ids_of_contact(COMPANY, "stranger") == []


def test_memberships_ignore_id_prefix(directory):
    directory.save_property(make_property(parties=[Party("buyer-10", "buyer")]), expected_version=None)

    assert directory.property_ids_of_contact(COMPANY, "buyer-1") == []


def test_property_with_120_contacts_records_all(directory):
    parties = [Party(f"party-{number:03}", "team_member") for number in range(120)]

    directory.save_property(make_property(parties=parties), expected_version=None)

    assert directory.property_ids_of_contact(COMPANY, "party-000") == ["property-1"]
    assert directory.property_ids_of_contact(COMPANY, "party-119") == ["property-1"]


def test_failed_property_save_writes_no_membership(directory):
    directory.save_property(make_property(), expected_version=None)
    newcomer = [*make_property().parties, Party("newcomer", "lender")]

    with pytest.raises(Conflict):
        directory.save_property(make_property(parties=newcomer), expected_version=None)

    assert directory.property_ids_of_contact(COMPANY, "newcomer") == []


# Phone consents ---------------------------------------------------------------------------------


def test_unknown_phone_absent(consents):
    assert consents.get_phone_consents(COMPANY, [PHONE]) == {}


def test_phone_consents_include_claim_and_schedule(consents):
    consents.claim_opt_in(make_claim())
    scheduled = make_scheduled(PHONE, NOW + timedelta(hours=10))
    consents.put_scheduled(scheduled)

    state = current(consents)

    assert state.consent.status is ConsentStatus.PENDING
    assert state.consent.requested_at == NOW
    assert state.cooldown.token == "token-1"
    assert state.cooldown.expires_at == NOW + COOLDOWN
    assert state.scheduled == scheduled


def test_claim_only_phone_gets_default_consent(consents, consent_table):
    consent_table.put_item(
        Item={
            "pk": f"COMPANY#{COMPANY}",
            "sk": f"COOLDOWN#{PHONE}",
            "company_id": COMPANY,
            "phone": PHONE,
            "token": "token-1",
            "claimed_at": "2026-03-02T15:00:00.000000+0000",
            "expires_at": int((NOW + COOLDOWN).timestamp()),
            "send_attempts": 1,
        }
    )

    state = current(consents)

    assert state.consent == Consent(COMPANY, PHONE)
    assert state.cooldown.token == "token-1"


def test_phone_consents_for_many_phones(consents):
    phones = [f"+1201555{number:04}" for number in range(40)]
    for phone in phones:
        consents.claim_opt_in(make_claim(phone=phone))

    found = consents.get_phone_consents(COMPANY, [*phones, "+12015559999"])

    assert set(found) == set(phones)
    assert all(state.cooldown is not None for state in found.values())


def test_phone_consents_are_per_company(consents):
    consents.claim_opt_in(make_claim())

    assert consents.get_phone_consents(OTHER_COMPANY, [PHONE]) == {}


# Claims -----------------------------------------------------------------------------------------


def test_claim_on_empty_state_succeeds(consents):
    consents.claim_opt_in(make_claim())

    state = current(consents)
    assert state.consent.status is ConsentStatus.PENDING
    assert state.cooldown.send_attempts == 1
    assert state.cooldown.message_id is None


def test_claim_by_other_token_rejected(consents):
    consents.claim_opt_in(make_claim("token-1"))

    with pytest.raises(ClaimRejected):
        consents.claim_opt_in(make_claim("token-2", at=NOW + timedelta(hours=1)))

    assert current(consents).cooldown.token == "token-1"


def test_claim_at_expiry_succeeds(consents):
    consents.claim_opt_in(make_claim("token-1"))

    consents.claim_opt_in(make_claim("token-2", at=NOW + COOLDOWN, previous=current(consents)))

    assert current(consents).cooldown.token == "token-2"


def test_claim_over_expired_item_succeeds(consents, consent_table):
    # moto never deletes TTL items, like DynamoDB in the days after expiry.
    consent_table.put_item(
        Item={
            "pk": f"COMPANY#{COMPANY}",
            "sk": f"COOLDOWN#{PHONE}",
            "company_id": COMPANY,
            "phone": PHONE,
            "token": "old-token",
            "claimed_at": "2026-02-01T15:00:00.000000+0000",
            "expires_at": int((NOW - timedelta(seconds=1)).timestamp()),
            "message_id": "old-message",
            "send_attempts": 1,
        }
    )

    consents.claim_opt_in(make_claim("token-2"))

    cooldown = current(consents).cooldown
    assert cooldown.token == "token-2"
    assert cooldown.message_id is None
    assert cooldown.expires_at == NOW + COOLDOWN


@pytest.mark.parametrize("status", [ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT])
def test_claim_on_final_consent_rejected(consents, status):
    set_status(consents, status)

    with pytest.raises(ClaimRejected):
        consents.claim_opt_in(make_claim())

    state = current(consents)
    assert state.consent.status is status
    assert state.cooldown is None


def test_rejected_claim_writes_no_cooldown(consents):
    set_status(consents, ConsentStatus.OPTED_OUT)

    with pytest.raises(ClaimRejected):
        consents.claim_opt_in(make_claim())

    assert current(consents).cooldown is None


@pytest.mark.parametrize("status", [ConsentStatus.NOT_REQUESTED, ConsentStatus.PENDING])
def test_claim_on_open_consent_succeeds(consents, status):
    set_status(consents, status)

    consents.claim_opt_in(make_claim())

    assert current(consents).consent.status is ConsentStatus.PENDING


def test_claim_keeps_consent_fields(consents):
    set_status(consents, ConsentStatus.PENDING)

    consents.claim_opt_in(make_claim(at=NOW + timedelta(hours=1)))

    consent = current(consents).consent
    assert consent.origination_number == OUR_NUMBER
    assert consent.requested_at == NOW + timedelta(hours=1)


def test_claim_rounds_expiry_up_to_second(consents):
    claim = make_claim(at=NOW + timedelta(microseconds=250))

    consents.claim_opt_in(claim)

    assert current(consents).cooldown.expires_at == NOW + COOLDOWN + timedelta(seconds=1)


def test_reclaim_same_token_works_once(consents):
    consents.claim_opt_in(make_claim())
    first = current(consents)

    consents.claim_opt_in(make_claim(at=NOW + timedelta(minutes=1), previous=first, reclaim=True))

    assert current(consents).cooldown.send_attempts == 2
    with pytest.raises(ClaimRejected):
        consents.claim_opt_in(make_claim(at=NOW + timedelta(minutes=2), previous=first, reclaim=True))
    assert current(consents).cooldown.send_attempts == 2


def test_reclaim_with_other_token_rejected(consents):
    consents.claim_opt_in(make_claim("token-1"))

    with pytest.raises(ClaimRejected):
        consents.claim_opt_in(make_claim("token-2", previous=current(consents), reclaim=True))

    assert current(consents).cooldown.send_attempts == 1


def test_reclaim_after_record_sent_rejected(consents):
    claim = make_claim()
    consents.claim_opt_in(claim)
    consents.record_sent(claim, sent_message(), OUR_NUMBER, request_entry())
    state = replace(current(consents), cooldown=replace(current(consents).cooldown, message_id=None))

    with pytest.raises(ClaimRejected):
        consents.claim_opt_in(make_claim(at=NOW + timedelta(minutes=1), previous=state, reclaim=True))


def test_reclaim_without_previous_claim_invalid(consents):
    with pytest.raises(ValueError, match="previous.cooldown"):
        consents.claim_opt_in(make_claim(reclaim=True))


def test_claim_conflict_raises_transient(consents, config):
    def cancel_with_conflict(**_):
        http = types.SimpleNamespace(status_code=400, headers={})
        parsed = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
        }
        return http, parsed

    emitter = dynamodb_event_emitter(config)
    emitter.register("before-call.dynamodb.TransactWriteItems", cancel_with_conflict)
    try:
        with pytest.raises(TransientError):
            consents.claim_opt_in(make_claim())
    finally:
        emitter.unregister("before-call.dynamodb.TransactWriteItems", cancel_with_conflict)


def test_throttled_query_raises_transient(consents, config):
    def throttle(**_):
        http = types.SimpleNamespace(status_code=400, headers={})
        return http, {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}

    emitter = dynamodb_event_emitter(config)
    emitter.register("before-call.dynamodb.Query", throttle)
    try:
        with pytest.raises(TransientError):
            consents.ledger(COMPANY, PHONE)
    finally:
        emitter.unregister("before-call.dynamodb.Query", throttle)


# Sent messages ----------------------------------------------------------------------------------


def test_record_sent_stores_message_id(consents):
    claim = make_claim()
    consents.claim_opt_in(claim)

    consents.record_sent(claim, sent_message(), OUR_NUMBER, request_entry())

    state = current(consents)
    assert state.cooldown.message_id == "message-1"
    assert state.consent.last_message_id == "message-1"
    assert state.consent.origination_number == OUR_NUMBER
    assert state.consent.status is ConsentStatus.PENDING
    assert consents.find_outbound_message("message-1") == sent_message()
    assert consents.ledger(COMPANY, PHONE) == [request_entry()]


def test_record_sent_after_takeover(consents):
    claim = make_claim("token-1")
    consents.claim_opt_in(claim)
    consents.claim_opt_in(make_claim("token-2", at=NOW + COOLDOWN, previous=current(consents)))

    consents.record_sent(claim, sent_message(), OUR_NUMBER, request_entry())

    state = current(consents)
    assert state.cooldown.token == "token-2"
    assert state.cooldown.message_id is None
    assert state.consent.last_message_id == "message-1"
    assert consents.find_outbound_message("message-1") == sent_message()
    assert consents.ledger(COMPANY, PHONE) == [request_entry()]


def test_record_sent_twice_writes_once(consents):
    claim = make_claim()
    consents.claim_opt_in(claim)
    consents.record_sent(claim, sent_message(), OUR_NUMBER, request_entry())

    consents.record_sent(claim, sent_message(), OUR_NUMBER, request_entry())

    assert consents.ledger(COMPANY, PHONE) == [request_entry()]


def test_outbound_message_round_trip(consents, consent_table):
    message = sent_message("message-9")

    consents.record_outbound(message)

    assert consents.find_outbound_message("message-9") == message
    stored = consent_table.get_item(Key={"pk": "MESSAGE#message-9", "sk": "MESSAGE"})["Item"]
    assert stored["expires_at"] == int((NOW + timedelta(days=400)).timestamp())


def test_missing_outbound_message_is_none(consents):
    assert consents.find_outbound_message("message-0") is None


# Releasing claims -------------------------------------------------------------------------------


def test_release_restores_stored_consent(consents):
    set_status(consents, ConsentStatus.NOT_REQUESTED)
    before = current(consents)
    claim = make_claim(previous=before)
    consents.claim_opt_in(claim)

    consents.release_claim(claim)

    state = current(consents)
    assert state.consent == before.consent
    assert state.cooldown is None


def test_release_restores_earlier_request(consents):
    first = make_claim("token-1")
    consents.claim_opt_in(first)
    consents.record_sent(first, sent_message(), OUR_NUMBER, request_entry())
    before = current(consents)
    second = make_claim("token-2", at=NOW + COOLDOWN + timedelta(hours=1), previous=before)
    consents.claim_opt_in(second)

    consents.release_claim(second)

    state = current(consents)
    assert state.consent == before.consent
    assert state.consent.requested_at == NOW
    assert state.cooldown is None


def test_release_deletes_consent_never_stored(consents):
    claim = make_claim()
    consents.claim_opt_in(claim)

    consents.release_claim(claim)

    assert current(consents) is None


def test_release_by_other_token_changes_nothing(consents, caplog):
    consents.claim_opt_in(make_claim("token-1"))
    before = current(consents)

    with caplog.at_level(logging.INFO, logger="sms_consent.adapters.dynamodb"):
        consents.release_claim(make_claim("token-2"))

    assert current(consents) == before
    assert [record.failed_conditions for record in caplog.records] == [["cooldown"]]


def test_release_after_opt_out_changes_nothing(consents, caplog):
    claim = make_claim()
    consents.claim_opt_in(claim)
    consents.apply_changes([make_change(ConsentStatus.OPTED_OUT, ConsentStatus.PENDING)])
    before = current(consents)

    with caplog.at_level(logging.INFO, logger="sms_consent.adapters.dynamodb"):
        consents.release_claim(claim)

    assert current(consents) == before
    assert [record.failed_conditions for record in caplog.records] == [["consent"]]


# Consent changes --------------------------------------------------------------------------------


def test_apply_changes_writes_consent_and_ledger(consents):
    change = make_change(ConsentStatus.OPTED_IN, ConsentStatus.NOT_REQUESTED)

    consents.apply_changes([change], dedupe_key="inbound-1")

    assert current(consents).consent == change.consent
    assert consents.ledger(COMPANY, PHONE) == [change.ledger_entry]


def test_apply_changes_across_companies(consents):
    changes = [
        make_change(ConsentStatus.OPTED_OUT, None, "entry-1", COMPANY),
        make_change(ConsentStatus.OPTED_OUT, None, "entry-2", OTHER_COMPANY),
    ]

    consents.apply_changes(changes, dedupe_key="inbound-1")

    assert current(consents, company_id=COMPANY).consent.status is ConsentStatus.OPTED_OUT
    assert current(consents, company_id=OTHER_COMPANY).consent.status is ConsentStatus.OPTED_OUT


def test_repeated_dedupe_key_raises_duplicate(consents):
    consents.apply_changes(
        [make_change(ConsentStatus.OPTED_IN, ConsentStatus.NOT_REQUESTED)], dedupe_key="inbound-1"
    )
    before = current(consents)
    ledger_before = consents.ledger(COMPANY, PHONE)
    repeated = make_change(
        ConsentStatus.OPTED_OUT, ConsentStatus.OPTED_IN, "entry-2", at=NOW + timedelta(minutes=1)
    )

    with pytest.raises(DuplicateChange):
        consents.apply_changes([repeated], dedupe_key="inbound-1")

    assert current(consents) == before
    assert consents.ledger(COMPANY, PHONE) == ledger_before


def test_dedupe_key_alone_is_stored(consents):
    consents.apply_changes([], dedupe_key="inbound-1")

    with pytest.raises(DuplicateChange):
        consents.apply_changes([], dedupe_key="inbound-1")


def test_wrong_expected_status_raises_stale(consents):
    set_status(consents, ConsentStatus.OPTED_OUT)
    before = current(consents)
    ledger_before = consents.ledger(COMPANY, PHONE)

    with pytest.raises(StaleConsent):
        consents.apply_changes(
            [make_change(ConsentStatus.OPTED_IN, ConsentStatus.PENDING, "entry-2")], dedupe_key="inbound-1"
        )

    assert current(consents) == before
    assert consents.ledger(COMPANY, PHONE) == ledger_before


def test_stale_change_leaves_dedupe_key_free(consents):
    set_status(consents, ConsentStatus.OPTED_OUT)
    with pytest.raises(StaleConsent):
        consents.apply_changes(
            [make_change(ConsentStatus.OPTED_IN, ConsentStatus.PENDING, "entry-2")], dedupe_key="inbound-1"
        )

    consents.apply_changes(
        [make_change(ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT, "entry-3")], "inbound-1"
    )

    assert current(consents).consent.status is ConsentStatus.OPTED_IN


def test_not_requested_rejects_stored_pending(consents):
    consents.claim_opt_in(make_claim())

    with pytest.raises(StaleConsent):
        consents.apply_changes([make_change(ConsentStatus.OPTED_OUT, ConsentStatus.NOT_REQUESTED)])

    assert current(consents).consent.status is ConsentStatus.PENDING


def test_repeated_ledger_entry_raises_duplicate(consents):
    change = make_change(ConsentStatus.OPTED_OUT, None)
    consents.apply_changes([change])

    with pytest.raises(DuplicateChange):
        consents.apply_changes([change])


def test_no_changes_and_no_key_sends_nothing(consents, request_names):
    consents.apply_changes([])

    assert request_names == []


def test_over_100_writes_rejected(consents):
    changes = [
        make_change(ConsentStatus.OPTED_OUT, None, f"entry-{n}", phone=f"+1201555{n:04}") for n in range(50)
    ]

    with pytest.raises(ValueError, match="at most 100"):
        consents.apply_changes(changes, dedupe_key="inbound-1")


def test_two_changes_to_one_consent_rejected(consents):
    changes = [
        make_change(ConsentStatus.OPTED_OUT, None, "entry-1"),
        make_change(ConsentStatus.OPTED_IN, None, "entry-2"),
    ]

    with pytest.raises(ValueError, match="same consent"):
        consents.apply_changes(changes)


def test_consents_for_phone_spans_companies(consents):
    set_status(consents, ConsentStatus.OPTED_IN, COMPANY)
    set_status(consents, ConsentStatus.PENDING, OTHER_COMPANY)
    consents.claim_opt_in(make_claim(phone=OTHER_PHONE))

    found = {consent.company_id: consent.status for consent in consents.consents_for_phone(PHONE)}

    assert found == {COMPANY: ConsentStatus.OPTED_IN, OTHER_COMPANY: ConsentStatus.PENDING}


def test_consents_for_unknown_phone_empty(consents):
    assert consents.consents_for_phone(PHONE) == []


# Ledger -----------------------------------------------------------------------------------------


def test_ledger_returns_time_order(consents):
    times = [NOW + timedelta(seconds=2), NOW, NOW + timedelta(microseconds=500), NOW + timedelta(seconds=1)]
    for number, at in enumerate(times):
        consents.append_ledger(make_entry(f"entry-{number}", at))

    recorded = [entry.recorded_at for entry in consents.ledger(COMPANY, PHONE)]

    assert recorded == sorted(times)


def test_ledger_reads_every_page(consents, request_names):
    # Each entry carries about 4 KB of text, so 300 entries exceed one 1 MB Query page.
    for number in range(300):
        consents.append_ledger(
            replace(make_entry(f"entry-{number:03}", NOW + timedelta(seconds=number)), text="x" * 4000)
        )
    request_names.clear()

    entries = consents.ledger(COMPANY, PHONE)

    assert request_names.count("Query") >= 2
    assert len(entries) == 300
    assert entries[-1].entry_id == "entry-299"


def test_append_ledger_twice_keeps_one(consents):
    consents.append_ledger(make_entry())

    consents.append_ledger(replace(make_entry(), text="changed"))

    assert consents.ledger(COMPANY, PHONE) == [make_entry()]


def test_ledger_is_per_company_and_phone(consents):
    consents.append_ledger(make_entry("entry-1"))
    consents.append_ledger(make_entry("entry-2", company_id=OTHER_COMPANY))
    consents.append_ledger(make_entry("entry-3", phone=OTHER_PHONE))

    assert [entry.entry_id for entry in consents.ledger(COMPANY, PHONE)] == ["entry-1"]


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_ledger_key_order_is_time_order(first, second):
    assert (ledger_sk(first, "a") < ledger_sk(second, "a")) == (first < second)


# Deferred sends ---------------------------------------------------------------------------------


def test_due_scheduled_returns_due_in_order(consents):
    later = make_scheduled("+12015550103", NOW - timedelta(minutes=1))
    earlier = make_scheduled("+12015550104", NOW - timedelta(hours=2), kind="task_message")
    exactly_now = make_scheduled("+12015550105", NOW)
    consents.put_scheduled(later)
    consents.put_scheduled(make_scheduled("+12015550106", NOW + timedelta(seconds=1)))
    consents.put_scheduled(earlier)
    consents.put_scheduled(exactly_now)

    assert consents.due_scheduled(NOW, limit=10) == [earlier, later, exactly_now]


def test_due_scheduled_respects_limit(consents):
    for minutes in range(5):
        consents.put_scheduled(make_scheduled(f"+1201555020{minutes}", NOW - timedelta(minutes=minutes)))

    due = consents.due_scheduled(NOW, limit=2)

    assert [send.due_at for send in due] == [NOW - timedelta(minutes=4), NOW - timedelta(minutes=3)]


def test_fractional_due_time_not_early(consents):
    send = make_scheduled(PHONE, NOW + timedelta(milliseconds=300))
    consents.put_scheduled(send)

    assert consents.due_scheduled(NOW + timedelta(milliseconds=500), limit=10) == []
    assert consents.due_scheduled(NOW + timedelta(seconds=1), limit=10) == [send]


def test_put_scheduled_same_key_replaces(consents):
    consents.put_scheduled(make_scheduled(PHONE, NOW - timedelta(hours=1)))
    replacement = make_scheduled(PHONE, NOW + timedelta(hours=8))

    consents.put_scheduled(replacement)

    assert consents.due_scheduled(NOW, limit=10) == []
    assert current(consents).scheduled == replacement


def test_delete_scheduled_removes_send(consents):
    send = make_scheduled(PHONE, NOW - timedelta(hours=1))
    consents.put_scheduled(send)

    consents.delete_scheduled(send)

    assert consents.due_scheduled(NOW, limit=10) == []


def test_delete_scheduled_keeps_replacement(consents):
    released = make_scheduled(PHONE, NOW - timedelta(hours=1))
    consents.put_scheduled(released)
    replacement = make_scheduled(PHONE, NOW + timedelta(hours=8))
    consents.put_scheduled(replacement)

    consents.delete_scheduled(released)

    assert current(consents).scheduled == replacement


def test_task_message_not_in_phone_consents(consents):
    consents.put_scheduled(make_scheduled(PHONE, NOW, kind="task_message"))

    assert current(consents) is None


# Replies stored with the inbound marker -----------------------------------------------------------


def test_reply_stored_with_marker_is_unsent(consents):
    from sms_consent.domain.ports import PendingReply

    reply = PendingReply(
        "+12015550101", "+12015550100", "You are unsubscribed", "acme", "opt_out_confirmation"
    )

    consents.apply_changes([], dedupe_key="in-reply-1", reply=reply)

    assert consents.unsent_reply("in-reply-1") == reply


def test_reply_marked_sent_is_not_returned(consents):
    from sms_consent.domain.ports import PendingReply

    reply = PendingReply("+12015550101", "+12015550100", "Help text", "acme", "help")
    consents.apply_changes([], dedupe_key="in-reply-2", reply=reply)

    consents.mark_reply_sent("in-reply-2")

    assert consents.unsent_reply("in-reply-2") is None


def test_mark_reply_sent_without_marker_is_ignored(consents):

    consents.mark_reply_sent("never-seen")

    assert consents.unsent_reply("never-seen") is None


# Send windows -------------------------------------------------------------------------------------


def test_task_send_claim_blocks_second_claim(consents):
    until = NOW + timedelta(minutes=10)
    consents.claim_task_send(COMPANY, "task-1", PHONE, NOW, until)

    assert consents.claim_task_send(COMPANY, "task-1", PHONE, NOW, until) is False


def test_task_send_claim_after_expiry(consents):
    consents.claim_task_send(COMPANY, "task-1", PHONE, NOW, NOW + timedelta(minutes=10))
    later = NOW + timedelta(minutes=11)

    assert consents.claim_task_send(COMPANY, "task-1", PHONE, later, later + timedelta(minutes=10)) is True


def test_task_send_release_allows_claim(consents):
    until = NOW + timedelta(minutes=10)
    consents.claim_task_send(COMPANY, "task-1", PHONE, NOW, until)

    consents.release_task_send(COMPANY, "task-1", PHONE)

    assert consents.claim_task_send(COMPANY, "task-1", PHONE, NOW, until) is True


def test_reply_slot_is_per_kind(consents):
    until = NOW + timedelta(hours=1)
    consents.claim_reply_slot(PHONE, "+12015550100", "help", NOW, until)

    assert consents.claim_reply_slot(PHONE, "+12015550100", "opt_out_confirmation", NOW, until) is True
    assert consents.claim_reply_slot(PHONE, "+12015550100", "help", NOW, until) is False
