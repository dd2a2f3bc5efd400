"""Where the sandbox world is stored: one SQLite file per node, or databases on real servers.

Backend ``sqlite`` (default): ``<world>/<node id, '.' -> '_'>.sqlite``.
Backend ``services``: a database ``<db_prefix><node id, '.' -> '_'>`` (prefix ``svw_``) per node on
the server of the node's kind — PostgreSQL for ``postgresql`` nodes, MariaDB for ``mysql`` nodes;
Kafka nodes are kept as message tables, HQ clusters in PostgreSQL and the province's in MariaDB.

Database nodes get the :mod:`.schema` tables they hold (a copy written without its primary key
where a duplicate fault needs it). Kafka nodes get one message table per topic (the table's
columns plus ``_partition``, ``_offset``, ``_ts``) and ``_consumer_offsets``.

Bulk loading and the databases' DDL are the dialects' (:mod:`syncverify.dialects.bulk`): the
storage names no database itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Node, NodeKind
from syncverify.dialects import Dialect, alike_everywhere, for_sa_dialect, for_url
from syncverify.dialects.bulk import RowCache as RowCache
from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.masking import mask_url
from syncverify.sandbox.schema import TABLES

BACKENDS = ("sqlite", "services")     # SQLiteBackend.name, ServicesBackend.name
DEFAULT_DB_PREFIX = "svw_"
DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_MARIADB = "mysql+pymysql://root@127.0.0.1:3306/mysql?charset=utf8mb4"
OFFSETS_TABLE = "_consumer_offsets"


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


def _server_kind(node: Node) -> NodeKind:
    if node.kind is NodeKind.KAFKA:
        return NodeKind.POSTGRESQL if node.side.value == "hq" else NodeKind.MYSQL
    if node.kind in (NodeKind.POSTGRESQL, NodeKind.MYSQL):
        return node.kind
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
        self.admin_urls = {NodeKind.POSTGRESQL: sa.engine.make_url(postgres_url),
                           NodeKind.MYSQL: sa.engine.make_url(mariadb_url)}
        self._admins: dict[NodeKind, sa.Engine] = {}

    def database(self, node: Node) -> str:
        return f"{self.prefix}{file_stem(node.id)}"

    def url(self, node: Node) -> str:
        url = self.admin_urls[_server_kind(node)].set(database=self.database(node))
        return url.render_as_string(hide_password=False)

    def _dialect(self, kind: NodeKind) -> Dialect:
        return for_url(self.admin_urls[kind])

    def _admin(self, kind: NodeKind) -> sa.Engine:
        if kind not in self._admins:
            engine = sa.create_engine(self.admin_urls[kind], isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            except Exception as exc:
                engine.dispose()
                raise UnreachableError(f"{kind.value} server {mask_url(str(self.admin_urls[kind]))} is not reachable: "
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
            self._dialect(kind).reset_database(conn, name, sa.engine.make_url(self.url(node)))

    def drop(self, nodes: Iterable[Node]) -> None:
        """Drop the node databases (tests clean up with this)."""
        for node in nodes:
            kind, name = _server_kind(node), self.database(node)
            with self._admin(kind).connect() as conn:
                self._dialect(kind).drop_database(conn, name)

    def dispose(self) -> None:
        for engine in self._admins.values():
            engine.dispose()
        self._admins.clear()


# ---------------------------------------------------------------------------- loading rows

def bulk_insert(conn: sa.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                suffixes: Sequence[Sequence[Any]] | None = None, cache: RowCache | None = None) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) fast, inside the connection's transaction.

    ``suffixes``: per-row values appended to each row (the message columns of a topic).
    """
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    raw = conn.connection.dbapi_connection
    assert raw is not None
    for_sa_dialect(conn.dialect).bulk_load(raw, quote(table), ", ".join(quote(c) for c in columns), len(columns),
                                           rows, suffixes, cache or RowCache())


def make_backend(backend: str, world_dir: Path, **options: Any) -> Backend:
    if backend == SQLiteBackend.name:
        if options:
            raise StorageError(f"the {backend} backend takes no options, got {sorted(options)}")
        return SQLiteBackend(world_dir)
    if backend == ServicesBackend.name:
        return ServicesBackend(**options)
    raise StorageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def open_engine(url: str) -> sa.Engine:
    """A writable engine for loading a node (the dialect's loading options: SQLite without fsync,
    MariaDB with LOAD DATA LOCAL)."""
    dialect = for_url(url)
    engine = sa.create_engine(dialect.loading_url(sa.engine.make_url(url)))

    @sa.event.listens_for(engine, "connect")
    def _loading(dbapi_conn: Any, _record: Any) -> None:
        dialect.on_loading_connect(dbapi_conn)

    return engine
