"""Events the functions receive: EventBridge details from the API, and inbound SMS from SNS."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EventBridgeEnvelope(BaseModel):
    """The EventBridge envelope around every bus event.

    NOTE: Powertools' parser has an EventBridge model, but importing its models package loads every
    model it ships (about 130 ms here), which would take half of a function's import budget.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1, max_length=200)
    detail_type: str = Field(alias="detail-type", max_length=200)
    source: str = Field(max_length=200)
    time: str | None = None
    detail: dict


class SnsNotification(BaseModel):
    """The part of one SNS record that the inbound function reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: str = Field(alias="MessageId", min_length=1)
    message: str = Field(alias="Message")


class SnsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sns: SnsNotification = Field(alias="Sns")


class SnsEvent(BaseModel):
    """A Lambda event from an SNS subscription."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    records: list[SnsRecord] = Field(alias="Records")


class _Detail(BaseModel):
    # Producers may add fields later; consumers ignore what they do not know.
    model_config = ConfigDict(extra="ignore")

    company_id: str = Field(min_length=1, max_length=64)


class TasksLaunched(_Detail):
    property_id: str = Field(min_length=1)
    launch_id: str | None = None
    launched_at: str | None = None


class PartyAdded(_Detail):
    property_id: str = Field(min_length=1)
    contact_id: str = Field(min_length=1)
    role: str


class RecipientAdded(_Detail):
    property_id: str = Field(min_length=1)
    task_id: str | None = None
    contact_ids: list[str] = Field(min_length=1)


class ContactUpdated(_Detail):
    contact_id: str = Field(min_length=1)
    updated_at: str | None = None


class InboundSmsMessage(BaseModel):
    """The JSON that AWS End User Messaging publishes to SNS for each inbound text."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    origination_number: str = Field(alias="originationNumber", min_length=1, max_length=40)
    destination_number: str = Field(alias="destinationNumber", min_length=1, max_length=40)
    message_body: str = Field(alias="messageBody", max_length=2000)
    inbound_message_id: str = Field(alias="inboundMessageId", min_length=1, max_length=200)
    message_keyword: str | None = Field(default=None, alias="messageKeyword")
    previous_published_message_id: str | None = Field(default=None, alias="previousPublishedMessageId")


class OptInRequested(_Detail):
    """An opt-in request text went out."""

    phone: str
    contact_ids: list[str]
    cause: str
    message_id: str
    requested_at: str
    next_request_at: str


class ConsentChanged(_Detail):
    """A phone's consent changed (``Opt-In Confirmed`` or ``Opted Out``)."""

    phone: str
    cause: str
    at: str


class SmsTaskSent(_Detail):
    """A task's message went to its opted-in recipients."""

    property_id: str
    task_id: str
    sent_to_contact_ids: list[str]
    skipped_contact_ids: list[str]
    sent_at: str


# Every detail-type on the application's bus, with the model of its detail.
BUS_EVENTS: dict[str, type[BaseModel]] = {
    "Tasks Launched": TasksLaunched,
    "Party Added": PartyAdded,
    "Recipient Added": RecipientAdded,
    "Contact Updated": ContactUpdated,
    "Opt-In Requested": OptInRequested,
    "Opt-In Confirmed": ConsentChanged,
    "Opted Out": ConsentChanged,
    "SMS Task Sent": SmsTaskSent,
}
