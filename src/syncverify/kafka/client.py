"""Where a topic lives and how to reach it: bootstrap servers plus pass-through client settings.

The same code talks to the local Tansu broker and to CKafka in production; anything the cluster
needs (``security.protocol``, ``sasl.mechanism``, ``sasl.username``, ``sasl.password``, TLS files)
goes into ``config`` unchanged. Every text meant for people is built with :meth:`KafkaSource.describe`
and :func:`mask_kafka_text`, so a SASL password never shows up in a result, log or exception.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import AdminClient

from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.masking import mask_text

_SECRET_SUFFIXES = ("password", "secret", "sasl.jaas.config", "sasl.oauthbearer.config")


class TopicMissingError(SyncverifyError):
    """The topic does not exist on the cluster."""


@dataclass(frozen=True)
class KafkaSource:
    """One topic on one cluster.

    ``config`` is merged into every client's configuration (SASL, TLS, client.id ...);
    ``timeout_s`` bounds each metadata, offsets and fetch request so that an unreachable broker
    turns into a clear error quickly instead of a hang.
    """

    bootstrap: str
    topic: str
    config: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = 10.0

    def secrets(self) -> list[str]:
        return [str(v) for k, v in self.config.items() if k.lower().endswith(_SECRET_SUFFIXES)]

    def describe(self) -> str:
        """``kafka://host:port/topic`` (no credentials)."""
        return f"kafka://{self.bootstrap}/{self.topic}"

    def client_config(self, **overrides: Any) -> dict[str, Any]:
        ms = int(self.timeout_s * 1000)
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "socket.timeout.ms": max(1000, ms),
            "socket.connection.setup.timeout.ms": max(1000, ms),
            # librdkafka logs connection failures to stderr on its own; the caller reports them.
            "log_level": 0,
        }
        conf.update(self.config)
        conf.update(overrides)
        return conf

    def consumer(self, group_id: str | None = None, **overrides: Any) -> Consumer:
        """A consumer that never commits on its own. Without ``group_id`` a throw-away group id is
        used (reads go through ``assign()``, so the group is never joined)."""
        conf = self.client_config(**{
            "group.id": group_id or f"syncverify-reader-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            # Tansu holds every fetch for the full wait; Kafka answers as soon as data is there.
            "fetch.wait.max.ms": 500,
            **overrides,
        })
        return Consumer(conf)

    def admin(self) -> AdminClient:
        return AdminClient(self.client_config())

    def mask(self, text: str) -> str:
        return mask_kafka_text(text, self.secrets())


def mask_kafka_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    return mask_text(text, secrets)


def partitions_of(source: KafkaSource, consumer: Consumer) -> list[int]:
    """Partition ids of the topic. Raises :class:`UnreachableError` when the cluster does not
    answer within ``timeout_s`` and :class:`TopicMissingError` when the topic does not exist."""
    try:
        metadata = consumer.list_topics(topic=source.topic, timeout=source.timeout_s)
    except KafkaException as exc:
        raise UnreachableError(
            f"Kafka cluster {source.bootstrap} did not answer within {source.timeout_s:g} s: "
            f"{source.mask(str(exc.args[0]) if exc.args else str(exc))}") from None
    if not metadata.brokers:
        raise UnreachableError(f"Kafka cluster {source.bootstrap} did not answer within {source.timeout_s:g} s")
    topic = metadata.topics.get(source.topic)
    if topic is None or topic.error is not None or not topic.partitions:
        raise TopicMissingError(f"topic {source.topic!r} does not exist on Kafka cluster {source.bootstrap}")
    return sorted(topic.partitions)


def kafka_error_text(exc: BaseException, source: KafkaSource) -> str:
    """One line naming the topic and cluster, secrets masked."""
    if isinstance(exc, SyncverifyError):
        return source.mask(str(exc))
    detail = exc.args[0] if isinstance(exc, KafkaException) and exc.args else exc
    return source.mask(f"{source.describe()}: {exc.__class__.__name__}: {detail}")
