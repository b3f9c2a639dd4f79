"""Tests for DirectoryService and LifecycleService: which directory changes lead to opt-in requests."""

import pytest
from sms_consent.domain.model import Cause, ConsentStatus, Party, SmsStatus
from sms_consent.domain.opt_in import OutcomeKind
from sms_consent.errors import AlreadyLaunched, InvalidPhoneNumber, TransientError, ValidationFailed


def launched_property(world, parties=None, tasks=None):
    prop = world.property(parties or [], tasks)
    world.launch(prop)
    return prop


def status_of(world, contact):
    _, status = world.tasks.contact_status(world.COMPANY_ID, contact.contact_id)
    return status.status


# Parties and recipients ---------------------------------------------------------------------------


def test_party_added_after_launch_gets_request(world):
    prop = launched_property(world, tasks=[world.task(roles=["buyer"])])
    buyer = world.contact()

    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(buyer.contact_id, "buyer"))
    outcomes = world.deliver_events()

    assert outcomes[0].kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_party_added_after_launch_ledger_cause_party_added(world):
    prop = launched_property(world, tasks=[world.task(roles=["buyer"])])
    buyer = world.contact()

    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(buyer.contact_id, "buyer"))
    world.deliver_events()

    assert world.ledger(buyer.mobile_phone)[0].cause is Cause.PARTY_ADDED


def test_party_added_with_non_receiving_role_gets_nothing(world):
    prop = launched_property(world, tasks=[world.task(roles=["buyer"])])
    lender = world.contact("Lee Lender")

    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(lender.contact_id, "lender"))
    outcomes = world.deliver_events()

    assert outcomes == []
    assert world.sender.texts_to(lender.mobile_phone) == []


def test_party_added_before_launch_publishes_no_event(world):
    prop = world.property([])
    buyer = world.contact()

    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(buyer.contact_id, "buyer"))

    assert world.publisher.of_type("Party Added") == []
    assert world.deliver_events() == []
    assert world.sender.texts_to(buyer.mobile_phone) == []


def test_party_added_before_launch_gets_request_at_launch(world):
    prop = world.property([])
    buyer = world.contact()
    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(buyer.contact_id, "buyer"))

    world.launch(prop)

    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_party_added_twice_publishes_one_event(world):
    prop = launched_property(world)
    buyer = world.contact()

    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(buyer.contact_id, "buyer"))
    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(buyer.contact_id, "buyer"))

    assert len(world.publisher.of_type("Party Added")) == 1


def test_recipient_added_by_hand_after_launch_gets_request(world):
    prop = launched_property(world)
    inspector = world.contact("Ivy Inspector")
    task_id = prop.sms_tasks[0].task_id

    world.directory.add_task_recipient(world.COMPANY_ID, prop.property_id, task_id, inspector.contact_id)
    outcomes = world.deliver_events()

    assert outcomes[0].kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(inspector.mobile_phone)) == 1


def test_recipient_added_before_launch_no_event(world):
    prop = world.property([])
    inspector = world.contact("Ivy Inspector")
    task_id = prop.sms_tasks[0].task_id

    world.directory.add_task_recipient(world.COMPANY_ID, prop.property_id, task_id, inspector.contact_id)

    assert world.publisher.of_type("Recipient Added") == []
    assert world.sender.texts_to(inspector.mobile_phone) == []


def test_task_added_after_launch_texts_its_recipients(world):
    buyer = world.contact("Dana Buyer")
    lender = world.contact("Lee Lender")
    inspector = world.contact("Ivy Inspector")
    prop = launched_property(world, [(buyer, "buyer"), (lender, "lender")], [world.task(roles=["buyer"])])
    texts_to_buyer = len(world.sender.texts_to(buyer.mobile_phone))

    world.directory.add_task(
        world.COMPANY_ID, prop.property_id, world.task("Loan update", roles=["lender"], contacts=[inspector])
    )
    world.deliver_events()

    assert len(world.sender.texts_to(lender.mobile_phone)) == 1
    assert len(world.sender.texts_to(inspector.mobile_phone)) == 1
    assert len(world.sender.texts_to(buyer.mobile_phone)) == texts_to_buyer


def test_task_added_before_launch_publishes_no_event(world):
    lender = world.contact("Lee Lender")
    prop = world.property([(lender, "lender")])

    world.directory.add_task(world.COMPANY_ID, prop.property_id, world.task("Loan update", roles=["lender"]))

    assert world.publisher.of_type("Recipient Added") == []


# Contact updates ----------------------------------------------------------------------------------


def test_contact_gains_mobile_number_gets_request(world):
    buyer = world.contact(phone=None)
    launched_property(world, [(buyer, "buyer")])
    phone = world.new_phone()

    world.directory.update_contact(world.COMPANY_ID, buyer.contact_id, {"mobile_phone": phone})
    outcomes = world.deliver_events()

    assert outcomes[0].kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(phone)) == 1


def test_contact_number_typed_nationally_is_stored_e164(world):
    buyer = world.contact(phone=None)

    updated = world.directory.update_contact(
        world.COMPANY_ID, buyer.contact_id, {"mobile_phone": "(201) 555-0177"}
    )

    assert updated.mobile_phone == "+12015550177"


def test_contact_sms_reenabled_gets_request(world):
    buyer = world.contact(sms_enabled=False)
    launched_property(world, [(buyer, "buyer")])
    assert world.sender.texts_to(buyer.mobile_phone) == []

    world.directory.update_contact(world.COMPANY_ID, buyer.contact_id, {"sms_enabled": True})
    outcomes = world.deliver_events()

    assert outcomes[0].kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_contact_rename_publishes_no_event(world):
    buyer = world.contact()
    launched_property(world, [(buyer, "buyer")])

    world.directory.update_contact(world.COMPANY_ID, buyer.contact_id, {"name": "Dana Q. Buyer"})

    assert world.publisher.of_type("Contact Updated") == []


def test_contact_update_not_on_launched_property_sends_nothing(world):
    buyer = world.contact(phone=None)
    world.property([(buyer, "buyer")])
    phone = world.new_phone()

    world.directory.update_contact(world.COMPANY_ID, buyer.contact_id, {"mobile_phone": phone})
    outcomes = world.deliver_events()

    assert outcomes == []
    assert world.sender.texts_to(phone) == []


def test_changed_number_starts_not_requested(world):
    contact = world.opted_in_contact()
    new_phone = world.new_phone()

    world.directory.update_contact(world.COMPANY_ID, contact.contact_id, {"mobile_phone": new_phone})

    assert status_of(world, contact) is SmsStatus.NOT_REQUESTED
    assert world.phone_consent(contact.mobile_phone).consent.status is ConsentStatus.OPTED_IN


def test_changed_number_on_launched_property_gets_request(world):
    buyer = world.opted_in_contact()
    launched_property(world, [(buyer, "buyer")])
    new_phone = world.new_phone()

    world.directory.update_contact(world.COMPANY_ID, buyer.contact_id, {"mobile_phone": new_phone})
    world.deliver_events()

    assert len(world.sender.texts_to(new_phone)) == 1
    assert status_of(world, buyer) is SmsStatus.PENDING


# Launch -------------------------------------------------------------------------------------------


def test_launch_twice_raises_already_launched(world):
    prop = launched_property(world)

    with pytest.raises(AlreadyLaunched):
        world.directory.launch(world.COMPANY_ID, prop.property_id)

    assert len(world.publisher.of_type("Tasks Launched")) == 1


def test_launch_records_launch_time(world):
    prop = world.property([])

    launched = world.directory.launch(world.COMPANY_ID, prop.property_id)

    assert launched.launched_at == world.START
    assert world.directory.get_property(world.COMPANY_ID, prop.property_id).launched


def test_launch_publish_failure_rolls_back(world):
    prop = world.property([])
    world.publisher.fail_with = [TransientError("event bus unavailable")]

    with pytest.raises(TransientError):
        world.directory.launch(world.COMPANY_ID, prop.property_id)

    assert not world.directory.get_property(world.COMPANY_ID, prop.property_id).launched
    assert world.publisher.of_type("Tasks Launched") == []


def test_launch_after_publish_failure_can_be_pressed_again(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.publisher.fail_with = [TransientError("event bus unavailable")]
    with pytest.raises(TransientError):
        world.directory.launch(world.COMPANY_ID, prop.property_id)

    world.launch(prop)

    assert len(world.publisher.of_type("Tasks Launched")) == 1
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_launch_event_for_unlaunched_property_sends_nothing(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])

    outcomes = world.lifecycle.on_tasks_launched(world.COMPANY_ID, prop.property_id, "event-stray")

    assert outcomes == []
    assert world.sender.texts_to(buyer.mobile_phone) == []


# Validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["not a phone", "+1 201 555", "+1 000 555 0123", "5"])
def test_create_contact_invalid_phone_raises(world, raw):
    with pytest.raises(InvalidPhoneNumber) as raised:
        world.directory.create_contact(world.COMPANY_ID, "Dana Buyer", raw, True)

    assert [error.field for error in raised.value.errors] == ["mobile_phone"]


def test_update_contact_invalid_phone_raises(world):
    contact = world.contact()

    with pytest.raises(InvalidPhoneNumber) as raised:
        world.directory.update_contact(world.COMPANY_ID, contact.contact_id, {"mobile_phone": "12345"})

    assert [error.field for error in raised.value.errors] == ["mobile_phone"]


def test_create_property_unknown_party_raises_validation_failed(world):
    with pytest.raises(ValidationFailed) as raised:
        world.directory.create_property(
            world.COMPANY_ID, "1 Main St", [Party("contact-missing", "buyer")], []
        )

    assert [error.field for error in raised.value.errors] == ["parties"]
    assert "contact-missing" in raised.value.errors[0].message


def test_create_property_unknown_task_recipient_raises_validation_failed(world):
    ghost = world.contact()
    ghost.contact_id = "contact-missing"

    with pytest.raises(ValidationFailed) as raised:
        world.directory.create_property(world.COMPANY_ID, "1 Main St", [], [world.task(contacts=[ghost])])

    assert [error.field for error in raised.value.errors] == ["sms_tasks[0].recipient_contact_ids"]


def test_create_property_other_company_contact_raises_validation_failed(world):
    stranger = world.contact(company_id="company-other")

    with pytest.raises(ValidationFailed) as raised:
        world.directory.create_property(
            world.COMPANY_ID, "1 Main St", [Party(stranger.contact_id, "buyer")], []
        )

    assert [error.field for error in raised.value.errors] == ["parties"]


def test_add_party_unknown_contact_raises_validation_failed(world):
    prop = world.property([])

    with pytest.raises(ValidationFailed) as raised:
        world.directory.add_party(world.COMPANY_ID, prop.property_id, Party("contact-missing", "buyer"))

    assert [error.field for error in raised.value.errors] == ["contact_id"]
