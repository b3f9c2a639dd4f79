"""Generate the HTTP API's OpenAPI document from the routes.

python tools/openapi.py           print the document
python tools/openapi.py --write   rewrite openapi.json (commit it; a test fails when it drifts)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "shared"))

OPENAPI_FILE = ROOT / "openapi.json"


def render() -> str:
    """Return the OpenAPI document as stable, indented JSON."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
    from sms_consent.http.resolvers import openapi_resolver

    document = openapi_resolver().get_openapi_json_schema(
        title="SMS consent API",
        version="0.1.0",
        summary="Opt-in requests, consent status and SMS tasks for real-estate transactions",
        description=(
            "Every route needs a JWT whose company_id claim names the caller's company; "
            "the local stack takes it from the X-Company-Id header instead."
        ),
        security_schemes={"CompanyJwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"CompanyJwt": []}],
    )
    return json.dumps(json.loads(document), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite openapi.json instead of printing")
    args = parser.parse_args()
    text = render()
    if args.write:
        OPENAPI_FILE.write_text(text)
        print(f"wrote {OPENAPI_FILE.relative_to(ROOT)}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
