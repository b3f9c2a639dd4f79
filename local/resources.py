"""Create the template's resources in moto, and the queues that feed events to the functions."""

from __future__ import annotations

import json
import logging
from typing import Any

from local.dispatcher import QueueSource
from local.template import StackDescription

logger = logging.getLogger(__name__)

# Target id of every rule's SQS target. It only has to be unique within the rule.
DISPATCHER_TARGET_ID = "local-dispatcher"


def create_resources(description: StackDescription, clients: Any) -> list[QueueSource]:
    """Create tables, buses, topics, rules and subscriptions, and return the queues to poll.

    ``clients`` is called with a service name and returns a boto3 client bound to moto.
    """
    dynamodb = clients("dynamodb")
    for table in description.tables:
        dynamodb.create_table(**table.create_arguments)
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
            )
        logger.debug("Created table %s", table.name)

    events = clients("events")
    for bus in description.event_buses:
        events.create_event_bus(Name=bus.name)

    sns = clients("sns")
    for topic in description.topics:
        sns.create_topic(Name=topic.name)

    sqs = clients("sqs")
    sources: list[QueueSource] = []
    for rule in description.rules:
        queue_url, queue_arn = _create_queue(sqs, f"{rule.function_id}-{rule.event_name}-local")
        rule_name = f"{rule.function_id}-{rule.event_name}"
        events.put_rule(Name=rule_name, EventBusName=rule.bus_name, EventPattern=json.dumps(rule.pattern))
        events.put_targets(
            Rule=rule_name,
            EventBusName=rule.bus_name,
            Targets=[{"Id": DISPATCHER_TARGET_ID, "Arn": queue_arn}],
        )
        sources.append(QueueSource(rule.function_id, queue_url, "eventbridge"))

    for subscription in description.subscriptions:
        queue_url, queue_arn = _create_queue(
            sqs, f"{subscription.function_id}-{subscription.event_name}-local"
        )
        # Raw message delivery stays off, so each SQS body is the SNS notification JSON.
        response = sns.subscribe(
            TopicArn=subscription.topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
        )
        sources.append(QueueSource(subscription.function_id, queue_url, "sns", response["SubscriptionArn"]))
    return sources


def _create_queue(sqs: Any, name: str) -> tuple[str, str]:
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return queue_url, attributes["QueueArn"]
