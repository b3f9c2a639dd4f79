"""Entry point of the Request Opt-In function (POST /contacts/{contact_id}/opt-in-requests)."""

from aws_lambda_powertools.logging import correlation_paths
from sms_consent.http.resolvers import request_opt_in_resolver
from sms_consent.observability import logger, metrics, tracer

# Built at import so the routes load during the init phase, not in the first request. No AWS
# client is created here: the container builds its clients on first use.
resolver = request_opt_in_resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    """Send one opt-in request, or return why it cannot go out now."""
    return resolver.resolve(event, context)
