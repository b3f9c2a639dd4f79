"""Entry point of the inbound-SMS function (SNS topic fed by AWS End User Messaging)."""

from sms_consent.event_handlers import handle_inbound_sns
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="Records[0].Sns.MessageId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Apply recipients' replies: YES, START, STOP, HELP."""
    handle_inbound_sns(event, context)
