"""Compare the shapes of a source and a target copy: per-column findings graded by consequence.

The severity says what the difference does to the data the link carries (docs/schema.md):

=============================================================== ========
finding                                                         severity
=============================================================== ========
a compared column missing on the target (or on the source)     error
type family mismatch (text against integer, date against text) error
target narrower: text length, integer range, decimal integer   error
digits or scale, float bits, fractional seconds, binary length,
character set with fewer bytes per character
target NOT NULL where the source is nullable (NULL writes fail) error
target unique on columns the source does not hold unique       error
(duplicates there are refused)
an extra column on the target                                  warning
time-zone awareness differs; key of the source not unique on   warning
the target (duplicates can land); a type the check cannot
read (``other``) spelled differently
target nullable where the source is NOT NULL (looser)          info
target wider than the source                                   info
=============================================================== ========

Integers and decimals are both exact numbers: they compare by capacity (a BIGINT target holds
a ``NUMBER(18)`` source, not a ``NUMBER(19)`` one), and a date fits a timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from syncverify.dialects import ColumnType, Dialect, TypeFamily
from syncverify.shapes.table import ColumnShape, TableShape


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One difference of one column (or of the table's keys)."""

    column: str                   # the source's column name ("*" for table-level findings)
    what: str                     # missing, extra, family, length, precision, scale, ...
    source: Any
    target: Any
    severity: Severity
    target_column: str | None = None   # the target's name where the link renames the column

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["severity"] = self.severity.value
        if self.target_column in (None, self.column):
            out.pop("target_column")
        return out


_EXACT = {TypeFamily.INTEGER, TypeFamily.DECIMAL}


def compatible_families(source: TypeFamily, target: TypeFamily) -> bool:
    """Whether values of ``source``'s family can be compared with (and stored as) ``target``'s."""
    return source == target or {source, target} <= _EXACT or (source, target) == (TypeFamily.DATE,
                                                                                  TypeFamily.TIMESTAMP)


def _bigger(a: float | None, b: float | None) -> bool:
    """``a`` > ``b`` where None is unbounded."""
    if a is None:
        return b is not None
    return b is not None and a > b


def type_findings(name: str, s: ColumnType, t: ColumnType) -> list[tuple[str, Any, Any, Severity]]:
    """(what, source, target, severity) for every dimension in which the target differs."""
    if not compatible_families(s.family, t.family):
        return [("family", f"{s.family.value} {s.declared}".strip(), f"{t.family.value} {t.declared}".strip(),
                 Severity.ERROR)]
    out: list[tuple[str, Any, Any, Severity]] = []

    def dim(what: str, sv: float | None, tv: float | None, shown: tuple[Any, Any] | None = None) -> None:
        if sv == tv:
            return
        shown = shown or (sv, tv)
        if _bigger(sv, tv):
            out.append((what, shown[0], shown[1], Severity.ERROR))
        else:
            out.append((what, shown[0], shown[1], Severity.INFO))

    f = s.family
    if f in _EXACT or t.family in _EXACT:
        inf = float("inf")
        si, ti = s.integer_digits(), t.integer_digits()
        if si != ti:
            dim("precision", None if si == inf else si, None if ti == inf else ti,
                (s.declared or s.precision, t.declared or t.precision))
        sf, tf = s.fraction_digits(), t.fraction_digits()
        if sf != tf:
            dim("scale", None if sf == inf else sf, None if tf == inf else tf, (s.scale, t.scale))
        if not s.unsigned and t.unsigned:
            out.append(("signedness", s.declared, t.declared, Severity.ERROR))
    elif f is TypeFamily.TEXT:
        need, have = s.chars_possible(), t.chars_guaranteed()
        if need != have:
            dim("length", need, have, (_length(s), _length(t)))
        if s.charset_bytes and t.charset_bytes and s.charset_bytes != t.charset_bytes:
            dim("charset", s.charset_bytes, t.charset_bytes, (s.charset, t.charset))
    elif f is TypeFamily.BINARY:
        dim("length", s.length, t.length)
    elif f is TypeFamily.FLOAT:
        dim("precision", s.precision, t.precision, (s.declared or s.precision, t.declared or t.precision))
    elif f in (TypeFamily.TIMESTAMP, TypeFamily.TIME):
        if t.family is f:
            dim("timestamp_precision", s.timestamp_precision, t.timestamp_precision)
            if s.timezone != t.timezone:
                out.append(("timezone", s.timezone, t.timezone, Severity.WARNING))
    elif f is TypeFamily.OTHER and s.declared.lower() != t.declared.lower():
        out.append(("type", s.declared, t.declared, Severity.WARNING))
    return out


def _length(c: ColumnType) -> str | None:
    if c.length is None:
        return None
    return f"{c.length} {'bytes' if c.length_unit == 'byte' else 'chars'}"


def expected_columns(source: TableShape, columns: Sequence[str] | None, exclude: Sequence[str]) -> list[str]:
    """The compared columns: the catalog's list, else every source column (a column dropped on
    the target is then a finding, not silently left out), without the excluded ones."""
    names = list(columns) if columns else list(source.columns)
    excluded = {c.lower() for c in exclude}
    return [c for c in names if c.lower() not in excluded]


def compare_shapes(source: TableShape, target: TableShape, *, key: Sequence[str] = (),
                   columns: Sequence[str] | None = None, exclude: Sequence[str] = (),
                   column_map: dict[str, str] | None = None) -> list[Finding]:
    """Every finding of the target against the source for the catalog's table definition."""
    column_map = column_map or {}
    wanted = list(dict.fromkeys([*key, *expected_columns(source, columns, exclude)]))
    out: list[Finding] = []
    seen_target: set[str] = set()
    for name in wanted:
        s = source.column(name)
        tname = column_map.get(name, name)
        t = target.column(tname)
        if t is not None:
            seen_target.add(t.name.lower())
        if s is None:
            out.append(Finding(name, "missing_on_source", None, t.type.declared if t else None, Severity.ERROR, tname))
            continue
        if t is None:
            out.append(Finding(name, "missing", s.type.declared, None, Severity.ERROR, tname))
            continue
        for what, sv, tv, sev in type_findings(name, s.type, t.type):
            out.append(Finding(name, what, sv, tv, sev, t.name))
        if s.nullable != t.nullable:
            if t.nullable:
                out.append(Finding(name, "nullable", "NOT NULL", "NULL", Severity.INFO, t.name))
            else:
                out.append(Finding(name, "nullable", "NULL", "NOT NULL", Severity.ERROR, t.name))
    mapped_source = {column_map.get(c, c).lower() for c in source.columns}
    excluded = {c.lower() for c in exclude}
    for t in target.columns.values():
        low = t.name.lower()
        if low not in seen_target and low not in mapped_source and low not in excluded:
            out.append(Finding(t.name, "extra", None, t.type.declared, Severity.WARNING))
    out += _key_findings(source, target, key, column_map)
    return out


def _key_findings(source: TableShape, target: TableShape, key: Sequence[str],
                  column_map: dict[str, str]) -> list[Finding]:
    def mapped(cols: frozenset[str]) -> frozenset[str]:
        lowered = {k.lower(): v.lower() for k, v in column_map.items()}
        return frozenset(lowered.get(c, c) for c in cols)

    # The catalog's key is unique at the source by contract (the diff reports duplicates there),
    # also where the source declares no key (a DDL file that creates its indexes elsewhere).
    declared_key = frozenset(k.lower() for k in key)
    s_keys = [mapped(k) for k in source.unique_sets()] + ([mapped(declared_key)] if declared_key else [])
    t_keys = target.unique_sets()
    out: list[Finding] = []
    for tk in t_keys:
        # The target refuses duplicates on tk: fine when the source guarantees a subset unique.
        if not any(sk <= tk for sk in s_keys):
            out.append(Finding("*", "unique_key", None, sorted(tk), Severity.ERROR))
    want = mapped(declared_key) if key else (s_keys[0] if s_keys else None)
    if want and not any(tk <= want for tk in t_keys):
        out.append(Finding("*", "key_not_unique", sorted(want), None, Severity.WARNING))
    if source.primary_key and target.primary_key and mapped(frozenset(c.lower() for c in source.primary_key)) != \
            frozenset(c.lower() for c in target.primary_key):
        out.append(Finding("*", "primary_key", list(source.primary_key), list(target.primary_key), Severity.WARNING))
    return out


# ---- the DDL that aligns the target ----------------------------------------------------------------

def widened(s: ColumnType, t: ColumnType) -> ColumnType:
    """A type for the target that holds every value of ``s`` and every value ``t`` holds now."""
    if not compatible_families(s.family, t.family):
        return s
    if s.family in _EXACT or t.family in _EXACT:
        digits = max(s.integer_digits(), t.integer_digits())
        frac = max(s.fraction_digits(), t.fraction_digits())
        if frac == 0 and s.family is TypeFamily.INTEGER and t.family is TypeFamily.INTEGER:
            return replace(t, precision=max(s.precision or 63, t.precision or 63), unsigned=s.unsigned and t.unsigned)
        if digits == float("inf") or frac == float("inf"):
            return ColumnType(TypeFamily.DECIMAL, declared=t.declared)
        whole = int(-(-digits // 1))
        return ColumnType(TypeFamily.DECIMAL, precision=whole + int(frac), scale=int(frac), declared=t.declared)

    def most(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else max(a, b)

    if s.family is TypeFamily.TEXT:
        length = most(s.chars_possible(), t.chars_guaranteed())
        wider_charset = s.charset if (s.charset_bytes or 0) > (t.charset_bytes or 0) else t.charset
        return replace(t, length=length, length_unit="char", charset=wider_charset,
                       charset_bytes=max(s.charset_bytes or 0, t.charset_bytes or 0) or None)
    if s.family is TypeFamily.BINARY:
        return replace(t, length=most(s.length, t.length))
    if s.family is TypeFamily.FLOAT:
        return replace(t, precision=max(s.precision or 53, t.precision or 53))
    if s.family in (TypeFamily.TIMESTAMP, TypeFamily.TIME, TypeFamily.DATE):
        family = TypeFamily.TIMESTAMP if TypeFamily.TIMESTAMP in (s.family, t.family) else s.family
        return replace(t, family=family, timestamp_precision=max(s.timestamp_precision or 0,
                                                                 t.timestamp_precision or 0))
    return t


def align_ddl(findings: Sequence[Finding], source: TableShape, target: TableShape, dialect: Dialect,
              table_sql: str) -> list[str]:
    """Statements in the target's dialect that clear the errors: missing columns added,
    narrower types widened, a NOT NULL the source does not keep dropped. Extra columns and
    unique keys are left to people (dropping them could lose data or break the application)."""
    by_column: dict[str, list[Finding]] = {}
    for f in findings:
        if f.severity is Severity.ERROR and f.column != "*":
            by_column.setdefault(f.column, []).append(f)
    out: list[str] = []
    for name, found in by_column.items():
        s = source.column(name)
        if s is None:
            continue
        tname = found[0].target_column or name
        t = target.column(tname)
        try:
            if t is None:
                out.append(dialect.add_column(table_sql, tname, s.type))
                continue
            retype = any(f.what != "nullable" for f in found)
            renull = any(f.what == "nullable" for f in found)
            ctype = widened(s.type, t.type) if retype else t.type
            nullable = True if renull else t.nullable
            out += dialect.alter_column(table_sql, t.name, ctype, nullable, retype=retype, renull=renull,
                                        family_changed=not compatible_families(s.type.family, t.type.family))
        except NotImplementedError as exc:
            out.append(f"-- {exc}")
    return out


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {sev.value: sum(f.severity is sev for f in findings) for sev in Severity}


__all__ = ["ColumnShape", "Finding", "Severity", "align_ddl", "compare_shapes", "compatible_families", "counts",
           "expected_columns", "type_findings", "widened"]
