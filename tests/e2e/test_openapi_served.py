"""The local stack serves the committed OpenAPI document and a Swagger UI page that works offline."""

from __future__ import annotations

import json
import re

import pytest
import requests

from local import REPO_ROOT
from local.stack import DEFAULT_PARAMETERS, DEFAULT_TEMPLATE
from local.template import describe_stack

pytestmark = pytest.mark.e2e

TIMEOUT_SECONDS = 30
# Attribute values and JavaScript string values that name a URL the browser loads.
URL_REFERENCE = re.compile(r"""(?:\b(?:src|href)\s*=\s*|\burl\s*:\s*)["']([^"']*)["']""")


def get(local_stack, path: str) -> requests.Response:
    return requests.get(local_stack.url(path), timeout=TIMEOUT_SECONDS)


def template_api_routes() -> set[tuple[str, str]]:
    """Return (method, path) of every HttpApi route in template.yaml."""
    description, _ = describe_stack(DEFAULT_TEMPLATE, DEFAULT_PARAMETERS)
    return {(route.method, route.path) for route in description.routes if route.path != "$default"}


def test_openapi_document_served(local_stack):
    response = get(local_stack, "/local/openapi.json")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == json.loads((REPO_ROOT / "openapi.json").read_text(encoding="utf-8"))


def test_openapi_document_has_every_route_path(local_stack):
    paths = set(get(local_stack, "/local/openapi.json").json()["paths"])

    missing = {path for _, path in template_api_routes()} - paths
    assert not missing, f"openapi.json lacks {sorted(missing)}; regenerate it with make openapi"


def test_openapi_document_has_every_route_method(local_stack):
    paths = get(local_stack, "/local/openapi.json").json()["paths"]

    missing = [
        f"{method} {path}"
        for method, path in sorted(template_api_routes())
        if method.lower() not in paths.get(path, {})
    ]
    assert not missing, f"openapi.json lacks {missing}; regenerate it with make openapi"


def test_swagger_page_served(local_stack):
    response = get(local_stack, "/local/swagger")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle(" in response.text


def test_swagger_page_references_only_local_urls(local_stack):
    page = get(local_stack, "/local/swagger").text
    references = URL_REFERENCE.findall(page)

    assert "/local/openapi.json" in references
    assert "/local/swagger/swagger-ui-bundle.min.js" in references
    assert "/local/swagger/swagger-ui.min.css" in references
    assert [url for url in references if not url.startswith("/local/")] == []
    assert "//" not in page
    assert "validatorUrl: null" in page


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/local/swagger/swagger-ui-bundle.min.js", "text/javascript", b"SwaggerUIBundle"),
        ("/local/swagger/swagger-ui.min.css", "text/css", b".swagger-ui"),
    ],
)
def test_swagger_asset_served(local_stack, path, content_type, marker):
    response = get(local_stack, path)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    assert marker in response.content


def test_unknown_swagger_asset_not_found(local_stack):
    response = get(local_stack, "/local/swagger/oauth2.py")

    assert response.status_code == 404
