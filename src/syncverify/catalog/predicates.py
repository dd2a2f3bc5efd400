"""Routing and scope predicates: a small structured language, compiled to SQL and to Python.

A province copy is a filtered subset of the HQ copy (清分). The catalog states which rows belong
with a predicate tree instead of free SQL, so that the same rule can be applied inside any
database (quoted identifiers, escaped literals, no injection) and to decoded Kafka messages::

    routing:
      any:
        - {column: gmf_swjg_dm, prefix: "145"}
        - all:
            - {column: dkbz, equals: "Y"}
            - {column: xsf_swjg_dm, prefix: "145"}

Leaves: ``equals``, ``not_equals``, ``prefix``, ``not_prefix``, ``in``, ``not_in``, ``is_null``.
NULL never matches a comparison leaf (as in SQL); use ``is_null`` for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Literal values are inlined into SQL, so they are restricted to what routing rules need:
# codes, flags and names (letters of any script, digits, '-', '.', ' ', '_').
_SAFE_VALUE = re.compile(r"^[\w\-. ]{0,64}$", re.UNICODE)
_SAFE_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

Quote = Callable[[str], str]


def _check_value(value: str) -> str:
    if not isinstance(value, str) or not _SAFE_VALUE.match(value):
        raise ValueError(f"predicate value {value!r} must be a short code (letters, digits, '-', '.', '_')")
    return value


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str
    equals: str | None = None
    not_equals: str | None = None
    prefix: str | None = None
    not_prefix: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    is_null: bool | None = None

    @field_validator("column")
    @classmethod
    def _column(cls, v: str) -> str:
        if not _SAFE_COLUMN.match(v):
            raise ValueError(f"column name {v!r} is not a plain identifier")
        return v

    @field_validator("equals", "not_equals", "prefix", "not_prefix")
    @classmethod
    def _value(cls, v: str | None) -> str | None:
        return None if v is None else _check_value(v)

    @field_validator("in_", "not_in")
    @classmethod
    def _values(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        if not v:
            raise ValueError("an 'in' list needs at least one value")
        return [_check_value(x) for x in v]

    @model_validator(mode="after")
    def _one_operator(self) -> Leaf:
        ops = [name for name in ("equals", "not_equals", "prefix", "not_prefix", "in_", "not_in", "is_null")
               if getattr(self, name) is not None]
        if len(ops) != 1:
            raise ValueError(f"a predicate on column {self.column!r} needs exactly one operator, got {ops or 'none'}")
        if self.prefix is not None and ("%" in self.prefix or "_" in self.prefix):
            raise ValueError("a prefix may not contain '%' or '_'")
        if self.not_prefix is not None and ("%" in self.not_prefix or "_" in self.not_prefix):
            raise ValueError("a prefix may not contain '%' or '_'")
        return self

    def to_sql(self, quote: Quote) -> str:
        col = quote(self.column)
        if self.equals is not None:
            return f"{col} = {_sql_literal(self.equals)}"
        if self.not_equals is not None:
            return f"({col} <> {_sql_literal(self.not_equals)} AND {col} IS NOT NULL)"
        if self.prefix is not None:
            return f"{col} LIKE {_sql_literal(self.prefix + '%')}"
        if self.not_prefix is not None:
            return f"({col} NOT LIKE {_sql_literal(self.not_prefix + '%')} AND {col} IS NOT NULL)"
        if self.in_ is not None:
            return f"{col} IN ({', '.join(_sql_literal(v) for v in self.in_)})"
        if self.not_in is not None:
            return f"({col} NOT IN ({', '.join(_sql_literal(v) for v in self.not_in)}) AND {col} IS NOT NULL)"
        return f"{col} IS NULL" if self.is_null else f"{col} IS NOT NULL"

    def matches(self, row: Mapping[str, Any]) -> bool:
        value = row.get(self.column)
        if self.is_null is not None:
            return (value is None) == self.is_null
        if value is None:
            return False
        text = str(value)
        if self.equals is not None:
            return text == self.equals
        if self.not_equals is not None:
            return text != self.not_equals
        if self.prefix is not None:
            return text.startswith(self.prefix)
        if self.not_prefix is not None:
            return not text.startswith(self.not_prefix)
        if self.in_ is not None:
            return text in self.in_
        assert self.not_in is not None
        return text not in self.not_in

    def columns(self) -> set[str]:
        return {self.column}


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[Predicate] | None = None
    all: list[Predicate] | None = None
    not_: Predicate | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one(self) -> Group:
        given = [n for n in ("any", "all", "not_") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a predicate group needs exactly one of 'any', 'all', 'not'")
        if self.any == [] or self.all == []:
            raise ValueError("'any' / 'all' need at least one predicate")
        return self

    def to_sql(self, quote: Quote) -> str:
        if self.not_ is not None:
            # COALESCE: a NULL inside must count as "does not match", as in matches().
            return f"NOT COALESCE(({self.not_.to_sql(quote)}), 1 = 0)"
        parts = self.any if self.any is not None else self.all
        assert parts is not None
        joiner = " OR " if self.any is not None else " AND "
        return "(" + joiner.join(p.to_sql(quote) for p in parts) + ")"

    def matches(self, row: Mapping[str, Any]) -> bool:
        if self.not_ is not None:
            return not self.not_.matches(row)
        if self.any is not None:
            return any(p.matches(row) for p in self.any)
        assert self.all is not None
        return all(p.matches(row) for p in self.all)

    def columns(self) -> set[str]:
        out: set[str] = set()
        for p in (self.any or []) + (self.all or []) + ([self.not_] if self.not_ else []):
            out |= p.columns()
        return out


Predicate = Leaf | Group
Group.model_rebuild()

PredicateKind = Literal["routing", "target_scope"]


# Routing rules need a few levels; a deeper tree is a mistake or an attack: validating, compiling
# and matching recurse once per level, and 900 nested ``not:`` raised RecursionError.
MAX_DEPTH = 32


def predicate_depth(data: Any, limit: int = MAX_DEPTH) -> int:
    """Levels of groups and leaves in a predicate's YAML form, counted without recursion; stops
    counting just past ``limit`` (so a hostile tree costs no more than ``limit`` levels)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Mapping):
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            break
        children: list[Any] = []
        for name in ("any", "all"):
            if isinstance(node.get(name), list):
                children.extend(node[name])
        if "not" in node:
            children.append(node["not"])
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_predicate(data: Any) -> Predicate:
    """Build a predicate from its YAML form (a mapping with ``column`` or ``any``/``all``/``not``);
    a tree deeper than :data:`MAX_DEPTH` is refused before anything recurses into it."""
    if isinstance(data, Leaf | Group):
        return data
    if not isinstance(data, Mapping):
        raise ValueError("a predicate must be a mapping")
    if predicate_depth(data) > MAX_DEPTH:
        raise ValueError(f"a predicate may be nested at most {MAX_DEPTH} levels deep")
    if "column" in data:
        return Leaf.model_validate(data)
    return Group.model_validate(data)
