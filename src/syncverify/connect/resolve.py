"""Resolve a catalog node to a connection: an SQLAlchemy engine or Kafka client settings.

Order of precedence, first match wins:

1. an Airflow connection whose conn id is the node id with dots as underscores
   (``gx.query_db`` -> ``gx_query_db``), when running inside Airflow or when
   ``AIRFLOW_CONN_GX_QUERY_DB`` is set;
2. the environment variable ``SYNCVERIFY_CONN_GX_QUERY_DB`` (an SQLAlchemy URL, or for a Kafka
   node ``kafka://host:port[,host:port]``);
3. the node's entry in a connection profile, ``connections/<profile>.yaml`` (``embedded`` by
   default, or ``$SYNCVERIFY_PROFILE``, or any YAML path), with ``${VAR}`` and ``${VAR:-default}``
   interpolated from the environment. A variable inside a URL's userinfo (a password with
   ``@``, ``:``, ``/``, ``%`` or ``#``) or query is percent-encoded where it lands, so the URL
   parses to exactly that value and no fragment of it ends up in the host or the database name.

A ``kafka://[user:password@]host:port[,host:port][?sasl.mechanism=...&sasl.password=...]`` URL
(environment or profile ``url``) is a Kafka cluster: user and password become ``sasl.username``
/ ``sasl.password`` and query parameters become client settings, never part of the bootstrap.

Every engine is made by :func:`syncverify.connect.engine.make_engine`: read-only sessions, a
statement timeout, and a pool capped at the node's ``max_concurrency``. No message ever carries a
password.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from syncverify.dialects import absolute_file_url, airflow_url
from syncverify.errors import ConnectionConfigError
from syncverify.masking import is_secret_key, mask_text, mask_url

PROFILE_DIR = Path("connections")
DEFAULT_PROFILE = "embedded"
# Characters a substituted value may keep as they are: in the userinfo the RFC 3986 sub-delims
# and unreserved ones (``:``, ``@``, ``/``, ``%``, ``#``, ``?`` and spaces are encoded); in the
# query also ``:``, ``@`` and ``/`` but not ``&``, ``=``, ``+`` (a space to the query parser) or ``#``.
_USERINFO_SAFE = "!$&'()*+,;=-._~"
_QUERY_SAFE = "!$'()*,;:@/-._~"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class NodeConnection:
    """Where a node lives. ``url`` for databases (and Kafka topics stored as tables);
    ``bootstrap`` + ``kafka_config`` for a Kafka cluster."""

    node_id: str
    source: str                           # "airflow", "env" or the profile path
    url: str | None = field(default=None, repr=False)
    storage: str = "database"             # "database", "tables" (Kafka as message tables) or "kafka"
    bootstrap: str | None = None
    kafka_config: dict[str, str] = field(default_factory=dict, repr=False)
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"NodeConnection({self.node_id!r}, {self.describe()!r}, storage={self.storage!r}, from {self.source!r})"

    @property
    def is_kafka_broker(self) -> bool:
        return self.storage == "kafka"

    def describe(self) -> str:
        """A printable description with every secret masked."""
        if self.url:
            return mask_url(self.url)
        return mask_url(f"kafka://{self.bootstrap}")

    def secrets(self) -> list[str]:
        """Every secret this connection carries (URL password, secret query parameters and
        Kafka settings), for masking texts that may quote them."""
        found = [str(v) for k, v in self.kafka_config.items() if is_secret_key(k)]
        if self.url:
            try:
                url = sa.engine.make_url(self.url)
            except Exception:
                return found
            if url.password:
                found.append(str(url.password))
            for key, value in url.query.items():
                if is_secret_key(key):
                    found.extend([value] if isinstance(value, str) else list(value))
        return found


def _variable(m: re.Match[str], where: str) -> str:
    value = os.environ.get(m.group(1))
    if value is None:
        if m.group(2) is None:
            raise ConnectionConfigError(f"{where}: environment variable {m.group(1)} is not set")
        return m.group(2)
    return value


def interpolate(text: str, *, where: str) -> str:
    """``${VAR}`` / ``${VAR:-default}`` replaced by the values as they are (not for URLs)."""
    return _VAR.sub(lambda m: _variable(m, where), text)


def interpolate_url(text: str, *, where: str) -> str:
    """``${VAR}`` in a URL, each value percent-encoded for the part of the URL it lands in.

    Where the userinfo ends and the query starts is read from the template with every ``${...}``
    blanked out, so a value can never move those borders: ``postgresql://u:${PW}@db/x`` with
    ``PW=p@ss:w/rd%`` gives ``u:p%40ss%3Aw%2Frd%25@db``, which SQLAlchemy parses back to exactly
    that password (a raw ``@`` would have put ``ss:w...`` into the host and out to every message).
    """
    blank = _VAR.sub(lambda m: "x" * len(m.group(0)), text)
    start = blank.find("://") + 3
    if start < 3:
        return interpolate(text, where=where)
    query = blank.find("?", start)
    userinfo_end = blank.rfind("@", start, query if query >= 0 else len(blank))

    def repl(m: re.Match[str]) -> str:
        value = _variable(m, where)
        if m.end() <= userinfo_end:
            return urllib.parse.quote(value, safe=_USERINFO_SAFE)
        if 0 <= query < m.start():
            return urllib.parse.quote(value, safe=_QUERY_SAFE)
        return value
    return _VAR.sub(repl, text)


def _kafka_from_url(node_id: str, source: str, url: str, options: dict[str, Any] | None = None) -> NodeConnection:
    """``kafka://[user:password@]hosts[?settings]``: credentials and settings go to the client
    configuration, only the hosts to the bootstrap (which is shown in messages)."""
    rest = url.removeprefix("kafka://")
    hosts, _, query = rest.partition("?")
    userinfo, at, hosts = hosts.rpartition("@")
    config = {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}
    if at:
        user, colon, password = userinfo.partition(":")
        config.setdefault("sasl.username", urllib.parse.unquote(user))
        if colon:
            config.setdefault("sasl.password", urllib.parse.unquote(password))
    return NodeConnection(node_id, source, storage="kafka", bootstrap=hosts.rstrip("/"), kafka_config=config,
                          options=options or {})


def _conn_id(node_id: str) -> str:
    return node_id.replace(".", "_")


def _profile_path(profile: str | os.PathLike[str] | None) -> Path:
    name = str(profile or os.environ.get("SYNCVERIFY_PROFILE") or DEFAULT_PROFILE)
    path = Path(name)
    if path.suffix in {".yaml", ".yml"}:
        return path
    return PROFILE_DIR / f"{name}.yaml"


_profiles: dict[Path, dict[str, Any]] = {}
_lock = threading.Lock()


def load_profile(profile: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    path = _profile_path(profile).resolve()
    with _lock:
        if path in _profiles:
            return _profiles[path]
    if not path.is_file():
        raise ConnectionConfigError(f"connection profile {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConnectionConfigError(f"connection profile {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes", {}), dict):
        raise ConnectionConfigError(f"connection profile {str(path)!r}: expected a mapping with 'nodes'")
    data["_path"] = str(path)
    with _lock:
        _profiles[path] = data
    return data


def profile_synclog_dir(profile: str | os.PathLike[str] | None = None) -> Path | None:
    """The sync-log folder the deployment keeps: the profile's top-level ``synclog_dir``.

    The logs live with the deployment, like the databases, so the profile that says where the
    nodes are also says where their DSG and consumer logs are (``${VAR}`` interpolated; a
    relative path is relative to the working directory, as for SQLite URLs). ``None`` when the
    profile names no folder or does not exist (nodes given only as Airflow connections).
    """
    try:
        data = load_profile(profile)
    except ConnectionConfigError:
        return None
    value = data.get("synclog_dir")
    if not value:
        return None
    return Path(interpolate(str(value), where=f"connection profile {data['_path']}, synclog_dir")).resolve()


def _from_airflow(node_id: str) -> NodeConnection | None:
    conn_id = _conn_id(node_id)
    in_task = bool(os.environ.get("AIRFLOW_CTX_DAG_ID")) or f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ
    if not in_task:
        return None
    try:
        from airflow.sdk import Connection
        conn = Connection.get(conn_id)
    except Exception:
        return None
    if conn.conn_type == "kafka":
        extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
        bootstrap = extra.pop("bootstrap.servers", None) or f"{conn.host}:{conn.port or 9092}"
        return NodeConnection(node_id, "airflow", storage="kafka", bootstrap=bootstrap,
                              kafka_config={k: str(v) for k, v in extra.items()})
    url = airflow_url(conn.conn_type or "", host=conn.host, login=conn.login, password=conn.password,
                      port=conn.port, schema=conn.schema)
    if url is None:
        raise ConnectionConfigError(f"Airflow connection {conn_id!r} has unsupported type {conn.conn_type!r}")
    return NodeConnection(node_id, "airflow", url=url)


def _from_env(node_id: str) -> NodeConnection | None:
    value = os.environ.get(f"SYNCVERIFY_CONN_{_conn_id(node_id).upper()}")
    if not value:
        return None
    if value.startswith("kafka://"):
        return _kafka_from_url(node_id, "env", value)
    return NodeConnection(node_id, "env", url=value)


def _from_profile(node_id: str, profile: str | os.PathLike[str] | None) -> NodeConnection | None:
    data = load_profile(profile)
    entry = data.get("nodes", {}).get(node_id)
    if entry is None:
        return None
    where = f"connection profile {data['_path']}, node {node_id}"
    if not isinstance(entry, dict):
        raise ConnectionConfigError(f"{where}: expected a mapping with 'url' or 'bootstrap'")
    options = {k: v for k, v in entry.items() if k not in {"url", "bootstrap", "config", "storage"}}
    if "bootstrap" in entry:
        config = {str(k): interpolate(str(v), where=where) for k, v in (entry.get("config") or {}).items()}
        return NodeConnection(node_id, data["_path"], storage="kafka",
                              bootstrap=interpolate(str(entry["bootstrap"]), where=where),
                              kafka_config=config, options=options)
    if "url" not in entry:
        raise ConnectionConfigError(f"{where}: needs 'url' (database) or 'bootstrap' (Kafka)")
    url = interpolate_url(str(entry["url"]), where=where)
    if url.startswith("kafka://"):
        return _kafka_from_url(node_id, data["_path"], url, options)
    url = absolute_file_url(url)   # made absolute once here, whatever the working directory later
    storage = str(entry.get("storage", "database"))
    if storage not in {"database", "tables"}:
        raise ConnectionConfigError(f"{where}: storage must be 'database' or 'tables', not {storage!r}")
    return NodeConnection(node_id, data["_path"], url=url, storage=storage, options=options)


def resolve_node(node_id: str, *, profile: str | os.PathLike[str] | None = None) -> NodeConnection:
    """Where ``node_id`` lives, by the precedence in the module docstring."""
    for finder in (_from_airflow, _from_env):
        found = finder(node_id)
        if found is not None:
            return found
    found = _from_profile(node_id, profile)
    if found is None:
        raise ConnectionConfigError(
            f"no connection for node {node_id!r}: set Airflow connection {_conn_id(node_id)!r}, "
            f"SYNCVERIFY_CONN_{_conn_id(node_id).upper()}, or add it to {_profile_path(profile)}")
    return found


_engines: dict[tuple[str, str, bool], sa.Engine] = {}


def engine_for_node(node_id: str, *, profile: str | os.PathLike[str] | None = None, read_only: bool = True,
                    max_concurrency: int | None = None, statement_timeout_s: float | None = None) -> sa.Engine:
    """A shared, capped, read-only engine for a node (one per node and profile per process)."""
    from syncverify.connect.engine import make_engine

    conn = resolve_node(node_id, profile=profile)
    if conn.url is None:
        raise ConnectionConfigError(f"node {node_id!r} is a Kafka cluster ({conn.describe()}), not a database")
    key = (node_id, str(_profile_path(profile)), read_only)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            # The catalog's cap (passed in) and the profile's both hold: the stricter wins.
            caps = [int(v) for v in (max_concurrency, conn.options.get("max_concurrency")) if v]
            timeouts = [float(v) for v in (statement_timeout_s, conn.options.get("statement_timeout_s")) if v]
            engine = make_engine(
                conn.url, read_only=read_only, name=node_id, max_concurrency=min(caps) if caps else 4,
                statement_timeout_s=min(timeouts) if timeouts else 300)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _profiles.clear()


def safe_message(exc: BaseException, conn: NodeConnection | None = None) -> str:
    """An exception's first line with URLs and known secrets masked."""
    secrets = conn.secrets() if conn else []
    return mask_text(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__, secrets)
