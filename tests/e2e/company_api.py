"""HTTP helpers bound to one company of the running local stack, shared by the e2e tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests

TASK_MESSAGE = "Reminder: the inspection is on Friday at 10:00."


@dataclass
class CompanyApi:
    """Calls the API as one company (the X-Company-Id header) and reads the local outbox."""

    stack: Any
    company_id: str

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.stack.call(method, path, self.company_id, body)

    def expect(self, status: int, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def create_contact(self, name: str, phone: str | None, sms_enabled: bool = True) -> str:
        body = {"name": name, "mobile_phone": phone, "sms_enabled": sms_enabled}
        return self.expect(201, "POST", "/contacts", body)["contact_id"]

    def create_property(
        self,
        parties: dict[str, str],
        task_roles: list[str],
        manual_recipients: list[str] | None = None,
        message: str = TASK_MESSAGE,
    ) -> tuple[str, str]:
        """Create a property with ``parties`` (contact id to role) and one SMS task; return both ids."""
        body = {
            "address": "1 Observer Highway, Hoboken, NJ",
            "parties": [{"contact_id": contact_id, "role": role} for contact_id, role in parties.items()],
            "sms_tasks": [
                {
                    "name": "Inspection reminder",
                    "message": message,
                    "recipient_roles": task_roles,
                    "recipient_contact_ids": manual_recipients or [],
                }
            ],
        }
        created = self.expect(201, "POST", "/properties", body)
        return created["property_id"], created["task_ids"][0]

    def launch(self, property_id: str) -> None:
        self.expect(202, "POST", f"/properties/{property_id}/launch")
        self.stack.wait_for_idle()

    def launch_for(self, contact_id: str, role: str = "buyer") -> str:
        """Create and launch a property whose one SMS task goes to the contact; return its id."""
        property_id, _ = self.create_property({contact_id: role}, [role])
        self.launch(property_id)
        return property_id

    def sms(self, contact_id: str) -> dict[str, Any]:
        return self.expect(200, "GET", f"/contacts/{contact_id}")["sms"]

    def history(self, contact_id: str) -> list[dict[str, Any]]:
        return self.expect(200, "GET", f"/contacts/{contact_id}/consent-history")["entries"]

    def texts(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self.stack.outbox(self.company_id, kind)

    def requested_phones(self) -> Counter:
        return Counter(text["destination"] for text in self.texts("opt_in_request"))

    def reply(self, phone: str, body: str) -> None:
        response = self.stack.call("POST", "/local/inbound-sms", None, {"from": phone, "body": body})
        assert response.status_code == 202, response.text
        self.stack.wait_for_idle()

    def advance_clock(self, seconds: int) -> None:
        response = self.stack.call("POST", "/local/clock", None, {"advance_seconds": seconds})
        assert response.status_code == 200, response.text
        self.stack.wait_for_idle()
