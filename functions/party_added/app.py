"""Entry point of the party-added function (Party Added, Recipient Added, Contact Updated)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.event_handlers import handle_party_events
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Request opt-in from a contact who became an SMS recipient after launch."""
    handle_party_events(event, context)
