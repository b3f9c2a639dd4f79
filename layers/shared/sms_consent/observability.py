"""Logger, metrics and tracer shared by every function, and the `Telemetry` port on top of Metrics.

Log records never carry a raw phone number or a message body: code logs `mask_phone(...)` only,
and a test over the whole suite checks every captured line.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit


class LazyXrayProvider:
    """The X-Ray recorder, imported on first use instead of at import time.

    Importing the X-Ray SDK loads botocore and takes about 200 ms, more than half of a function's
    import budget. Deferring it moves that cost to the first traced call, and skips it entirely
    where nothing is traced. botocore is patched then, so AWS calls still get subsegments.
    """

    def __init__(self) -> None:
        self._recorder: Any = None

    def _load(self) -> Any:
        if self._recorder is None:
            from aws_xray_sdk.core import patch, xray_recorder

            # Send subsegments as they close, as Powertools does for its own X-Ray provider.
            xray_recorder.configure(streaming_threshold=0)
            patch(["botocore"])
            self._recorder = xray_recorder
        return self._recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "sms-consent"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SmsConsent"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(provider=LazyXrayProvider(), auto_patch=False)

# The domain logs through the standard library. Module loggers created later propagate to the
# package logger, so registering it now gives every one of them the same JSON format and level.
logging.getLogger("sms_consent")
copy_config_to_registered_loggers(source_logger=logger, include={"sms_consent"})


class PowertoolsTelemetry:
    """Counts business events as CloudWatch EMF metrics in the service's namespace."""

    def __init__(self, target: Metrics | None = None) -> None:
        self._metrics = target or metrics

    def count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
