"""Passwords never leak: a distinctive password is planted in connection URLs that work (real
users created with it on MariaDB and PostgreSQL) and in ones that fail. The CLI, a verification
through the Airflow job functions (their return values are the XComs), the tickets and the
reports run; stdout, stderr, every log record, every XCom and every file written are scanned.

The second test plants a password with ``@``, ``:``, ``/`` and ``%`` in it in every URL spelling
— userinfo percent-encoded, ``?password=``, ``?PWD=`` / ``?Password=``, raw (unencoded) userinfo,
``${VAR}`` in a profile, and ``?sasl.password=`` of a ``kafka://`` URL in a profile — and scans
for the raw password, its URL-encoded forms and each random fragment between the special
characters (a fragment after a raw ``@`` used to leak as the "host")."""

from __future__ import annotations

import json
import logging
import sqlite3
import urllib.parse
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.cli import main
from syncverify.runner import jobs
from syncverify.runner.verify import verify
from syncverify.store import Store

SECRET = "Pl4nted-Svrel-S3cret-" + uuid.uuid4().hex[:6]
FORMS = {SECRET, urllib.parse.quote(SECRET, safe=""), urllib.parse.quote_plus(SECRET)}


def _scan_text(text: str, where: str, forms: set[str] = FORMS) -> None:
    for form in forms:
        assert form not in text, f"the planted password leaked into {where} (as {form!r})"


def _scan_tree(root: Path, forms: set[str] = FORMS) -> int:
    scanned = 0
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for form in forms:
                assert form.encode() not in data, f"the planted password leaked into {path} (as {form!r})"
            scanned += 1
    return scanned


def _scan_logs(caplog: pytest.LogCaptureFixture, forms: set[str] = FORMS) -> None:
    for record in caplog.records:
        _scan_text(record.getMessage(), f"log record {record.name}", forms)
        if record.exc_info:
            _scan_text(logging.Formatter().formatException(record.exc_info), f"logged exception {record.name}", forms)


def _user_url(base: str, user: str, password: str, **changes) -> str:
    return sa.engine.make_url(base).set(username=user, password=password, **changes).render_as_string(
        hide_password=False)


@pytest.mark.mariadb
@pytest.mark.postgres
def test_planted_password_never_written_anywhere(mariadb_url, postgres_url, sv_home, tmp_path, capsys, caplog,
                                                 monkeypatch):
    user = "svrel_" + uuid.uuid4().hex[:8]
    pg_db = sa.engine.make_url(postgres_url).database
    my_db = sa.engine.make_url(mariadb_url).database
    pg_admin, my_admin = admin(postgres_url), admin(mariadb_url)
    with pg_admin.connect() as c:
        c.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD '{SECRET}'"))
        c.execute(sa.text("CREATE TABLE fp (id bigint PRIMARY KEY, v varchar(20))"))  # alike on both servers
        c.execute(sa.text("INSERT INTO fp SELECT g, 'v' || g FROM generate_series(1, 50) g"))
        c.execute(sa.text(f"GRANT SELECT ON fp TO {user}"))
    with my_admin.connect() as c:
        c.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{SECRET}'"))
        c.execute(sa.text(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{SECRET}'"))
        c.execute(sa.text("CREATE TABLE fp (id bigint PRIMARY KEY, v varchar(20))"))
        c.execute(sa.text("INSERT INTO fp SELECT seq, concat('v', seq) FROM seq_1_to_48"))
        for host in ("%", "localhost"):
            c.execute(sa.text(f"GRANT SELECT ON {my_db}.* TO '{user}'@'{host}'"))
    good_pg = _user_url(postgres_url, user, SECRET)
    good_my = _user_url(mariadb_url, user, SECRET)
    bad_pg = _user_url(postgres_url, user + "x", SECRET)                  # authentication fails
    refused = _user_url(postgres_url, user, SECRET, port=1)              # connection refused
    caplog.set_level(logging.DEBUG)
    try:
        # 1. the CLI: a diff that works (differences: exit 1), two that fail (exit 2)
        assert main(["diff", good_pg, good_my, "--table", "fp", "--key", "id", "--json"]) == 1
        assert main(["diff", bad_pg, good_my, "--table", "fp", "--key", "id"]) == 2
        assert main(["diff", refused, good_my, "--table", "fp", "--key", "id"]) == 2
        # 2. a verification through the DAG's job functions; one node cannot log in
        nodes = {"hq.src_db": {"kind": "postgresql", "url": good_pg, "tables": {"fp_t": "fp"}},
                 "gx.dst_db": {"kind": "mysql", "url": good_my, "tables": {"fp_t": "fp"}},
                 "gx.bad_db": {"kind": "postgresql", "url": bad_pg, "tables": {"fp_t": "fp"}}}
        world = write_world(tmp_path / "world", nodes, [{"name": "fp_t", "key": ["id"]}],
                            [{"id": "L-OK", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
                              "tables": [{"table": "fp_t"}]},
                             {"id": "L-BAD", "kind": "dsg", "source": "hq.src_db", "target": "gx.bad_db",
                              "tables": [{"table": "fp_t"}]}])
        assert main(["connections", "--catalog", str(world.catalog), "--profile", str(world.profile)]) == 0
        store_url = f"sqlite:///{sv_home / 'results.sqlite'}"
        monkeypatch.setenv("SYNCVERIFY_STORE_URL", store_url)
        store = Store(store_url)
        params = {"month": "2026-11", "catalog_path": str(world.catalog), "profile": str(world.profile),
                  "confirm_delay_s": 0}
        xcoms = [jobs.start_run(params, store=store)]
        params = xcoms[0]["params"]
        for link in ("L-OK", "L-BAD"):
            xcoms.append(jobs.run_checks(params, link, store=store))
        xcoms.append(jobs.finish_run(params, store=store))
        xcoms.append(jobs.open_tickets(params, store=store))
        xcoms.append(jobs.write_reports(params, str(tmp_path / "reports"), store=store))
        assert xcoms[2]["not_run"] == ["diff/L-BAD/fp_t"]
        assert xcoms[1]["anomalies"] == ["diff/L-OK/fp_t"]
        # 3. the CLI's ticket listing
        main(["tickets", "list"])
        bad = next(r for r in store.results(params["run_id"]) if r.check_id == "diff/L-BAD/fp_t")
        assert bad.error and "gx.bad_db" in bad.error
        store.engine.dispose()
    finally:
        _drop_users(pg_admin, my_admin, user)
    out = capsys.readouterr()
    assert "error" in out.err and out.err.count("Traceback") == 0
    _scan_text(out.out, "stdout")
    _scan_text(out.err, "stderr")
    _scan_logs(caplog)
    _scan_text(json.dumps(xcoms, default=str), "XComs")
    assert (tmp_path / "reports").is_dir()
    files = _scan_tree(sv_home) + _scan_tree(tmp_path / "reports")
    assert files >= 2
    assert pg_db and my_db


# ---- every URL spelling ------------------------------------------------------------------------------

PARTS = [uuid.uuid4().hex[:8] for _ in range(3)]
SPECIAL = f"Pl{PARTS[0]}@Sv:{PARTS[1]}/Re%l{PARTS[2]}"          # '@', ':', '/' and '%' inside
SPECIAL_FORMS = {SPECIAL, urllib.parse.quote(SPECIAL, safe=""), urllib.parse.quote_plus(SPECIAL),
                 urllib.parse.quote(SPECIAL, safe=" +"), *PARTS}


def _store_rows(db: Path) -> str:
    """Every row of every table of the SQLite results store, as text."""
    with sqlite3.connect(db) as c:
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [f"{t}: {row!r}" for t in tables for row in c.execute(f'SELECT * FROM "{t}"')]
    assert any(r.startswith("sv_check_results") for r in rows) and any(r.startswith("sv_tickets") for r in rows)
    return "\n".join(rows)


@pytest.mark.mariadb
@pytest.mark.postgres
def test_password_in_every_url_spelling_never_leaks(mariadb_url, postgres_url, sv_home, tmp_path, capsys, caplog,
                                                    monkeypatch):
    user = "svrel_" + uuid.uuid4().hex[:8]
    pg, my = sa.engine.make_url(postgres_url), sa.engine.make_url(mariadb_url)
    pg_admin, my_admin = admin(postgres_url), admin(mariadb_url)
    with pg_admin.connect() as c:
        c.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD :pw"), {"pw": SPECIAL})
        c.execute(sa.text("CREATE TABLE fp (id bigint PRIMARY KEY, v varchar(20))"))  # alike on both servers
        c.execute(sa.text("INSERT INTO fp SELECT g, 'v' || g FROM generate_series(1, 50) g"))
        c.execute(sa.text(f"GRANT SELECT ON fp TO {user}"))
    with my_admin.connect() as c:
        for host in ("%", "localhost"):
            c.execute(sa.text(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY :pw"), {"pw": SPECIAL})
            c.execute(sa.text(f"GRANT SELECT ON {my.database}.* TO '{user}'@'{host}'"))
        c.execute(sa.text("CREATE TABLE fp (id bigint PRIMARY KEY, v varchar(20))"))
        c.execute(sa.text("INSERT INTO fp SELECT seq, concat('v', seq) FROM seq_1_to_48"))
    q = urllib.parse.quote_plus(SPECIAL)
    pg_host = f"127.0.0.1:{pg.port or 5432}/{pg.database}"
    my_host = f"127.0.0.1:{my.port or 3306}/{my.database}"
    spellings = {
        "userinfo, percent-encoded": _user_url(mariadb_url, user, SPECIAL),              # works
        "?password=": f"postgresql+psycopg2://{user}@{pg_host}?password={q}",             # works
        "?PWD=": f"postgresql+psycopg2://{user}@127.0.0.1:1/{pg.database}?PWD={q}",       # refused
        "?Password= (MySQL)": f"mysql+pymysql://{user}@127.0.0.1:1/{my.database}?Password={q}",
        "raw userinfo with @ and :": f"postgresql+psycopg2://{user}:{SPECIAL}@127.0.0.1:1/{pg.database}",
        "?pwd= with a wrong user": f"postgresql+psycopg2://{user}x@{pg_host}?pwd={q}&password={q}",
    }
    monkeypatch.setenv("SVREL_SPECIAL_PW", SPECIAL)           # raw: the profile's ${VAR} must encode it
    nodes = {
        "hq.src_db": {"kind": "postgresql", "url": f"postgresql+psycopg2://{user}:${{SVREL_SPECIAL_PW}}@{pg_host}",
                      "tables": {"fp_t": "fp"}},
        "gx.dst_db": {"kind": "mysql", "url": f"mysql+pymysql://{user}@{my_host}?password={q}",
                      "tables": {"fp_t": "fp"}},
        "gx.bad_db": {"kind": "postgresql", "url": spellings["?pwd= with a wrong user"], "tables": {"fp_t": "fp"}},
        "gx.kafka": {"kind": "kafka", "tables": {"fp_t": "fp_topic"},
                     "url": f"kafka://{user}@127.0.0.1:1?security.protocol=SASL_PLAINTEXT&sasl.mechanism=PLAIN"
                            f"&sasl.password=${{SVREL_SPECIAL_PW}}"},
    }
    links = [{"id": "L-OK", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db", "tables": [{"table": "fp_t"}]},
             {"id": "L-BAD", "kind": "dsg", "source": "hq.src_db", "target": "gx.bad_db",
              "tables": [{"table": "fp_t"}]},
             {"id": "L-KAFKA", "kind": "kafka-producer", "source": "gx.dst_db", "target": "gx.kafka",
              "tables": [{"table": "fp_t"}]}]
    world = write_world(tmp_path / "world", nodes, [{"name": "fp_t", "key": ["id"]}], links)
    cli = ["--catalog", str(world.catalog), "--profile", str(world.profile)]
    db = sv_home / "results.sqlite"
    monkeypatch.setenv("SYNCVERIFY_STORE_URL", f"sqlite:///{db}")
    caplog.set_level(logging.DEBUG)
    spooled: list[str] = []
    seen: list[str] = []                                  # stdout and stderr, read in pieces
    try:
        # 1. the CLI diff: both working spellings connect (differences: exit 1); the others fail (exit 2)
        good = ["--table", "fp", "--key", "id"]
        assert main(["diff", spellings["?password="], spellings["userinfo, percent-encoded"], *good]) == 1
        for name in ("?PWD=", "?Password= (MySQL)", "raw userinfo with @ and :", "?pwd= with a wrong user"):
            assert main(["diff", spellings[name], spellings["?password="], *good]) == 2, name
        # 2. how every node resolves (the ${VAR} and kafka:// profile spellings included)
        assert main(["connections", *cli]) == 0
        assert "kafka://127.0.0.1:1" in _take(capsys, seen)
        # 3. `run`: the ${VAR} password connects (L-OK finds the 2 missing rows), L-BAD cannot log in
        assert main(["run", "--month", "2026-11", "--links", "L-OK,L-BAD", "--confirm-delay", "0", "--tickets",
                     "--no-reports", *cli]) == 2
        store = Store(f"sqlite:///{db}")
        run = store.latest_run()
        assert run is not None
        results = {r.check_id: r for r in store.results(run.id)}
        assert results["diff/L-OK/fp_t"].missing_count == 2, results["diff/L-OK/fp_t"].error
        assert results["diff/L-BAD/fp_t"].error and "gx.bad_db" in results["diff/L-BAD/fp_t"].error
        # 4. the Kafka hop through the runner, the spool read as each result lands in it
        options = world.options(links=["L-KAFKA"], kind="adhoc")

        def snapshot(_result: object) -> None:
            spooled.extend(p.read_text(encoding="utf-8") for p in (sv_home / "spool").glob("*.jsonl"))

        summary = verify(options, store, on_result=snapshot)
        assert summary.not_run and all("127.0.0.1:1" in (r.error or "") for r in summary.not_run)
        assert spooled and any("kafka" in text for text in spooled)
        # 5. tickets and a repair script written to $SYNCVERIFY_HOME/repair-scripts
        assert main(["tickets", "list"]) == 0
        _take(capsys, seen)
        assert main(["tickets", "list", "--json"]) == 0
        ticket_id = json.loads(_take(capsys, seen))[0]["id"]
        assert main(["tickets", "show", str(ticket_id)]) == 0
        assert main(["tickets", "script", *cli, str(ticket_id)]) == 0
        assert list((sv_home / "repair-scripts").glob("*apply.sql"))
        # 6. the reports, through the Airflow job function
        params = {"month": "2026-11", "catalog_path": str(world.catalog), "profile": str(world.profile),
                  "run_id": run.id}
        xcom = jobs.write_reports(params, str(tmp_path / "reports"), store=store)
        store.engine.dispose()
    finally:
        _drop_users(pg_admin, my_admin, user)
    _take(capsys, seen)
    printed = "\n".join(seen)
    assert printed.count("syncverify: error") >= 4 and "Traceback" not in printed
    _scan_text(printed, "stdout/stderr", SPECIAL_FORMS)
    _scan_logs(caplog, SPECIAL_FORMS)
    _scan_text(json.dumps(xcom), "XCom", SPECIAL_FORMS)
    _scan_text("\n".join(spooled), "the spool", SPECIAL_FORMS)
    _scan_text(_store_rows(db), "the results store", SPECIAL_FORMS)
    assert _scan_tree(sv_home, SPECIAL_FORMS) >= 4                   # store (+ -wal), repair scripts
    assert _scan_tree(tmp_path / "reports", SPECIAL_FORMS) >= 5



def _take(capsys: pytest.CaptureFixture[str], seen: list[str]) -> str:
    """What was printed since the last call (kept in ``seen`` for the final scan); returns stdout."""
    out = capsys.readouterr()
    seen.extend([out.out, out.err])
    return out.out


# ---- the masker itself, without services ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    f"postgresql+psycopg2://u:{urllib.parse.quote(SPECIAL, safe='')}@db:5432/x refused",
    f"mysql+pymysql://u@db/x?password={urllib.parse.quote_plus(SPECIAL)}: refused",
    f"engine (postgresql://u@db/x?application_name=a&PWD={urllib.parse.quote_plus(SPECIAL)}).",
    f"kafka://u@h1:9092,h2:9092?sasl.mechanism=PLAIN&SASL.Password={urllib.parse.quote_plus(SPECIAL)}",
    f"postgresql://u:{SPECIAL}@db:5432/x",                                   # raw '@', ':', '/', '%'
    f"https://hook.example/x?token={urllib.parse.quote_plus(SPECIAL)}&secret=1",
    f"dsn host=db password={SPECIAL} user=u",
    f"{{'sasl.password': '{SPECIAL}', 'bootstrap.servers': 'h:1'}}",
])
def test_every_spelling_masked_in_text(text):
    from syncverify.masking import mask_text

    _scan_text(mask_text(text), repr(text), SPECIAL_FORMS)


def test_logged_exception_chain_masked(caplog):
    """A record of the syncverify tree is masked before any handler: message, arguments and the
    messages of a logged exception and its cause."""
    from syncverify.logmask import install

    install()
    url = f"postgresql://u:{urllib.parse.quote(SPECIAL, safe='')}@db/x"
    caplog.set_level(logging.INFO)
    try:
        try:
            raise ValueError(f"cannot reach {url}")
        except ValueError as exc:
            raise RuntimeError(f"query param: mysql://u@db/x?password={SPECIAL.replace('%', '%25')}") from exc
    except RuntimeError:
        logging.getLogger("syncverify.some.module").exception("check failed on %s", url)
    (record,) = [r for r in caplog.records if r.name == "syncverify.some.module"]
    assert "postgresql://u:***@db/x" in record.getMessage()
    formatted = logging.Formatter().format(record)
    assert "ValueError: cannot reach postgresql://u:***@db/x" in formatted and "RuntimeError" in formatted
    _scan_logs(caplog, SPECIAL_FORMS)
    _scan_text(caplog.text, "caplog text", SPECIAL_FORMS)


def _drop_users(pg_admin: sa.Engine, my_admin: sa.Engine, user: str) -> None:
    """Drop the database users a test created with the planted password, on both servers."""
    with pg_admin.connect() as c:
        c.execute(sa.text(f"DROP OWNED BY {user}"))
        c.execute(sa.text(f"DROP ROLE {user}"))
    with my_admin.connect() as c:
        for host in ("%", "localhost"):
            c.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
    pg_admin.dispose()
    my_admin.dispose()
