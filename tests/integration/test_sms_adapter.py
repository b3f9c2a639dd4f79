"""Contract of the End User Messaging adapter, checked with botocore's Stubber (moto lacks the API)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber
from sms_consent.adapters.sms import EndUserMessagingSender, LocalOutbox
from sms_consent.domain.ports import OutboundSms
from sms_consent.errors import DestinationOptedOut, PermanentSendFailure, SmsSendFailed

ORIGINATION = "+12015550100"
SMS = OutboundSms(
    destination="+12015550101",
    body="Harbor Realty: Reply YES",
    company_id="acme",
    kind="opt_in_request",
    reference_id="r1",
)


@pytest.fixture
def stubbed():
    client = boto3.client(
        "pinpoint-sms-voice-v2",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def sender_for(client) -> EndUserMessagingSender:
    return EndUserMessagingSender(lambda: client, ORIGINATION, ORIGINATION, "Default")


def test_send_passes_identity_body_and_context(stubbed):
    client, stubber = stubbed
    stubber.add_response(
        "send_text_message",
        {"MessageId": "m-1"},
        {
            "DestinationPhoneNumber": "+12015550101",
            "OriginationIdentity": ORIGINATION,
            "MessageBody": "Harbor Realty: Reply YES",
            "MessageType": "TRANSACTIONAL",
            "Context": {"company_id": "acme", "reference_id": "r1", "kind": "opt_in_request"},
        },
    )

    sent = sender_for(client).send(SMS)

    assert sent.message_id == "m-1"
    assert sent.origination_number == ORIGINATION


def test_send_replies_from_the_number_that_received(stubbed):
    client, stubber = stubbed
    stubber.add_response(
        "send_text_message",
        {"MessageId": "m-2"},
        {
            "DestinationPhoneNumber": ANY,
            "OriginationIdentity": "+12015550111",
            "MessageBody": ANY,
            "MessageType": ANY,
            "Context": ANY,
        },
    )
    reply = OutboundSms(
        "+12015550101", "Help text", "acme", "help", "in-1", origination_identity="+12015550111"
    )

    sent = sender_for(client).send(reply)

    assert sent.origination_number == "+12015550111"


def test_opted_out_conflict_raises_destination_opted_out(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "send_text_message",
        service_error_code="ConflictException",
        service_message="The destination phone number is opted out.",
        http_status_code=409,
        response_meta={},
        modeled_fields={
            "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
            "ResourceType": "opt-out-list",
            "ResourceId": "Default",
        },
    )

    with pytest.raises(DestinationOptedOut):
        sender_for(client).send(SMS)


def test_opted_out_error_is_not_retryable(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "send_text_message",
        service_error_code="ConflictException",
        http_status_code=409,
        modeled_fields={"Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT"},
    )

    with pytest.raises(DestinationOptedOut) as raised:
        sender_for(client).send(SMS)

    assert raised.value.retryable is False


def test_throttling_raises_retryable_send_failure(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "send_text_message", service_error_code="ThrottlingException", http_status_code=429
    )

    with pytest.raises(SmsSendFailed) as raised:
        sender_for(client).send(SMS)

    assert raised.value.retryable is True


def test_other_conflict_is_permanent(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "send_text_message",
        service_error_code="ConflictException",
        http_status_code=409,
        modeled_fields={"Reason": "RESOURCE_NOT_ACTIVE"},
    )

    with pytest.raises(PermanentSendFailure) as raised:
        sender_for(client).send(SMS)

    assert not isinstance(raised.value, DestinationOptedOut)


def test_validation_error_is_permanent(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "send_text_message", service_error_code="ValidationException", http_status_code=400
    )

    with pytest.raises(PermanentSendFailure):
        sender_for(client).send(SMS)


def test_opted_out_numbers_follows_pages(stubbed):
    client, stubber = stubbed
    stubber.add_response(
        "describe_opted_out_numbers",
        {
            "OptOutListArn": "arn:aws:sms-voice:us-east-1:123456789012:opt-out-list/Default",
            "OptOutListName": "Default",
            "OptedOutNumbers": [
                {"OptedOutNumber": "+12015550101", "OptedOutTimestamp": 1, "EndUserOptedOut": True}
            ],
            "NextToken": "page-2",
        },
        {"OptOutListName": "Default", "MaxResults": 100},
    )
    stubber.add_response(
        "describe_opted_out_numbers",
        {
            "OptOutListArn": "arn:aws:sms-voice:us-east-1:123456789012:opt-out-list/Default",
            "OptOutListName": "Default",
            "OptedOutNumbers": [
                {"OptedOutNumber": "+12015550102", "OptedOutTimestamp": 2, "EndUserOptedOut": True}
            ],
        },
        {"OptOutListName": "Default", "MaxResults": 100, "NextToken": "page-2"},
    )

    numbers = list(sender_for(client).opted_out_numbers())

    assert numbers == ["+12015550101", "+12015550102"]


def test_local_outbox_stores_and_masks_console_line():
    printed: list[str] = []
    outbox = LocalOutbox(ORIGINATION, printer=printed.append)

    sent = outbox.send(SMS)

    assert outbox.snapshot()[0].message_id == sent.message_id
    assert "+12015550101" not in printed[0]


def test_local_outbox_rejects_opted_out_number():
    outbox = LocalOutbox(ORIGINATION, printer=None)
    outbox.opted_out.add("+12015550101")

    with pytest.raises(DestinationOptedOut):
        outbox.send(SMS)
