"""A table's shape: its columns as normalised types, nullability and unique keys.

Both a live table (reflection only: no row is read, so the check costs a few catalog queries)
and a ``CREATE TABLE`` of a release's DDL file become the same :class:`TableShape`, so the
comparison, the snapshots and the release gate share one code path. The dialect of the side
does the type normalisation (:meth:`syncverify.dialects.Dialect.describe_type`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from syncverify.connect.engine import check_reachable, engine_name
from syncverify.dialects import ColumnType, Dialect, for_engine
from syncverify.errors import SchemaError, SyncverifyError
from syncverify.masking import mask_text


@dataclass(frozen=True)
class ColumnShape:
    name: str
    type: ColumnType
    nullable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "nullable": self.nullable, **self.type.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnShape:
        rest = {k: v for k, v in data.items() if k not in ("name", "nullable")}
        return cls(str(data["name"]), ColumnType.from_dict(rest), bool(data.get("nullable", True)))


@dataclass
class TableShape:
    """One copy of a table as the schema check sees it."""

    table: str                                   # physical name
    dialect: str                                 # the dialect that described it (mysql, postgresql ...)
    columns: dict[str, ColumnShape] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    unique_keys: list[list[str]] = field(default_factory=list)   # unique constraints and indexes

    def column(self, name: str) -> ColumnShape | None:
        """By name; case-insensitively when the exact name is absent (folded identifiers)."""
        if name in self.columns:
            return self.columns[name]
        folded = [c for n, c in self.columns.items() if n.lower() == name.lower()]
        return folded[0] if len(folded) == 1 else None

    def unique_sets(self) -> list[frozenset[str]]:
        """Every column set the table holds unique (primary key first), lower-cased."""
        out = [frozenset(c.lower() for c in self.primary_key)] if self.primary_key else []
        for uk in self.unique_keys:
            s = frozenset(c.lower() for c in uk)
            if s and s not in out:
                out.append(s)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "dialect": self.dialect,
                "columns": [c.to_dict() for c in self.columns.values()],
                "primary_key": list(self.primary_key), "unique_keys": [list(u) for u in self.unique_keys]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableShape:
        cols = [ColumnShape.from_dict(c) for c in data.get("columns") or []]
        return cls(str(data.get("table", "")), str(data.get("dialect", "")), {c.name: c for c in cols},
                   list(data.get("primary_key") or []), [list(u) for u in data.get("unique_keys") or []])

    def digest(self) -> str:
        """SHA-256 of the shape without the spelling of the types (``declared``) and the table
        name: two runs that see the same capacities get the same hash."""
        body = self.to_dict()
        body.pop("table")
        for c in body["columns"]:
            c.pop("declared", None)
        body["unique_keys"] = sorted(sorted(u) for u in body["unique_keys"])
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


# ---- a live table ---------------------------------------------------------------------------------

def reflect_shape(engine: sa.Engine, table: str, schema: str | None = None, *, label: str = "") -> TableShape:
    """The shape of ``table`` as the database declares it (reflection only)."""
    dialect = for_engine(engine)
    check_reachable(engine)
    where = f"{schema}.{table}" if schema else table
    try:
        insp = sa.inspect(engine)
        if not insp.has_table(table, schema=schema):
            raise SchemaError(f"table {where!r} not found in the {label or 'database'} {engine_name(engine)}")
        cols = insp.get_columns(table, schema=schema)
        default_charset = dialect.table_charset(insp, table, schema)
        pk = insp.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
        uniques = [list(u.get("column_names") or []) for u in insp.get_unique_constraints(table, schema=schema)]
        uniques += [[c for c in ix.get("column_names") or [] if c is not None]
                    for ix in insp.get_indexes(table, schema=schema) if ix.get("unique")]
    except sa.exc.DBAPIError as exc:
        raise SyncverifyError(f"cannot read the {label or 'table'} {where!r}: "
                              f"{mask_text(str(exc.orig).splitlines()[0])}") from None
    shape = TableShape(table, dialect.name, primary_key=list(pk), unique_keys=[u for u in uniques if u])
    for c in cols:
        ctype = dialect.describe_type(c["type"], dialect.column_charset(c) or default_charset)
        shape.columns[c["name"]] = ColumnShape(c["name"], ctype, bool(c.get("nullable", True)))
    return shape


# ---- a DDL file -----------------------------------------------------------------------------------

def parse_ddl(text: str, dialect: Dialect) -> dict[str, TableShape]:
    """Every ``CREATE TABLE`` of a DDL text, read as ``dialect``'s database reads it; keyed by the
    table's name (lower case; without its schema). Other statements are skipped."""
    try:
        statements = sqlglot.parse(dialect.prepare_ddl(text), read=dialect.sqlglot_dialect or None)
    except (ParseError, TokenError) as exc:
        raise SyncverifyError(f"cannot read the DDL as {dialect.name}: {str(exc).splitlines()[0]}") from None
    out: dict[str, TableShape] = {}
    later: list[Any] = []
    for stmt in statements:
        kind = str(stmt.args.get("kind") or "").upper() if stmt is not None else ""
        if isinstance(stmt, exp.Create) and kind == "TABLE":
            schema = stmt.this
            if isinstance(schema, exp.Schema) and isinstance(schema.this, exp.Table):
                shape = _ddl_table(schema, stmt, dialect)
                out[shape.table.lower()] = shape
        elif stmt is not None:
            later.append(stmt)
    for stmt in later:          # keys declared after the tables (ALTER TABLE ADD, CREATE UNIQUE INDEX)
        _later_key(stmt, out)
    return out


def _later_key(stmt: exp.Expression, tables: dict[str, TableShape]) -> None:
    if isinstance(stmt, exp.Create) and isinstance(stmt.this, exp.Index) and stmt.args.get("unique"):
        table = stmt.this.args.get("table")
        params = stmt.this.args.get("params")
        shape = tables.get(table.name.lower()) if isinstance(table, exp.Table) else None
        cols = [o.this.name if isinstance(o, exp.Ordered) else o.name
                for o in (params.args.get("columns") or [] if params is not None else [])]
        if shape is not None and cols:
            shape.unique_keys.append(cols)
    elif isinstance(stmt, exp.Alter) and isinstance(stmt.this, exp.Table):
        shape = tables.get(stmt.this.name.lower())
        if shape is None:
            return
        for action in stmt.args.get("actions") or []:
            for constraint in action.expressions if isinstance(action, exp.AddConstraint) else []:
                _table_constraint(constraint, shape)
        for name in shape.primary_key:
            col = shape.columns.get(name)
            if col is not None and col.nullable:
                shape.columns[name] = ColumnShape(col.name, col.type, False)


def _ddl_table(schema: exp.Schema, stmt: exp.Create, dialect: Dialect) -> TableShape:
    table = schema.this.name
    table_charset = None
    for prop in (stmt.args.get("properties") or exp.Properties(expressions=[])).expressions:
        if isinstance(prop, exp.CharacterSetProperty):
            table_charset = prop.this.name
    shape = TableShape(table, dialect.name)
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            kinds = [c.kind for c in item.constraints]
            charset = next((k.this.name for k in kinds if isinstance(k, exp.CharacterSetColumnConstraint)), None)
            dtype = item.args.get("kind")
            if dtype is None:
                continue
            ctype = dialect.describe_ddl_type(dtype, charset or table_charset)
            not_null = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null")
                           for k in kinds)
            primary = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds)
            if primary:
                shape.primary_key.append(item.name)
            if any(isinstance(k, exp.UniqueColumnConstraint) for k in kinds):
                shape.unique_keys.append([item.name])
            shape.columns[item.name] = ColumnShape(item.name, ctype, not (not_null or primary))
        else:
            _table_constraint(item, shape)
    for name in shape.primary_key:
        col = shape.columns.get(name)
        if col is not None and col.nullable:
            shape.columns[name] = ColumnShape(col.name, col.type, False)
    return shape


def _table_constraint(item: exp.Expression, shape: TableShape) -> None:
    """``PRIMARY KEY (...)``, ``UNIQUE [KEY name] (...)``, ``CONSTRAINT c PRIMARY KEY / UNIQUE (...)``."""
    parts = item.expressions if isinstance(item, exp.Constraint) else [item]
    for part in parts:
        if isinstance(part, exp.PrimaryKey):
            shape.primary_key = [_col_name(e) for e in part.expressions]
        elif isinstance(part, exp.UniqueColumnConstraint):
            target = part.this
            cols = target.expressions if isinstance(target, exp.Schema) else []
            names = [_col_name(e) for e in cols]
            if names:
                shape.unique_keys.append(names)


def _col_name(e: exp.Expression) -> str:
    return e.name if e.name else e.sql()
