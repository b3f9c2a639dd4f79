"""Entry point of the HTTP API function (companies, contacts, properties, SMS tasks)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.http.resolvers import api_resolver
from sms_consent.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Route one HTTP API (payload format 2.0) request."""
    return api_resolver().resolve(event, context)
