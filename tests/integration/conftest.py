"""Fixtures of the integration tests: moto's mock of AWS and the application's DynamoDB tables.

The tables are built from their definitions in template.yaml, so the tests fail when the code and
the template disagree about keys or indexes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
REGION = "us-east-1"


@dataclass(frozen=True)
class TableNames:
    """Names of the tables that the `tables` fixture creates."""

    consent: str
    ledger: str
    idempotency: str


TABLE_NAMES = TableNames(consent="test-consent", ledger="test-ledger", idempotency="test-idempotency")

# Logical id in template.yaml -> (table name, environment variable the functions read).
TABLES = {
    "ConsentTable": (TABLE_NAMES.consent, "CONSENT_TABLE_NAME"),
    "LedgerTable": (TABLE_NAMES.ledger, "LEDGER_TABLE_NAME"),
    "IdempotencyTable": (TABLE_NAMES.idempotency, "IDEMPOTENCY_TABLE_NAME"),
}

# Table properties used while template.yaml is missing or lacks a table. Keep them equal to the
# template's definitions.
FALLBACK_PROPERTIES: dict[str, dict[str, Any]] = {
    "ConsentTable": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gsi1pk", "AttributeType": "S"},
            {"AttributeName": "gsi1sk", "AttributeType": "S"},
            {"AttributeName": "due_bucket", "AttributeType": "S"},
            {"AttributeName": "due_at", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByPhone",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "ByDueTime",
                "KeySchema": [
                    {"AttributeName": "due_bucket", "KeyType": "HASH"},
                    {"AttributeName": "due_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    },
    "LedgerTable": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    },
    "IdempotencyTable": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
    },
}


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short-form tags such as ``!Ref`` and ``!Sub``."""


def _construct_tagged(loader: _TemplateLoader, tag_suffix: str, node: yaml.Node) -> Any:
    # The table properties read here contain no intrinsic functions, so the tag's content is enough.
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_TemplateLoader.add_multi_constructor("!", _construct_tagged)


def table_properties() -> dict[str, dict[str, Any]]:
    """Return the Properties of each table resource, from template.yaml where it defines them."""
    resources: dict[str, Any] = {}
    if TEMPLATE_PATH.exists():
        with TEMPLATE_PATH.open(encoding="utf-8") as stream:
            template = yaml.load(stream, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
        resources = template.get("Resources", {})
    properties = {}
    for logical_id in TABLES:
        resource = resources.get(logical_id, {})
        if resource.get("Type") == "AWS::DynamoDB::Table":
            properties[logical_id] = resource["Properties"]
        else:
            properties[logical_id] = FALLBACK_PROPERTIES[logical_id]
    return properties


def create_table(client: Any, table_name: str, properties: dict[str, Any]) -> None:
    """Create one table with the key schema, indexes, billing mode and TTL of ``properties``."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    client.create_table(**request)

    time_to_live = properties.get("TimeToLiveSpecification")
    if time_to_live and time_to_live.get("Enabled"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": time_to_live["AttributeName"], "Enabled": True},
        )


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start moto's mock of all AWS services with fake credentials in us-east-1.

    The environment is set before the mock starts, so no client can pick up real credentials, a
    profile or an endpoint of the local stack.
    """
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def tables(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> TableNames:
    """Create the consent, ledger and idempotency tables and set their names in the environment.

    Sets CONSENT_TABLE_NAME, LEDGER_TABLE_NAME and IDEMPOTENCY_TABLE_NAME.
    """
    client = boto3.client("dynamodb", region_name=REGION)
    properties = table_properties()
    for logical_id, (table_name, variable) in TABLES.items():
        create_table(client, table_name, properties[logical_id])
        monkeypatch.setenv(variable, table_name)
    return TABLE_NAMES
