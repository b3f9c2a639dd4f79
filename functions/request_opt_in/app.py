"""Entry point of the Request Opt-In function (POST /contacts/{contact_id}/opt-in-requests)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.http.resolvers import request_opt_in_resolver
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Send one opt-in request, or answer why it cannot go out now."""
    return request_opt_in_resolver().resolve(event, context)
