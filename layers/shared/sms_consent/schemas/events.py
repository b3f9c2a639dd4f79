"""Events the functions receive: EventBridge details from the API, and inbound SMS from SNS."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
