"""The Request Opt-In route, served by its own function."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from sms_consent.container import get_container
from sms_consent.http import presenters
from sms_consent.http.common import company_id_of, json_body, request_id_of

router = APIGatewayHttpRouter()


@router.post(
    "/contacts/<contact_id>/opt-in-requests",
    summary="Send an opt-in request now (202), or say why not (409, 422, 429)",
)
def request_opt_in(contact_id: str):
    outcome = get_container().opt_in.request_for_contact(
        company_id_of(router), contact_id, request_id_of(router)
    )
    return json_body(presenters.opt_in_outcome(outcome), status=202)
