"""``syncverify diff`` end to end on real MariaDB and PostgreSQL: JSON contract, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from compare_helpers import create_table, drop_tables, unique_name

from syncverify.compare.cli import main

pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]
SYNCVERIFY = Path(sys.executable).parent / "syncverify"


@pytest.fixture(scope="module")
def world(mariadb_module_url: str, postgres_module_url: str) -> Any:
    """inv (MariaDB) -> inv_copy (PostgreSQL) with one missing, one extra, one changed row;
    inv_dup without a key constraint and a repeated key; inv_pair with a composite key."""
    cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("je", sa.Numeric(12, 2)),
            sa.Column("bz", sa.String(20))]
    rows = [{"fphm": f"F{i}", "je": Decimal(i), "bz": "中文"} for i in range(50)]
    target = [dict(r, je=Decimal("0.5")) if r["fphm"] == "F7" else r for r in rows if r["fphm"] != "F3"]
    target.append({"fphm": "X1", "je": None, "bz": None})
    names = {k: unique_name(k) for k in ("inv", "copy", "dup", "pair")}
    create_table(mariadb_module_url, names["inv"], cols, rows)
    create_table(postgres_module_url, names["copy"], cols, target)
    create_table(postgres_module_url, names["dup"], [sa.Column("fphm", sa.String(20)), sa.Column("je", sa.Integer)],
                 [{"fphm": "A", "je": 1}, {"fphm": "A", "je": 1}, {"fphm": "B", "je": 2}])
    pair_cols = [sa.Column("fpdm", sa.String(12), primary_key=True), sa.Column("fphm", sa.String(20), primary_key=True)]
    create_table(mariadb_module_url, names["pair"], pair_cols, [{"fpdm": "1", "fphm": "2"}, {"fpdm": "1", "fphm": "3"}])
    create_table(postgres_module_url, names["pair"], pair_cols, [{"fpdm": "1", "fphm": "2"}])
    yield {"my": mariadb_module_url, "pg": postgres_module_url, **names}
    drop_tables(mariadb_module_url, names["inv"], names["pair"])
    drop_tables(postgres_module_url, names["copy"], names["dup"], names["pair"])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_and_exit_1(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, world["my"], world["pg"], "--table", world["inv"], "--target-table", world["copy"],
                         "--key", "fphm", "--json")
    assert code == 1, err
    doc = json.loads(out)
    assert {"consistent", "source_rows", "target_rows", "missing_in_target", "extra_in_target", "changed",
            "stats", "duplicates"} <= doc.keys()
    assert doc["consistent"] is False
    assert (doc["source_rows"], doc["target_rows"]) == (50, 50)
    assert (doc["missing_in_target"], doc["extra_in_target"], doc["changed"]) == (["F3"], ["X1"], ["F7"])


def test_consistent_exit_0_with_columns_and_predicates(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, world["my"], world["pg"], "--table", world["inv"], "--target-table", world["copy"],
                       "--key", "fphm", "--columns", "bz", "--source-where", "fphm <> 'F3'",
                       "--target-where", "fphm <> 'X1'", "--where", "fphm NOT LIKE 'Q%'")
    assert code == 0
    assert "consistent" in out and "missing in target" in out


def test_composite_keys_are_lists_in_json(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, world["my"], world["pg"], "--table", world["pair"], "--key", "fpdm,fphm", "--json")
    assert code == 1
    assert json.loads(out)["missing_in_target"] == [["1", "3"]]


def test_human_output_lists_counts_and_first_keys(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, world["pg"], world["my"], "--table", world["copy"], "--target-table", world["inv"],
                       "--key", "fphm")
    assert code == 1
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert "X1" in lines["missing in target"] and "F3" in lines["extra in target"]


@pytest.mark.parametrize("args,needle", [
    (["--table", "no_such_table", "--key", "fphm"], "no_such_table"),
    (["--table", "{inv}", "--target-table", "{copy}", "--key", "nope"], "column 'nope'"),
    (["--table", "{inv}", "--target-table", "{copy}", "--key", "fphm", "--columns", "ghost"], "column 'ghost'"),
    (["--table", "{inv}", "--target-table", "{copy}", "--key", "fphm", "--source-where", "1=1; DROP TABLE x"],
     "';' is not allowed"),
    (["--table", "{inv}", "--target-table", "{dup}", "--key", "fphm", "--columns", "je"], "not unique"),
])
def test_errors_exit_2_with_one_line(world: Any, capsys: pytest.CaptureFixture[str], args: list[str],
                                     needle: str) -> None:
    argv = [world["my"], world["pg"], *[a.format(**world) for a in args]]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err, err
    assert "Traceback" not in err


def test_unreachable_database_masks_the_password(world: Any) -> None:
    """Through the real ``syncverify`` command: one line, exit 2, no password, no traceback."""
    bad = "mysql+pymysql://root:s3cretpw@127.0.0.1:1/nowhere"
    proc = subprocess.run([str(SYNCVERIFY), "diff", bad, world["pg"], "--table", "t", "--key", "k"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == "" and proc.stderr.count("\n") == 1
    assert "s3cretpw" not in proc.stderr and "cannot connect" in proc.stderr and "127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr
