"""Entry point of the function that releases texts deferred by quiet hours (every 5 minutes)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.event_handlers import handle_release_scheduled
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Send deferred texts whose quiet hours have ended."""
    handle_release_scheduled(event, context)
