"""Logger, metrics and tracer shared by every function, and the `Telemetry` port on top of Metrics.

Log records never carry a raw phone number or a message body: code logs `mask_phone(...)` only,
and a test over the whole suite checks every captured line.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# The domain logs through the standard library; give those records the same JSON format.
copy_config_to_registered_loggers(source_logger=logger, include={"sms_consent"})


class PowertoolsTelemetry:
    """Counts business events as CloudWatch EMF metrics in the service's namespace."""

    def __init__(self, target: Metrics | None = None) -> None:
        self._metrics = target or metrics

    def count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
