"""Kafka hops: consumer backlog, windowed volume against landed rows, key reconciliation.

The checks return :class:`syncverify.results.CheckResult` like the table comparisons; an
unreachable cluster, a missing topic or an unreadable table gives a "not run" result with the
reason, never an exception, so the other checks of a run proceed::

    source = KafkaSource("broker:9092", "fp_fpxx", {"security.protocol": "SASL_PLAINTEXT", ...})
    db = DbSide(engine, "fp_fpxx", key_columns=("fpdm", "fphm"), window_column="kprq")
    check_backlog(source, "gxjf-query", threshold=10_000)
    check_volume(source, db, (start, end))
    check_keys(source, db, (start, end), key_path=["fpdm", "fphm"], routing=predicate.matches)

:class:`LocalBroker`, :func:`produce_json` and :func:`commit_group_offsets` serve the tests, the
sandbox world and the demo.
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.kafka.backlog import check_backlog
    from syncverify.kafka.broker import BrokerStartError, LocalBroker
    from syncverify.kafka.client import KafkaSource, TopicMissingError
    from syncverify.kafka.dbside import DbSide
    from syncverify.kafka.labels import Labels
    from syncverify.kafka.produce import ProduceStats, commit_group_offsets, create_topic, produce_json
    from syncverify.kafka.reconcile import check_keys
    from syncverify.kafka.volume import check_volume
    from syncverify.kafka.window import Window

__all__ = [
    "BrokerStartError",
    "DbSide",
    "KafkaSource",
    "Labels",
    "LocalBroker",
    "ProduceStats",
    "TopicMissingError",
    "Window",
    "check_backlog",
    "check_keys",
    "check_volume",
    "commit_group_offsets",
    "create_topic",
    "produce_json",
]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
