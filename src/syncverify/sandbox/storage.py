"""Where the sandbox world is stored: one SQLite file per node, or databases on real servers.

Backend ``sqlite`` (default): ``<world>/<node id, '.' -> '_'>.sqlite``.
Backend ``services``: a database ``<db_prefix><node id, '.' -> '_'>`` (prefix ``svw_``) per node on
the server of the node's kind — PostgreSQL for ``postgresql`` nodes, MariaDB for ``mysql`` nodes;
Kafka nodes are kept as message tables, HQ clusters in PostgreSQL and the province's in MariaDB.

Database nodes get the :mod:`.schema` tables they hold (a copy written without its primary key
where a duplicate fault needs it). Kafka nodes get one message table per topic (the table's
columns plus ``_partition``, ``_offset``, ``_ts``) and ``_consumer_offsets``.

Bulk loading: ``executemany`` in one transaction for SQLite, multi-row INSERTs (pymysql's
``executemany`` rewrite) for MariaDB, ``COPY ... FROM STDIN`` for PostgreSQL.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Node, NodeKind
from syncverify.dialects import alike_everywhere
from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.masking import mask_url
from syncverify.sandbox.schema import TABLES

BACKENDS = ("sqlite", "services")
DEFAULT_DB_PREFIX = "svw_"
DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_MARIADB = "mysql+pymysql://root@127.0.0.1:3306/mysql?charset=utf8mb4"
OFFSETS_TABLE = "_consumer_offsets"
MESSAGE_COLUMNS = ("_partition", "_offset", "_ts")
_CHUNK = 5_000


class StorageError(SyncverifyError):
    """The world cannot be written (bad backend, unreachable server, bad database prefix)."""


def file_stem(node_id: str) -> str:
    return node_id.replace(".", "_")


def table_for(name: str, *, physical: str | None = None, primary_key: bool = True,
              messages: bool = False, metadata: sa.MetaData | None = None) -> sa.Table:
    """A :mod:`.schema` table under another name, optionally without its primary key or with the
    Kafka message columns (message tables never have a primary key: a topic may repeat a key)."""
    src = TABLES[name]
    md = metadata or sa.MetaData()
    cols = [sa.Column(c.name, alike_everywhere(c.type), nullable=c.nullable,
                      primary_key=bool(c.primary_key and primary_key and not messages),
                      autoincrement=False)
            for c in src.columns]
    if messages:
        cols += [sa.Column("_partition", sa.Integer, nullable=False),
                 sa.Column("_offset", sa.BigInteger, nullable=False),
                 sa.Column("_ts", alike_everywhere(sa.DateTime()), nullable=False)]
    args: list[Any] = list(cols)
    if messages:
        args.append(sa.Index(f"ix_{physical or name}_key", *[c.name for c in src.primary_key.columns]))
        args.append(sa.Index(f"ix_{physical or name}_po", "_partition", "_offset"))
    elif not primary_key:
        args.append(sa.Index(f"ix_{physical or name}_key", *[c.name for c in src.primary_key.columns]))
    return sa.Table(physical or name, md, *args)


def offsets_table(metadata: sa.MetaData | None = None) -> sa.Table:
    return sa.Table(OFFSETS_TABLE, metadata or sa.MetaData(),
                    sa.Column("group_id", sa.String(100), primary_key=True),
                    sa.Column("topic", sa.String(128), primary_key=True),
                    sa.Column("partition", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("committed_offset", sa.BigInteger, nullable=False))


def _server_kind(node: Node) -> str:
    if node.kind is NodeKind.KAFKA:
        return "postgresql" if node.side.value == "hq" else "mysql"
    if node.kind in (NodeKind.POSTGRESQL, NodeKind.MYSQL):
        return node.kind.value
    raise StorageError(f"node {node.id!r} has kind {node.kind.value!r}; the services backend holds "
                       "postgresql, mysql and kafka nodes")


class Backend:
    """Creates the node databases and loads rows into them."""

    name = "base"

    def url(self, node: Node) -> str:
        raise NotImplementedError

    def reset(self, node: Node) -> None:
        raise NotImplementedError

    def engine(self, node: Node) -> sa.Engine:
        return sa.create_engine(self.url(node))

    def dispose(self) -> None:
        """Release server connections held by the backend."""


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, world_dir: Path) -> None:
        self.dir = world_dir

    def path(self, node: Node) -> Path:
        return self.dir / f"{file_stem(node.id)}.sqlite"

    def url(self, node: Node) -> str:
        return f"sqlite:///{self.path(node).resolve()}"

    def reset(self, node: Node) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(str(self.path(node)) + suffix).unlink(missing_ok=True)


class ServicesBackend(Backend):
    name = "services"

    def __init__(self, *, postgres_url: str = DEFAULT_POSTGRES, mariadb_url: str = DEFAULT_MARIADB,
                 db_prefix: str = DEFAULT_DB_PREFIX) -> None:
        if not db_prefix.replace("_", "").isalnum() or not db_prefix[0].isalpha():
            raise StorageError(f"database prefix {db_prefix!r} must be letters, digits and '_'")
        self.prefix = db_prefix.lower()
        self.admin_urls = {"postgresql": sa.engine.make_url(postgres_url),
                           "mysql": sa.engine.make_url(mariadb_url)}
        self._admins: dict[str, sa.Engine] = {}

    def database(self, node: Node) -> str:
        return f"{self.prefix}{file_stem(node.id)}"

    def url(self, node: Node) -> str:
        url = self.admin_urls[_server_kind(node)].set(database=self.database(node))
        return url.render_as_string(hide_password=False)

    def _admin(self, kind: str) -> sa.Engine:
        if kind not in self._admins:
            engine = sa.create_engine(self.admin_urls[kind], isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            except Exception as exc:
                engine.dispose()
                raise UnreachableError(f"{kind} server {mask_url(str(self.admin_urls[kind]))} is not reachable: "
                                       f"{str(exc).splitlines()[0]}") from None
            self._admins[kind] = engine
        return self._admins[kind]

    def check(self) -> None:
        """Fail early, before generating anything, when a server is not reachable."""
        for kind in self.admin_urls:
            self._admin(kind)

    def reset(self, node: Node) -> None:
        kind, name = _server_kind(node), self.database(node)
        with self._admin(kind).connect() as conn:
            if kind == "postgresql":
                exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
                if not exists:
                    conn.execute(sa.text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
                    return
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        if kind == "postgresql":
            # Re-building: emptying the schema is much faster than DROP / CREATE DATABASE.
            engine = sa.create_engine(self.url(node), isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as db:
                    db.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                    db.execute(sa.text("CREATE SCHEMA public"))
            finally:
                engine.dispose()
            return
        with self._admin(kind).connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
            conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))

    def drop(self, nodes: Iterable[Node]) -> None:
        """Drop the node databases (tests clean up with this)."""
        for node in nodes:
            kind, name = _server_kind(node), self.database(node)
            with self._admin(kind).connect() as conn:
                if kind == "postgresql":
                    conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                else:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))

    def dispose(self) -> None:
        for engine in self._admins.values():
            engine.dispose()
        self._admins.clear()


# ---------------------------------------------------------------------------- loading rows

def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime | date | Decimal):
        return str(v)            # '2026-10-09 09:41:07', '2026-10-09', '1432.31'
    return v


def _csv_field(v: Any) -> str:
    # NULL is an unquoted empty field; every text is quoted, so '' stays an empty string.
    if v is None:
        return ""
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    return str(v)


def _tsv_field(v: Any) -> str:
    # LOAD DATA's default escapes: \N is NULL, an empty field is ''.
    if v is None:
        return "\\N"
    if isinstance(v, str):
        return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(v)


class RowCache:
    """Converted rows by identity: the copies of one build share their row tuples (a row that
    crosses ten hops unchanged is one object), so each is converted for the driver once."""

    def __init__(self) -> None:
        self.sqlite: dict[int, tuple[Any, ...]] = {}
        self.csv: dict[int, str] = {}
        self.tsv: dict[int, str] = {}
        self._keep: list[Any] = []   # ids stay valid only while the rows are alive

    def for_sqlite(self, row: Sequence[Any]) -> tuple[Any, ...]:
        found = self.sqlite.get(id(row))
        if found is None:
            found = self.sqlite[id(row)] = tuple(_sqlite_value(v) for v in row)
            self._keep.append(row)
        return found

    def for_tsv(self, row: Sequence[Any]) -> str:
        found = self.tsv.get(id(row))
        if found is None:
            found = self.tsv[id(row)] = "\t".join(_tsv_field(v) for v in row)
            self._keep.append(row)
        return found

    def for_csv(self, row: Sequence[Any]) -> str:
        found = self.csv.get(id(row))
        if found is None:
            found = self.csv[id(row)] = ",".join(_csv_field(v) for v in row)
            self._keep.append(row)
        return found


def bulk_insert(conn: sa.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                suffixes: Sequence[Sequence[Any]] | None = None, cache: RowCache | None = None) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) fast, inside the connection's transaction.

    ``suffixes``: per-row values appended to each row (the message columns of a topic).
    """
    if not rows:
        return
    cache = cache or RowCache()
    dialect = conn.dialect.name
    quote = conn.dialect.identifier_preparer.quote
    col_sql = ", ".join(quote(c) for c in columns)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        if dialect == "postgresql":
            # A generated world: no need to wait for each commit's WAL flush.
            cur.execute("SET LOCAL synchronous_commit = off")
            for i in range(0, len(rows), 50_000):
                part = rows[i:i + 50_000]
                if suffixes is None:
                    lines = [cache.for_csv(r) + "\n" for r in part]
                else:
                    lines = [cache.for_csv(r) + "," + ",".join(_csv_field(v) for v in sfx) + "\n"
                             for r, sfx in zip(part, suffixes[i:i + 50_000], strict=True)]
                buf = io.StringIO("".join(lines))
                cur.copy_expert(f"COPY {quote(table)} ({col_sql}) FROM STDIN WITH (FORMAT csv)", buf)
        elif dialect == "sqlite":
            sql = f"INSERT INTO {quote(table)} ({col_sql}) VALUES ({', '.join('?' * len(columns))})"
            for i in range(0, len(rows), 50_000):
                part = rows[i:i + 50_000]
                if suffixes is None:
                    cur.executemany(sql, [cache.for_sqlite(r) for r in part])
                else:
                    cur.executemany(sql, [cache.for_sqlite(r) + tuple(_sqlite_value(v) for v in sfx)
                                          for r, sfx in zip(part, suffixes[i:i + 50_000], strict=True)])
        elif getattr(raw, "_local_infile", False):
            # MariaDB with LOAD DATA LOCAL allowed (the loader's engines ask for it): a TSV file.
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".tsv", delete=False) as fh:
                if suffixes is None:
                    fh.writelines(cache.for_tsv(r) + "\n" for r in rows)
                else:
                    fh.writelines(cache.for_tsv(r) + "\t" + "\t".join(_tsv_field(v) for v in sfx) + "\n"
                                  for r, sfx in zip(rows, suffixes, strict=True))
            try:
                cur.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote(table)} CHARACTER SET utf8mb4 "
                            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({col_sql})",
                            (fh.name,))
            finally:
                os.unlink(fh.name)
        else:
            # pymysql turns executemany of INSERT ... VALUES into multi-row INSERT statements.
            sql = f"INSERT INTO {quote(table)} ({col_sql}) VALUES ({', '.join(['%s'] * len(columns))})"
            full = list(rows) if suffixes is None else [tuple(r) + tuple(s) for r, s in zip(rows, suffixes, strict=True)]
            for i in range(0, len(full), _CHUNK):
                cur.executemany(sql, full[i:i + _CHUNK])
    finally:
        cur.close()


def make_backend(backend: str, world_dir: Path, **options: Any) -> Backend:
    if backend == "sqlite":
        if options:
            raise StorageError(f"the sqlite backend takes no options, got {sorted(options)}")
        return SQLiteBackend(world_dir)
    if backend == "services":
        return ServicesBackend(**options)
    raise StorageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def open_engine(url: str) -> sa.Engine:
    """A writable engine for loading a node (SQLite: no fsync while loading a generated world)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() in {"mysql", "mariadb"} and parsed.get_driver_name() == "pymysql":
        # LOAD DATA LOCAL for bulk loads (the server must allow it; else multi-row INSERTs).
        parsed = parsed.update_query_dict({"local_infile": "1"})
    engine = sa.create_engine(parsed)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA synchronous = OFF")
            # A big page cache keeps the primary-key B-trees in memory while 100,000 rows go in.
            dbapi_conn.execute("PRAGMA cache_size = -262144")
            # WAL: rows landing late (land_in_flight) are written while the verifier reads.
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            dbapi_conn.execute("PRAGMA busy_timeout = 60000")
    return engine
