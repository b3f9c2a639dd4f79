"""Entry point of the daily reader of the provider's opt-out list."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.event_handlers import handle_sync_opt_outs
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Mark the phones on the provider's opt-out list as opted out."""
    handle_sync_opt_outs(event, context)
