"""Routes of the main API function. Each parses, calls one service method and maps the result."""

from __future__ import annotations

import csv
import io

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from sms_consent.container import get_container
from sms_consent.domain.directory import NewTask
from sms_consent.domain.model import Party
from sms_consent.http import presenters
from sms_consent.http.common import company_id_of, json_body, request_id_of
from sms_consent.schemas.api import (
    CompanyBody,
    ContactBody,
    ContactPatchBody,
    PartyBody,
    PropertyBody,
    RecipientBody,
    SmsTaskBody,
)

router = APIGatewayHttpRouter()


def _company() -> str:
    return company_id_of(router)


def _new_task(body: SmsTaskBody) -> NewTask:
    return NewTask(body.name, body.message, list(body.recipient_roles), list(body.recipient_contact_ids))


@router.get("/company", summary="Read the company profile")
def get_company():
    return json_body(presenters.company(get_container().directory.get_company(_company())))


@router.put("/company", summary="Set the company name and support contact used in texts")
def put_company(body: CompanyBody):
    company = get_container().directory.put_company(_company(), body.name, body.support_contact)
    return json_body(presenters.company(company))


@router.post("/contacts", summary="Create a contact")
def create_contact(body: ContactBody):
    contact = get_container().directory.create_contact(
        _company(), body.name, body.mobile_phone, body.sms_enabled
    )
    return json_body(presenters.contact(contact), status=201)


@router.get("/contacts/<contact_id>", summary="Read a contact with its SMS status")
def get_contact(contact_id: str):
    contact, status = get_container().tasks.contact_status(_company(), contact_id)
    return json_body(presenters.contact(contact, status))


@router.patch("/contacts/<contact_id>", summary="Change a contact's name, mobile number or SMS switch")
def patch_contact(contact_id: str, body: ContactPatchBody):
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    container = get_container()
    container.directory.update_contact(_company(), contact_id, changes)
    contact, status = container.tasks.contact_status(_company(), contact_id)
    return json_body(presenters.contact(contact, status))


@router.get("/contacts/<contact_id>/consent-history", summary="Consent ledger of the contact's mobile number")
def consent_history(contact_id: str):
    contact, entries = get_container().tasks.consent_history(_company(), contact_id)
    return json_body(
        {
            "contact_id": contact.contact_id,
            "phone": contact.mobile_phone,
            "entries": [presenters.ledger_entry(entry) for entry in entries],
        }
    )


@router.get("/contacts/<contact_id>/consent-history.csv", summary="Consent ledger as CSV, for audits")
def consent_history_csv(contact_id: str):
    contact, entries = get_container().tasks.consent_history(_company(), contact_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["phone", *presenters.LEDGER_COLUMNS])
    writer.writeheader()
    for entry in entries:
        row = {"phone": contact.mobile_phone, **presenters.ledger_entry(entry)}
        writer.writerow({column: presenters.spreadsheet_safe(value) for column, value in row.items()})
    return Response(
        status_code=200,
        content_type="text/csv",
        body=buffer.getvalue(),
        headers={"Content-Disposition": f'attachment; filename="consent-history-{contact_id}.csv"'},
    )


@router.post("/properties", summary="Create a property with its parties and SMS tasks")
def create_property(body: PropertyBody):
    prop = get_container().directory.create_property(
        _company(),
        body.address,
        [Party(p.contact_id, p.role) for p in body.parties],
        [_new_task(task) for task in body.sms_tasks],
    )
    result = presenters.property_(prop)
    result["task_ids"] = [task.task_id for task in prop.sms_tasks]
    return json_body(result, status=201)


@router.get("/properties/<property_id>", summary="Read a property")
def get_property(property_id: str):
    return json_body(presenters.property_(get_container().directory.get_property(_company(), property_id)))


@router.post("/properties/<property_id>/launch", summary="Launch the property's tasks (once)")
def launch(property_id: str):
    prop = get_container().directory.launch(_company(), property_id)
    return json_body(
        {
            "property_id": prop.property_id,
            "launched_at": presenters.iso(prop.launched_at),
            "launch_id": prop.launch_event_id,
        },
        status=202,
    )


@router.post(
    "/properties/<property_id>/parties", summary="Add a party; a launched property sends its opt-in request"
)
def add_party(property_id: str, body: PartyBody):
    prop = get_container().directory.add_party(_company(), property_id, Party(body.contact_id, body.role))
    return json_body(presenters.property_(prop), status=201)


@router.post(
    "/properties/<property_id>/sms-tasks", summary="Add an SMS task; after launch its recipients get requests"
)
def add_task(property_id: str, body: SmsTaskBody):
    prop, task = get_container().directory.add_task(_company(), property_id, _new_task(body))
    return json_body({"property_id": prop.property_id, **presenters.task(task)}, status=201)


@router.post(
    "/properties/<property_id>/sms-tasks/<task_id>/recipients",
    summary="Add a contact by hand as a recipient of an SMS task",
)
def add_recipient(property_id: str, task_id: str, body: RecipientBody):
    prop = get_container().directory.add_task_recipient(_company(), property_id, task_id, body.contact_id)
    return json_body({"property_id": prop.property_id, **presenters.task(prop.task(task_id))}, status=201)


@router.get(
    "/properties/<property_id>/sms-tasks/<task_id>", summary="The SMS Task box: recipients and warnings"
)
def get_task(property_id: str, task_id: str):
    return json_body(presenters.task_view(get_container().tasks.task_view(_company(), property_id, task_id)))


@router.get(
    "/properties/<property_id>/sms-tasks/<task_id>/preview", summary="Preview & Send: who can be texted"
)
def preview_task(property_id: str, task_id: str):
    return json_body(presenters.preview(get_container().tasks.preview(_company(), property_id, task_id)))


@router.post(
    "/properties/<property_id>/sms-tasks/<task_id>/send", summary="Text the task to opted-in recipients only"
)
def send_task(property_id: str, task_id: str):
    outcomes = get_container().tasks.send(_company(), property_id, task_id, request_id_of(router))
    return json_body(
        {
            "property_id": property_id,
            "task_id": task_id,
            "sent": sum(1 for o in outcomes if o.outcome == "sent"),
            "recipients": [presenters.send_outcome(o) for o in outcomes],
        }
    )
