"""Resolvers of the two HTTP functions, and one with every route for the OpenAPI document.

Each function imports only its own routes: the main API's request models cost the Request Opt-In
function import time it would never use.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from sms_consent.http.common import build_resolver


@cache
def api_resolver() -> APIGatewayHttpResolver:
    from sms_consent.http import routes

    return build_resolver(routes.router)


@cache
def request_opt_in_resolver() -> APIGatewayHttpResolver:
    from sms_consent.http import opt_in_routes

    return build_resolver(opt_in_routes.router)


def openapi_resolver() -> APIGatewayHttpResolver:
    from sms_consent.http import opt_in_routes, routes

    return build_resolver(routes.router, opt_in_routes.router)
