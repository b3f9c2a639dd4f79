"""Write the JSON schema of every event on the application's bus to schemas/events/.

python tools/event_schemas.py           check that the committed schemas are current
python tools/event_schemas.py --write   rewrite them
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "shared"))
SCHEMA_DIR = ROOT / "schemas" / "events"


def render() -> dict[str, str]:
    """Return file name → JSON schema text for each detail-type."""
    from sms_consent.schemas.events import BUS_EVENTS

    rendered = {}
    for detail_type, model in BUS_EVENTS.items():
        schema = model.model_json_schema()
        schema["title"] = detail_type
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["description"] = (
            f"detail of '{detail_type}' events (source sms-consent.api). {model.__doc__ or ''}".strip()
        )
        name = detail_type.lower().replace(" ", "-") + ".json"
        rendered[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the schema files")
    args = parser.parse_args()
    rendered = render()
    if args.write:
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            (SCHEMA_DIR / name).write_text(text)
        print(f"wrote {len(rendered)} schemas to {SCHEMA_DIR.relative_to(ROOT)}")
        return 0
    stale = [
        name
        for name, text in rendered.items()
        if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != text
    ]
    if stale:
        print(f"stale event schemas: {', '.join(stale)}; run python tools/event_schemas.py --write")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
