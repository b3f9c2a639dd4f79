"""Entry point of the HTTP API function (companies, contacts, properties, SMS tasks)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.http.resolvers import api_resolver
from sms_consent.observability import logger, metrics, tracer

# Built at import so the routes load during the init phase, not in the first request. No AWS
# client is created here: the container builds its clients on first use.
resolver = api_resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Route one HTTP API (payload format 2.0) request."""
    return resolver.resolve(event, context)
