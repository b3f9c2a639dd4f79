"""The committed OpenAPI document matches the routes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("openapi_tool", ROOT / "tools" / "openapi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_openapi_document_matches_routes():
    committed = (ROOT / "openapi.json").read_text()

    assert committed == _tool().render(), "openapi.json is stale; run `make openapi` and commit it"


def test_openapi_lists_every_template_route():
    import json

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    routes = set()
    for resource in template["Resources"].values():
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                routes.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    paths = json.loads((ROOT / "openapi.json").read_text())["paths"]
    documented = {(method, path) for path, methods in paths.items() for method in methods}

    assert routes == documented


def test_event_schemas_are_current():
    spec = importlib.util.spec_from_file_location("event_schemas_tool", ROOT / "tools" / "event_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.render().items():
        committed = (ROOT / "schemas" / "events" / name).read_text()
        assert committed == text, f"{name} is stale; run tools/event_schemas.py --write"
