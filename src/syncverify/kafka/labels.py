"""What names a Kafka check's result: link, table (or topic), nodes and check id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncverify.results import CheckKind, CheckResult


@dataclass(frozen=True)
class Labels:
    """Identification of a result; ``table`` defaults to the topic name."""

    link_id: str | None = None
    table: str | None = None
    source_node: str | None = None
    target_node: str | None = None
    check_id: str | None = None

    def result(self, kind: CheckKind, topic: str, **kwargs: Any) -> CheckResult:
        return CheckResult(kind=kind, link_id=self.link_id, table=self.table or topic,
                           source_node=self.source_node, target_node=self.target_node,
                           check_id=self.check_id, **kwargs)

    def not_run(self, kind: CheckKind, topic: str, reason: str, **kwargs: Any) -> CheckResult:
        return CheckResult.not_run(kind, self.link_id, self.table or topic, reason,
                                   source_node=self.source_node, target_node=self.target_node,
                                   check_id=self.check_id, **kwargs)
