"""Read ``template.yaml`` and describe what the local stack must create and wire.

The template is the only source of the wiring: table keys, routes, event patterns, schedules and
environment variables all come from it, so the local stack cannot drift from what SAM deploys.
Intrinsic functions are resolved with the parameters' defaults (or overrides) and with local
physical names: ``<LogicalId>-local`` for resources without an explicit name property.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
STACK_NAME = "sms-consent-local"

# CloudFormation short tags and the long form each one stands for.
_SHORT_TAGS = {
    "!Ref": "Ref",
    "!Sub": "Fn::Sub",
    "!GetAtt": "Fn::GetAtt",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!FindInMap": "Fn::FindInMap",
    "!Base64": "Fn::Base64",
    "!Condition": "Condition",
}


class TemplateError(Exception):
    """The template uses something the local stack cannot resolve or emulate."""


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns CloudFormation short tags (``!Ref X``) into their long form."""


def _construct_short_tag(loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    long_name = _SHORT_TAGS[f"!{tag_suffix}"]
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if long_name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {long_name: value}


for _tag in _SHORT_TAGS:
    CloudFormationLoader.add_constructor(
        _tag, lambda loader, node, name=_tag[1:]: _construct_short_tag(loader, name, node)
    )


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation or SAM template, keeping intrinsic functions in their long form."""
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section")
    return document


class _NoValue:
    """Marker of ``AWS::NoValue``: the property or list item is removed."""


NO_VALUE = _NoValue()


class IntrinsicResolver:
    """Resolve intrinsic functions against parameter values and local physical names."""

    def __init__(
        self, template: Mapping[str, Any], parameter_overrides: Mapping[str, str] | None = None
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template["Resources"]
        self.parameters = self._parameter_values(parameter_overrides or {})
        self._conditions: dict[str, bool] = {}

    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        declared = self.template.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in overrides:
                raw = overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default; pass a value for it")
            text = _to_text(raw)
            values[name] = (
                text.split(",") if str(spec.get("Type", "")).startswith("CommaDelimitedList") else text
            )
        return values

    # Physical names ----------------------------------------------------------------------------

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(
                f"the template references {logical_id}, which is not a resource or parameter"
            ) from None

    def physical_name(self, logical_id: str) -> str:
        """Return the local name of a resource: its explicit name property, or ``<LogicalId>-local``."""
        resource = self.resource(logical_id)
        name_property = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Events::EventBus": "Name",
            "AWS::SNS::Topic": "TopicName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Logs::LogGroup": "LogGroupName",
        }.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if name_property and name_property in properties:
            return str(self.resolve(properties[name_property]))
        return f"{logical_id}-local"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resource(name).get("Type", "")
        if kind == "AWS::SNS::Topic":
            return self.get_att(name, "TopicArn")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self.physical_name(name)}"
        if kind in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api"):
            return "local"
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resource(logical_id).get("Type", "")
        name = self.physical_name(logical_id)
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
        }
        if attribute in ("Arn", "TopicArn") and kind in arns:
            return arns[kind]
        if attribute in ("Name", "QueueName", "TopicName"):
            return name
        raise TemplateError(f"the local stack cannot resolve !GetAtt {logical_id}.{attribute} ({kind})")

    # Conditions and intrinsic functions --------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"the template uses condition {name}, which Conditions does not declare")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function replaced by its local result."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.get_att(logical_id, attribute)
        if name == "Fn::If":
            condition_name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition_name) else when_false)
        if name == "Fn::Equals":
            left, right = (_to_text(self.resolve(item)) for item in argument)
            return left == right
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if name == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(_to_text(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            delimiter, text = argument
            return str(self.resolve(text)).split(str(delimiter))
        if name == "Fn::FindInMap":
            map_name, top_key, second_key = (self.resolve(item) for item in argument)
            return (self.template.get("Mappings") or {})[map_name][top_key][second_key]
        if name == "Fn::Base64":
            import base64

            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        raise TemplateError(f"the local stack does not support {name}")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {key: self.resolve(item) for key, item in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return _to_text(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return self.get_att(logical_id, attribute)
            return _to_text(self.ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


def _to_text(value: Any) -> str:
    """Return a value as CloudFormation passes it to a string property (``true``, ``24``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_to_text(item) for item in value)
    return str(value)


# Description of the stack ------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table: the ``create_table`` arguments and the TTL attribute, if enabled."""

    logical_id: str
    name: str
    create_arguments: dict[str, Any]
    ttl_attribute: str | None


@dataclass(frozen=True)
class NamedResource:
    """An event bus or SNS topic with its local name and ARN."""

    logical_id: str
    name: str
    arn: str


@dataclass(frozen=True)
class HttpRoute:
    """An ``HttpApi`` event. ``method`` is upper case or ``ANY``, and ``path`` uses ``{param}``."""

    function_id: str
    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class EventRule:
    """An ``EventBridgeRule`` event of a function."""

    function_id: str
    event_name: str
    bus_name: str
    pattern: dict[str, Any]


@dataclass(frozen=True)
class TopicSubscription:
    """An ``SNS`` event of a function."""

    function_id: str
    event_name: str
    topic_arn: str


@dataclass(frozen=True)
class Schedule:
    """A ``Schedule`` or ``ScheduleV2`` event with a ``rate(...)`` expression."""

    function_id: str
    event_name: str
    expression: str
    interval: timedelta


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` and what the local stack needs to call it."""

    logical_id: str
    name: str
    arn: str
    source_file: Path
    handler_name: str
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, str]


@dataclass
class StackDescription:
    """Everything the local stack creates and wires, read from one template."""

    tables: list[TableSpec] = field(default_factory=list)
    event_buses: list[NamedResource] = field(default_factory=list)
    topics: list[NamedResource] = field(default_factory=list)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[HttpRoute] = field(default_factory=list)
    rules: list[EventRule] = field(default_factory=list)
    subscriptions: list[TopicSubscription] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """Merge every function's environment. The functions share one process, so values must agree."""
        merged: dict[str, str] = {}
        owners: dict[str, str] = {}
        for function in self.functions.values():
            for name, value in function.environment.items():
                if name in merged and merged[name] != value:
                    raise TemplateError(
                        f"{owners[name]} and {function.logical_id} set {name} to different values; "
                        "the local stack runs every function in one process and needs one value"
                    )
                merged[name] = value
                owners.setdefault(name, function.logical_id)
        return merged


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_TABLE_ARGUMENTS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)


def parse_rate(expression: str) -> timedelta:
    """Return the interval of a ``rate(N unit)`` schedule expression."""
    match = _RATE.match(expression.strip())
    if not match:
        raise TemplateError(
            f"unsupported schedule expression {expression!r}; the local stack runs rate(N unit) only"
        )
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return timedelta(seconds=amount * _RATE_UNITS[unit])


def describe_stack(
    template_path: Path, parameter_overrides: Mapping[str, str] | None = None
) -> tuple[StackDescription, IntrinsicResolver]:
    """Read the template and return the resources, functions and event sources to emulate."""
    template = load_template(template_path)
    resolver = IntrinsicResolver(template, parameter_overrides)
    description = StackDescription()
    function_globals = ((template.get("Globals") or {}).get("Function")) or {}
    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type")
        if kind == "AWS::DynamoDB::Table":
            description.tables.append(_table(logical_id, resource, resolver))
        elif kind == "AWS::Events::EventBus":
            name = resolver.physical_name(logical_id)
            description.event_buses.append(
                NamedResource(logical_id, name, resolver.get_att(logical_id, "Arn"))
            )
        elif kind == "AWS::SNS::Topic":
            name = resolver.physical_name(logical_id)
            description.topics.append(
                NamedResource(logical_id, name, resolver.get_att(logical_id, "TopicArn"))
            )
        elif kind == "AWS::Serverless::Function":
            _add_function(description, logical_id, resource, function_globals, resolver, template_path.parent)
    return description, resolver


def _table(logical_id: str, resource: Mapping[str, Any], resolver: IntrinsicResolver) -> TableSpec:
    properties = resolver.resolve(resource.get("Properties") or {})
    name = resolver.physical_name(logical_id)
    arguments = {key: properties[key] for key in _TABLE_ARGUMENTS if key in properties}
    arguments["TableName"] = name
    ttl = properties.get("TimeToLiveSpecification") or {}
    ttl_attribute = ttl.get("AttributeName") if _to_text(ttl.get("Enabled", False)) == "true" else None
    return TableSpec(logical_id, name, arguments, ttl_attribute)


def _add_function(
    description: StackDescription,
    logical_id: str,
    resource: Mapping[str, Any],
    function_globals: Mapping[str, Any],
    resolver: IntrinsicResolver,
    base_dir: Path,
) -> None:
    properties = resource.get("Properties") or {}

    def setting(name: str, default: Any) -> Any:
        return resolver.resolve(properties.get(name, function_globals.get(name, default)))

    handler = str(setting("Handler", "app.lambda_handler"))
    module_name, _, handler_name = handler.rpartition(".")
    code_uri = setting("CodeUri", None)
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id} has no local CodeUri; the local stack loads code from a folder")
    environment = dict(((function_globals.get("Environment") or {}).get("Variables")) or {})
    environment.update(((properties.get("Environment") or {}).get("Variables")) or {})
    description.functions[logical_id] = FunctionSpec(
        logical_id=logical_id,
        name=resolver.physical_name(logical_id),
        arn=resolver.get_att(logical_id, "Arn"),
        source_file=base_dir / code_uri / f"{module_name.replace('.', '/')}.py",
        handler_name=handler_name,
        memory_mb=int(setting("MemorySize", 128)),
        timeout_seconds=int(setting("Timeout", 3)),
        environment={name: _to_text(value) for name, value in resolver.resolve(environment).items()},
    )
    for event_name, event in (properties.get("Events") or {}).items():
        _add_event(description, logical_id, event_name, event, resolver)


def _add_event(
    description: StackDescription,
    function_id: str,
    event_name: str,
    event: Mapping[str, Any],
    resolver: IntrinsicResolver,
) -> None:
    kind = event.get("Type")
    properties = resolver.resolve(event.get("Properties") or {})
    if kind == "HttpApi":
        method = str(properties.get("Method", "ANY")).upper()
        if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
            method = "ANY"
        path = str(properties.get("Path", "$default"))
        description.routes.append(HttpRoute(function_id, method, path))
    elif kind in ("EventBridgeRule", "CloudWatchEvent"):
        bus_name = str(properties.get("EventBusName", "default"))
        description.rules.append(EventRule(function_id, event_name, bus_name, dict(properties["Pattern"])))
    elif kind == "SNS":
        description.subscriptions.append(TopicSubscription(function_id, event_name, str(properties["Topic"])))
    elif kind in ("Schedule", "ScheduleV2"):
        expression = str(properties.get("ScheduleExpression") or properties.get("Schedule"))
        description.schedules.append(Schedule(function_id, event_name, expression, parse_rate(expression)))
    else:
        raise TemplateError(
            f"{function_id} has an event {event_name} of type {kind}, which the local stack cannot emulate"
        )
