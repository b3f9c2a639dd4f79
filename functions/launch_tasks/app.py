"""Entry point of the launch-tasks function (EventBridge rule on Tasks Launched)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.event_handlers import handle_tasks_launched
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Request opt-in from every SMS recipient of the launched property."""
    handle_tasks_launched(event, context)
