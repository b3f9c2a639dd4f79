"""Settings read from the environment once per process and validated, so a bad value fails at start."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sms_consent.errors import ConsentServiceError


class SettingsError(ConsentServiceError):
    """An environment variable is missing or invalid; the message names it and the fix."""


class Settings(BaseModel):
    """Configuration of every function; each field comes from the upper-case environment variable."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    consent_table_name: str = Field(min_length=1)
    ledger_table_name: str = Field(min_length=1)
    idempotency_table_name: str = Field(min_length=1)
    event_bus_name: str = Field(min_length=1)
    cooldown_hours: float = Field(default=24, gt=0, le=24 * 365)
    default_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    origination_number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    origination_identity: str | None = None
    opt_out_list_name: str = "Default"
    sms_sender: Literal["end_user_messaging", "outbox"] = "end_user_messaging"
    quiet_hours_enabled: bool = True
    display_time_zone: str = "UTC"
    idempotency_expiry_hours: int = Field(default=336, gt=0)
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None

    @field_validator("origination_identity", "aws_endpoint_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @property
    def sending_identity(self) -> str:
        return self.origination_identity or self.origination_number

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build the settings from environment variables; raises `SettingsError` naming each bad one."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            if name == "aws_region":
                region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
                if region:
                    values[name] = region
                continue
            raw = env.get(name.upper())
            if raw is not None:
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{str(item['loc'][0]).upper()}: {item['msg']}" for item in error.errors(include_url=False)
            )
            raise SettingsError(f"invalid configuration: {problems}") from None
