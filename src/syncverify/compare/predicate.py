"""Free SQL predicates (``--where``, ``--source-where``, ``--target-where``, table predicates):
parsed, checked against an allow-list and rendered back, never spliced as written.

A predicate goes into the WHERE clause of the verifier's queries. Scanning its text for bad
words cannot work: the scanner and the server disagree about where literals end (PostgreSQL's
dollar quotes, MySQL's backslash escapes inside double quotes) and any word list misses
functions (``pg_sleep_for``, ``GET_LOCK``). So the text is read by sqlglot with the dialect of
the database it will run on, into a tree; every node must be on the allow-list below; and the
SQL sent is what sqlglot writes from that tree for that dialect, with literals and identifiers
quoted by the writer. The written SQL must read back to a tree that passes the same checks and
writes the same text again (a fixed point), so what the server parses is what was checked.

Allowed: one boolean expression over the table's own columns (no table qualifiers): comparisons,
AND/OR/NOT, IN with a list of literals, BETWEEN, LIKE/ILIKE (ESCAPE), IS [NOT] NULL/TRUE/FALSE,
CASE, arithmetic, literals (strings, numbers, booleans, NULL, DATE/TIMESTAMP literals), CAST to
plain types, parentheses and the pure functions of :data:`FUNCTIONS`. Everything else is refused
with one line naming it: several statements, ``;``, comments, subqueries, other functions,
variables and placeholders, other tables.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError
from sqlglot.tokens import TokenType

from syncverify.dialects import Dialect
from syncverify.errors import IdentifierError, PredicateError

# sqlglot logs what it cannot write for a dialect; the refusal says it in one line instead, and
# a command line must print nothing else on stderr.
logging.getLogger("sqlglot").addHandler(logging.NullHandler())

MAX_LENGTH = 4000
MAX_NODES = 2000

# Pure functions (no side effects, no I/O, no session state), by sqlglot node.
FUNCTIONS: dict[type[exp.Expr], str] = {
    exp.Substring: "SUBSTRING/SUBSTR", exp.Left: "LEFT", exp.Right: "RIGHT", exp.Upper: "UPPER",
    exp.Lower: "LOWER", exp.Trim: "TRIM/LTRIM/RTRIM", exp.Length: "LENGTH/CHAR_LENGTH",
    exp.Coalesce: "COALESCE", exp.Extract: "EXTRACT", exp.Year: "YEAR", exp.Month: "MONTH", exp.Day: "DAY",
    exp.Date: "DATE", exp.TsOrDsToDate: "DATE", exp.Timestamp: "TIMESTAMP",
}
_OPERATORS: frozenset[type[exp.Expr]] = frozenset({
    exp.And, exp.Or, exp.Not, exp.Paren, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Escape,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv, exp.Neg, exp.Case, exp.If, exp.Cast,
})
_LEAVES: frozenset[type[exp.Expr]] = frozenset({exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null})
# What the whole predicate may be (inside parentheses): something true, false or NULL.
_BOOLEAN: frozenset[type[exp.Expr]] = frozenset({
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
    exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Escape, exp.Boolean,
    exp.Column, exp.Case,
})
_UNITS = frozenset({"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOW", "DOY", "HOUR", "MINUTE", "SECOND"})
_TYPES = frozenset(t for t in (getattr(exp.DataType.Type, n, None) for n in (
    "CHAR", "NCHAR", "VARCHAR", "NVARCHAR", "TEXT", "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT",
    "UTINYINT", "USMALLINT", "UMEDIUMINT", "UINT", "UBIGINT", "DECIMAL", "UDECIMAL", "FLOAT", "DOUBLE",
    "BOOLEAN", "DATE", "DATETIME", "TIMESTAMP", "TIMESTAMPTZ", "TIME")) if t is not None)
# Tokens that start or belong to statements (sqlglot's COMMAND: CALL, DO, LOCK, VACUUM, ...).
_STATEMENT_WORDS = frozenset(getattr(TokenType, n) for n in (
    "DELETE", "INSERT", "UPDATE", "MERGE", "DROP", "CREATE", "ALTER", "TRUNCATE", "GRANT", "REVOKE", "COMMIT",
    "ROLLBACK", "BEGIN", "INTO", "COMMAND", "USE", "SET", "EXECUTE", "LOAD", "COPY", "PRAGMA", "DECLARE")
    if hasattr(TokenType, n))
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_READABLE = {exp.DPipe: "operator ||", exp.BitwiseXor: "operator ^ (#)", exp.ByteString: "E'...' string",
             exp.RawString: "dollar-quoted string", exp.National: "N'...' string", exp.HexString: "hex literal",
             exp.BitString: "bit-string literal", exp.Star: "*", exp.Interval: "INTERVAL"}
_CLASS_REPR = re.compile(r"<class 'sqlglot\.expressions\.[\w.]*?(\w+)'>")
# SQLAlchemy's text() takes ':name' as a bind parameter, even inside a literal.
_TEXT_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)", re.UNICODE)


@dataclass(frozen=True)
class CheckedPredicate:
    """A predicate that passed: its tree and the SQL written from it for one dialect."""

    sql: str            # as the server must read it
    tree: exp.Expr

    @property
    def text_sql(self) -> str:
        """``sql`` for ``sqlalchemy.text()``: colons that text() would bind are escaped."""
        return _TEXT_BIND.sub(r"\\:\1", self.sql)


def _refuse(label: str, what: str) -> PredicateError:
    return PredicateError(f"{label}: {' '.join(what.split())}")


def _tokens(text: str, dialect: sqlglot.Dialect, label: str) -> None:
    """Refuse ';' and comments, which the parser would otherwise drop or attach silently, and
    name statement keywords and unbalanced parentheses (clearer than the parser's message)."""
    try:
        tokens = dialect.tokenize(text)
    except TokenError:
        raise _refuse(label, "cannot be read: unbalanced quote or unterminated comment") from None
    depth, unbalanced = 0, False
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            raise _refuse(label, "';' is not allowed (one boolean expression only)")
        if token.comments:
            raise _refuse(label, "comments are not allowed")
        if token.token_type in _STATEMENT_WORDS:
            raise _refuse(label, f"keyword {token.text.split()[0].upper()[:30]} is not allowed in a predicate")
        depth += (token.token_type is TokenType.L_PAREN) - (token.token_type is TokenType.R_PAREN)
        unbalanced = unbalanced or depth < 0
    if unbalanced or depth:                 # named after ';', comments and keywords, which matter more
        raise _refuse(label, "unbalanced parentheses")


def _parse(text: str, dialect: sqlglot.Dialect, label: str) -> exp.Expr:
    _tokens(text, dialect, label)
    try:
        trees = dialect.parse_into(exp.Condition, text)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        near = str(first.get("highlight") or "").strip()
        reason = _CLASS_REPR.sub(lambda m: m.group(1).upper(), str(first.get("description", "syntax error")))
        raise _refuse(label, f"not one boolean expression ({reason}"
                             + (f" near {near[:40]!r})" if near else ")")) from None
    except RecursionError:
        raise _refuse(label, "nested too deeply") from None
    except SqlglotError as exc:
        raise _refuse(label, f"not one boolean expression ({str(exc).splitlines()[0][:80]})") from None
    if len(trees) != 1 or trees[0] is None:
        raise _refuse(label, "one boolean expression only")
    return trees[0]


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    if isinstance(node, exp.Func):
        return node.sql_name()
    return _READABLE.get(type(node), type(node).__name__.upper())


def _literal(node: exp.Expr) -> bool:
    """A constant an IN list may hold: a literal, a negative number or a typed literal."""
    if isinstance(node, exp.Neg | exp.Cast):
        return isinstance(node.this, exp.Literal)
    return type(node) in (exp.Literal, exp.Boolean, exp.Null)


def _check_node(node: exp.Expr, label: str, dialect: Dialect) -> None:
    kind = type(node)
    parent = node.parent
    if kind is exp.Column:
        if any(node.args.get(part) for part in ("table", "db", "catalog")):
            raise _refuse(label, f"column {node.sql()[:60]!r} names a table: only the table's own columns may be used")
        if not isinstance(node.this, exp.Identifier):
            raise _refuse(label, f"{_name(node.this)} is not allowed")
    elif kind is exp.Identifier:
        try:
            dialect.quote(node.name)
        except IdentifierError as exc:
            raise _refuse(label, str(exc)) from None
    elif kind is exp.In:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise _refuse(label, "subqueries are not allowed (IN takes a list of literals)")
        if not all(_literal(e) for e in node.expressions):
            raise _refuse(label, "IN lists may hold literals only")
    elif kind is exp.Is:
        if type(node.expression) not in (exp.Null, exp.Boolean):
            raise _refuse(label, "IS takes NULL, TRUE or FALSE only")
    elif kind is exp.Var:
        if not (isinstance(parent, exp.Extract) and node.arg_key == "this" and node.name.upper() in _UNITS):
            raise _refuse(label, f"{node.name[:40]!r} is not allowed (a variable or keyword outside EXTRACT)")
    elif kind is exp.DataType:
        if not isinstance(parent, exp.Cast | exp.DataType) or node.this not in _TYPES:
            raise _refuse(label, f"type {node.sql()[:40]!r} is not allowed")
    elif kind is exp.DataTypeParam:
        if not isinstance(parent, exp.DataType) or not isinstance(node.this, exp.Literal):
            raise _refuse(label, "type parameters must be numbers")
    elif kind in FUNCTIONS or kind in _OPERATORS or kind in _LEAVES:
        pass
    elif isinstance(node, exp.Subquery | exp.Query | exp.Exists):
        raise _refuse(label, "subqueries are not allowed")
    elif isinstance(node, exp.Placeholder | exp.Parameter | exp.SessionParameter):
        raise _refuse(label, "variables and placeholders are not allowed")
    elif isinstance(node, exp.Func):
        raise _refuse(label, f"function {_name(node)} is not allowed")
    else:
        snippet = node.sql()[:40]
        raise _refuse(label, f"{_name(node)} is not allowed" + (f" ({snippet!r})" if snippet else ""))


def _check_tree(tree: exp.Expr, label: str, dialect: Dialect) -> None:
    nodes = list(tree.walk())
    if len(nodes) > MAX_NODES:
        raise _refuse(label, f"more than {MAX_NODES} terms")
    for node in nodes:
        _check_node(node, label, dialect)
    root = tree.unnest()
    if type(root) not in _BOOLEAN:
        raise _refuse(label, f"not a boolean expression ({_name(root)})")


def _render(tree: exp.Expr, dialect: sqlglot.Dialect, label: str, name: str) -> str:
    try:
        return tree.sql(dialect=dialect, comments=False, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise _refuse(label, f"cannot be written for {name}: {str(exc).splitlines()[0][:80]}") from None


def check_predicate(sql: str | None, label: str = "predicate", dialect: Dialect | None = None) -> CheckedPredicate | None:
    """Parse, check and render ``sql`` for ``dialect``; None for no predicate.

    Raises :class:`~syncverify.errors.PredicateError` (one line, starting with ``label``) naming
    the refused construct. Without a dialect the text is read and written as generic SQL, which
    is only good for checking: SQL that runs must be rendered for its database's dialect.
    """
    if sql is None or not sql.strip():
        return None
    text = sql.strip()
    if len(text) > MAX_LENGTH:
        raise _refuse(label, f"longer than {MAX_LENGTH} characters")
    if "\x00" in text:
        raise _refuse(label, "NUL characters are not allowed")
    if dialect is None and "\\" in text:
        # MySQL reads a backslash in '...' as an escape, PostgreSQL as a character: without the
        # database, where a literal ends is not known.
        raise _refuse(label, "backslash escapes are ambiguous without the database's dialect")
    ours = dialect or Dialect()
    glot = sqlglot.Dialect.get_or_raise(ours.sqlglot_dialect)
    tree = _parse(text, glot, label)
    _check_tree(tree, label, ours)
    for ident in tree.find_all(exp.Identifier):
        if not ident.quoted and not _PLAIN_NAME.fullmatch(ident.name):
            ident.set("quoted", True)       # written as a quoted identifier, never as bare text
    rendered = _render(tree, glot, label, ours.name)
    # The server reads the rendered text: it must pass the same checks and be a fixed point.
    again = _parse(rendered, glot, label)
    _check_tree(again, label, ours)
    if _render(again, glot, label, ours.name) != rendered:
        raise _refuse(label, f"cannot be written faithfully for {ours.name}")
    return CheckedPredicate(rendered, again)


def validate_predicate(sql: str | None, label: str = "predicate", dialect: Dialect | None = None) -> str | None:
    """The predicate as SQL to place in ``sqlalchemy.text()`` for ``dialect`` (see
    :func:`check_predicate`), or None when there is none."""
    checked = check_predicate(sql, label, dialect)
    return None if checked is None else checked.text_sql
