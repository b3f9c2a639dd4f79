"""Opt-in requests for recipients of a launched property and for those who become recipients later."""

from __future__ import annotations

import logging

from sms_consent.domain.model import Cause
from sms_consent.domain.opt_in import OptInService, RecipientOutcome
from sms_consent.domain.ports import DirectoryRepository

logger = logging.getLogger(__name__)


class LifecycleService:
    """Turn ``Tasks Launched``, ``Party Added``, ``Recipient Added`` and ``Contact Updated`` into requests.

    Each method takes the id of the event that triggered it: a redelivered event reuses the same
    cooldown claims, so it sends nothing twice.
    """

    def __init__(self, directory: DirectoryRepository, opt_in: OptInService) -> None:
        self._directory = directory
        self._opt_in = opt_in

    def on_tasks_launched(self, company_id: str, property_id: str, event_id: str) -> list[RecipientOutcome]:
        prop = self._directory.get_property(company_id, property_id)
        if prop is None or not prop.launched:
            logger.warning(
                "Launch event for a missing or unlaunched property dropped",
                extra={"property_id": property_id},
            )
            return []
        return self._opt_in.request_for_contacts(company_id, prop.sms_recipient_ids(), Cause.LAUNCH, event_id)

    def on_party_added(
        self, company_id: str, property_id: str, contact_id: str, event_id: str
    ) -> list[RecipientOutcome]:
        prop = self._directory.get_property(company_id, property_id)
        if prop is None or not prop.launched:
            # Not launched yet: the launch will send the request.
            return []
        if contact_id not in prop.sms_recipient_ids():
            logger.info(
                "Added party receives no SMS task; no opt-in request",
                extra={"property_id": property_id, "contact_id": contact_id},
            )
            return []
        return self._opt_in.request_for_contacts(company_id, [contact_id], Cause.PARTY_ADDED, event_id)

    def on_recipients_added(
        self, company_id: str, property_id: str, contact_ids: list[str], event_id: str
    ) -> list[RecipientOutcome]:
        prop = self._directory.get_property(company_id, property_id)
        if prop is None or not prop.launched:
            return []
        recipients = set(prop.sms_recipient_ids())
        sms_recipients = [contact_id for contact_id in contact_ids if contact_id in recipients]
        return self._opt_in.request_for_contacts(company_id, sms_recipients, Cause.RECIPIENT_ADDED, event_id)

    def on_contact_updated(self, company_id: str, contact_id: str, event_id: str) -> list[RecipientOutcome]:
        for property_id in self._directory.property_ids_of_contact(company_id, contact_id):
            prop = self._directory.get_property(company_id, property_id)
            if prop is not None and prop.launched and contact_id in prop.sms_recipient_ids():
                return self._opt_in.request_for_contacts(
                    company_id, [contact_id], Cause.CONTACT_UPDATED, event_id
                )
        return []
