"""Passwords never leak: a distinctive password is planted in connection URLs that work (real
users created with it on MariaDB and PostgreSQL) and in one that fails. The CLI, a verification
through the Airflow job functions (their return values are the XComs), the tickets and the
reports run; stdout, stderr, every log record, every XCom and every file written are scanned."""

from __future__ import annotations

import json
import logging
import urllib.parse
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.cli import main
from syncverify.runner import jobs
from syncverify.store import Store

SECRET = "Pl4nted-Svrel-S3cret-" + uuid.uuid4().hex[:6]
FORMS = {SECRET, urllib.parse.quote(SECRET, safe=""), urllib.parse.quote_plus(SECRET)}


def _scan_text(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"the planted password leaked into {where}"


def _scan_tree(root: Path) -> int:
    scanned = 0
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for form in FORMS:
                assert form.encode() not in data, f"the planted password leaked into {path}"
            scanned += 1
    return scanned


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
        c.execute(sa.text("CREATE TABLE fp (id bigint PRIMARY KEY, v text)"))
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
        with pg_admin.connect() as c:
            c.execute(sa.text(f"DROP OWNED BY {user}"))
            c.execute(sa.text(f"DROP ROLE {user}"))
        with my_admin.connect() as c:
            for host in ("%", "localhost"):
                c.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
        pg_admin.dispose()
        my_admin.dispose()
    out = capsys.readouterr()
    assert "error" in out.err and out.err.count("Traceback") == 0
    _scan_text(out.out, "stdout")
    _scan_text(out.err, "stderr")
    for record in caplog.records:
        _scan_text(record.getMessage(), f"log record {record.name}")
        if record.exc_info:
            _scan_text(logging.Formatter().formatException(record.exc_info), f"logged exception {record.name}")
    _scan_text(json.dumps(xcoms, default=str), "XComs")
    assert (tmp_path / "reports").is_dir()
    files = _scan_tree(sv_home) + _scan_tree(tmp_path / "reports")
    assert files >= 2
    assert pg_db and my_db
