"""Reading the SMS provider's opt-out list, for STOPs that a carrier handled without telling us."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sms_consent.domain.model import ConsentStatus
from sms_consent.domain.opt_in import OptInService
from sms_consent.domain.ports import ConsentRepository, SmsSender

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncSummary:
    listed: int
    marked: int


def sync_provider_opt_outs(
    sender: SmsSender, consents: ConsentRepository, opt_in: OptInService
) -> SyncSummary:
    """Mark every phone on the provider's opt-out list as opted out in each company that has it.

    Phones already opted out are left alone, so a daily run adds no duplicate ledger entries.
    """
    listed = marked = 0
    for phone in sender.opted_out_numbers():
        listed += 1
        for consent in consents.consents_for_phone(phone):
            if consent.status is not ConsentStatus.OPTED_OUT and opt_in.mark_opted_out_by_provider(
                consent.company_id, phone
            ):
                marked += 1
    logger.info("Provider opt-out list read", extra={"listed": listed, "marked": marked})
    return SyncSummary(listed, marked)
