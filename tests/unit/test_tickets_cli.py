"""``syncverify tickets ...`` end to end on SQLite: list, show, ack, start, resolve, script, apply."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from syncverify.cli import main
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.tickets import open_or_update

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
TAXPAYER = "91450100MA5K8X2Q3D"

CATALOG = """
nodes:
  - {id: hq.src_db, side: hq, kind: sqlite}
  - {id: gx.tgt_db, side: province, kind: sqlite}
tables:
  - {name: nsr_jcxx, key: [nsrsbh], masked_columns: [nsrsbh, nsrmc]}
links:
  - {id: L1, kind: dsg, source: hq.src_db, target: gx.tgt_db, tables: [{table: nsr_jcxx}]}
"""


@pytest.fixture
def world(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    urls = {}
    for node, rows in (("src", [(TAXPAYER, "南宁某公司"), ("91450200MA5K8X2Q3E", "柳州")]),
                       ("tgt", [("91450200MA5K8X2Q3E", "柳州 "), ("91450300MA5K8X2Q3F", "多余")])):
        urls[node] = f"sqlite:///{tmp_path / (node + '.sqlite')}"
        engine = sa.create_engine(urls[node])
        with engine.begin() as c:
            c.execute(sa.text("CREATE TABLE nsr_jcxx (nsrsbh VARCHAR(20) PRIMARY KEY, nsrmc VARCHAR(100))"))
            for r in rows:
                c.execute(sa.text("INSERT INTO nsr_jcxx VALUES (:a, :b)"), {"a": r[0], "b": r[1]})
        engine.dispose()
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    result = CheckResult(kind=CheckKind.DIFF, link_id="L1", table="nsr_jcxx", source_node="hq.src_db",
                         target_node="gx.tgt_db", missing_count=1, extra_count=1, changed_count=1,
                         missing_keys=[TAXPAYER], extra_keys=["91450300MA5K8X2Q3F"],
                         changed_keys=["91450200MA5K8X2Q3E"], started_at=T0).finish()
    from syncverify.catalog import load_catalog

    [tid] = open_or_update(Store(store_url), [result], run_id="r1", now=T0,
                           catalog=load_catalog(tmp_path / "checks"), sinks=[])
    return {"store": store_url, "tid": tid, "catalog": str(tmp_path / "checks"), "tmp": tmp_path, **urls}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_show_ack_start_resolve(world, capsys):
    s, tid = world["store"], str(world["tid"])
    code, out, _ = run(capsys, "tickets", "list", "--store", s)
    assert code == 0 and "open" in out and "consistency anomaly on L1/nsr_jcxx" in out
    code, out, _ = run(capsys, "tickets", "list", "--store", s, "--json")
    [t] = json.loads(out)
    assert t["id"] == int(tid) and t["sla"] == {"repair_start": "running", "correction": "running"}
    code, out, _ = run(capsys, "tickets", "show", tid, "--store", s)
    assert code == 0 and "events:" in out and "opened" in out
    assert TAXPAYER not in out and "914501**********3D" in out        # masked for people
    code, out, _ = run(capsys, "tickets", "show", tid, "--store", s, "--json")
    assert TAXPAYER not in out and json.loads(out)["events"][0]["event"] == "opened"
    assert run(capsys, "tickets", "ack", tid, "--by", "li.wei", "--store", s)[1].strip() == \
        f"ticket {tid} is now acknowledged"
    assert run(capsys, "tickets", "start", tid, "--by", "li.wei", "--store", s)[0] == 0
    code, out, _ = run(capsys, "tickets", "resolve", tid, "--by", "li.wei", "--note", "resynced",
                       "--store", s, "--json")
    assert code == 0 and json.loads(out)["status"] == "repaired"
    code, _, err = run(capsys, "tickets", "ack", tid, "--by", "li.wei", "--store", s)
    assert code == 2 and "cannot acknowledge" in err
    code, _, err = run(capsys, "tickets", "show", "42", "--store", s)
    assert code == 2 and "no ticket 42" in err


def test_script_then_apply_with_approval(world, capsys):
    s, tid, tmp = world["store"], str(world["tid"]), world["tmp"]
    common = ["--store", s, "--catalog", world["catalog"], "--source-url", world["src"],
              "--target-url", world["tgt"]]
    code, out, _ = run(capsys, "tickets", "script", tid, *common, "--out", str(tmp / "scripts"), "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert (doc["inserts"], doc["updates"], doc["deletes"]) == (1, 1, 1)
    for f in doc["files"]:
        assert stat.S_IMODE((tmp / "scripts" / f.split("/")[-1]).stat().st_mode) == 0o600
    # approval is required by the parser itself
    with pytest.raises(SystemExit):
        main(["tickets", "apply", tid, *common])
    capsys.readouterr()
    code, _, err = run(capsys, "tickets", "apply", tid, *common, "--by", "王五")
    assert code == 2 and "approve" in err                  # a typed name is no approval
    assert run(capsys, "tickets", "approve", tid, "--store", s, "--by", "王五", "--note", "reviewed")[0] == 0
    code, out, _ = run(capsys, "tickets", "apply", tid, *common, "--by", "王五", "--json")
    result = json.loads(out)
    assert code == 0 and result["outcome"] == "applied" and result["ticket_status"] == "verified"
    src, tgt = sa.create_engine(world["src"]), sa.create_engine(world["tgt"])
    q = sa.text("SELECT nsrsbh, nsrmc FROM nsr_jcxx ORDER BY nsrsbh")
    with src.connect() as a, tgt.connect() as b:
        assert list(a.execute(q)) == list(b.execute(q))
    code, out, _ = run(capsys, "tickets", "show", tid, "--store", s)
    assert "script_applied" in out and "王五" in out
    code, out, _ = run(capsys, "tickets", "list", "--store", s, "--all", "--json")
    assert json.loads(out)[0]["status"] == "verified"


def test_apply_that_fails_in_the_database_writes_nothing_and_exits_2(world, capsys):
    s, tid = world["store"], str(world["tid"])
    common = ["--store", s, "--catalog", world["catalog"], "--source-url", world["src"],
              "--target-url", world["tgt"]]
    assert run(capsys, "tickets", "script", tid, *common, "--out", str(world["tmp"] / "scripts"))[0] == 0
    tgt = sa.create_engine(world["tgt"])
    with tgt.begin() as c:               # the table went away after the script was generated
        c.execute(sa.text("ALTER TABLE nsr_jcxx RENAME TO nsr_jcxx_old"))
    assert run(capsys, "tickets", "approve", tid, "--store", s, "--by", "王五", "--note", "reviewed")[0] == 0
    code, out, err = run(capsys, "tickets", "apply", tid, *common, "--approved-by", "王五")
    assert code == 2 and "failed" in out and "no such table" in err
    code, out, _ = run(capsys, "tickets", "show", tid, "--store", s, "--json")
    doc = json.loads(out)
    assert doc["status"] == "open" and doc["events"][-1]["event"] == "script_apply_failed"
    with tgt.begin() as c:
        c.execute(sa.text("ALTER TABLE nsr_jcxx_old RENAME TO nsr_jcxx"))
    code, out, _ = run(capsys, "tickets", "apply", tid, *common, "--approved-by", "王五", "--json")
    assert code == 0 and json.loads(out)["outcome"] == "applied"      # a failed apply may be retried


def test_script_needs_row_keys_and_a_table_ticket(world, capsys):
    store = Store(world["store"])
    hop = {"link_id": "L1", "table": "nsr_jcxx", "source_node": "hq.src_db", "target_node": "gx.tgt_db",
           "started_at": T0}
    [count_only] = open_or_update(store, [CheckResult(kind=CheckKind.COUNT, link_id="L2", table="nsr_jcxx",
                                                      missing_count=3, started_at=T0).finish()],
                                  run_id="r2", now=T0, sinks=[])
    [kafka] = open_or_update(store, [CheckResult(kind=CheckKind.KAFKA_KEYS, missing_count=1,
                                                 missing_keys=[TAXPAYER], **hop).finish()],
                             run_id="r2", now=T0, sinks=[])
    common = ["--store", world["store"], "--catalog", world["catalog"], "--source-url", world["src"],
              "--target-url", world["tgt"]]
    code, _, err = run(capsys, "tickets", "script", str(count_only), *common)
    assert code == 2 and "no row keys" in err
    # A Kafka key reconciliation of a (link, table) belongs to that copy pair's consistency ticket.
    from syncverify.tickets import get_ticket
    assert get_ticket(store, kafka)[0].kind == "consistency"
