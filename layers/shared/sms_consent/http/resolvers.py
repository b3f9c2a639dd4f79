"""Resolvers of the two HTTP functions, and one with every route for the OpenAPI document."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from sms_consent.http import opt_in_routes, routes
from sms_consent.http.common import build_resolver


@cache
def api_resolver() -> APIGatewayHttpResolver:
    return build_resolver(routes.router)


@cache
def request_opt_in_resolver() -> APIGatewayHttpResolver:
    return build_resolver(opt_in_routes.router)


def openapi_resolver() -> APIGatewayHttpResolver:
    return build_resolver(routes.router, opt_in_routes.router)
