"""The topology model: nodes, tables, links and flows (validated with pydantic)."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from syncverify.catalog.predicates import Group, Leaf, Predicate, parse_predicate

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
_NODE_ID = re.compile(r"^(hq|gx)\.[a-z][a-z0-9_]*$")
_LINK_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,40}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``'30m'``, ``'2h'``, ``'45s'``, ``'1d'`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"duration {value!r} must look like 30s, 15m, 2h or 1d")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def check_identifier(value: str, what: str) -> str:
    """Table and column names must be plain identifiers: they are quoted, never executed."""
    if not _IDENT.match(value):
        raise ValueError(f"{what} {value!r} is not a plain identifier (letters, digits, _ and $)")
    return value


class NodeKind(StrEnum):
    MYSQL = "mysql"
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"
    ORACLE = "oracle"
    KAFKA = "kafka"


class Side(StrEnum):
    HQ = "hq"
    PROVINCE = "province"


class LinkKind(StrEnum):
    DSG = "dsg"
    KAFKA_CONSUMER = "kafka-consumer"
    KAFKA_PRODUCER = "kafka-producer"
    APP = "app"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Node(_Model):
    """A database copy or a Kafka cluster."""

    id: str
    title: str = ""
    side: Side
    kind: NodeKind
    max_concurrency: int = Field(default=4, ge=1, le=64)
    statement_timeout_s: float = Field(default=300, gt=0)
    tables: dict[str, str] = Field(default_factory=dict)   # logical table -> physical name / topic
    schema_name: str | None = Field(default=None, alias="schema")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _NODE_ID.match(v):
            raise ValueError(f"node id {v!r} must look like hq.query_db or gx.kafka")
        return v

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: dict[str, str]) -> dict[str, str]:
        for logical, physical in v.items():
            check_identifier(logical, "table")
            if not re.match(r"^[A-Za-z0-9_.\-]{1,128}$", physical):
                raise ValueError(f"physical name {physical!r} of table {logical!r} is not a plain name")
        return v

    @property
    def is_kafka(self) -> bool:
        return self.kind is NodeKind.KAFKA

    def physical(self, table: str) -> str:
        return self.tables.get(table, table)


class TableDef(_Model):
    """A logical table: its key, compared columns and time window, shared by every copy."""

    name: str
    title: str = ""
    key: list[str]
    columns: list[str] | None = None          # None: every column common to both sides
    exclude_columns: list[str] = Field(default_factory=list)
    window_column: str | None = None
    totals: list[str] = Field(default_factory=list)   # amounts summed per day (business totals)
    suite: str | None = None                  # Great Expectations suite for this family
    masked_columns: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_identifier(v, "table")

    @field_validator("key")
    @classmethod
    def _key(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a table needs at least one key column")
        if len(set(v)) != len(v):
            raise ValueError("key columns repeat")
        return [check_identifier(c, "key column") for c in v]

    @field_validator("columns", "totals", "exclude_columns", "masked_columns")
    @classmethod
    def _cols(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [check_identifier(c, "column") for c in v]

    @field_validator("window_column")
    @classmethod
    def _wcol(cls, v: str | None) -> str | None:
        return None if v is None else check_identifier(v, "window column")


class LinkTable(_Model):
    """One table carried by a link, with what differs per hop."""

    table: str
    source_node: str | None = None            # when one link reads from several nodes (zz04)
    routing: Predicate | None = None          # source side only: rows that must reach the target
    target_scope: Predicate | None = None     # target side: rows of the target this hop accounts for
    column_map: dict[str, str] = Field(default_factory=dict)   # source column -> target column
    enabled: bool = True

    @field_validator("routing", "target_scope", mode="before")
    @classmethod
    def _pred(cls, v: Any) -> Predicate | None:
        return None if v is None else parse_predicate(v)

    @field_validator("column_map")
    @classmethod
    def _map(cls, v: dict[str, str]) -> dict[str, str]:
        for a, b in v.items():
            check_identifier(a, "column")
            check_identifier(b, "column")
        return v


class Link(_Model):
    """A hop: a DSG replication link, a Kafka consumer or producer application, or another app."""

    id: str
    kind: LinkKind
    title: str = ""
    source: str
    target: str
    tables: list[LinkTable]
    grace: timedelta = Field(default=timedelta(minutes=30))
    consumer_group: str | None = None
    key_path: list[str] | None = None         # JSON path(s) of the key in Kafka messages
    backlog_threshold: int = Field(default=1000, ge=0)
    confirm_delay_s: float = Field(default=0, ge=0)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _LINK_ID.match(v):
            raise ValueError(f"link id {v!r} must be letters, digits, '-' and '_'")
        return v

    @field_validator("grace", mode="before")
    @classmethod
    def _grace(cls, v: Any) -> timedelta:
        return parse_duration(v)

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: list[LinkTable]) -> list[LinkTable]:
        if not v:
            raise ValueError("a link carries at least one table")
        return v

    def source_of(self, lt: LinkTable) -> str:
        return lt.source_node or self.source


class Flow(_Model):
    """A business data flow: where it starts and the hops it takes, in order."""

    id: str
    title: str = ""
    sources: list[str]
    hops: list[str]
    tables: list[str] = Field(default_factory=list)   # tables traced along the flow

    @field_validator("hops")
    @classmethod
    def _hops(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a flow needs at least one hop")
        return v


__all__ = [
    "Flow", "Group", "Leaf", "Link", "LinkKind", "LinkTable", "Node", "NodeKind", "Predicate", "Side",
    "TableDef", "check_identifier", "parse_duration",
]
