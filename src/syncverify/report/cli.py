"""``syncverify report --month 2026-10 [--out reports/] [--lang zh|en] [--store URL]``."""

from __future__ import annotations

import argparse
from typing import Any

from syncverify.exitcodes import ExitCode
from syncverify.report.i18n import LANGS


def _report(args: argparse.Namespace) -> int:
    from syncverify.calendar import parse_month
    from syncverify.catalog import load_catalog
    from syncverify.report.render import write_reports
    from syncverify.store import Store

    parse_month(args.month)  # a bad month is a clear error before the store is opened
    catalog = load_catalog(args.catalog)
    store = Store(args.store, create=False)   # a report reads: a missing store is an error
    written = write_reports(store, args.month, args.out, catalog, lang=args.lang, pdf=args.pdf)
    month_dir = written[0].parent
    print(f"reports for {args.month} written to {month_dir}:")
    for path in written:
        print(f"  {path}")
    _summary(month_dir / "consistency.json")
    return ExitCode.OK


def _summary(path: Any) -> None:
    """The month's state in two lines: its rate, and the runs it comes from with their times
    (Beijing time, zone shown — the same convention as the reports)."""
    import json

    doc = json.loads(path.read_text(encoding="utf-8"))
    from syncverify.report.render import fmt_pct

    overall = doc["overall"]
    print(f"consistency: {fmt_pct(overall['rate'])} of {overall['items']} items; "
          f"rows: {fmt_pct(overall.get('row_rate'))} of {overall.get('rows_compared', 0):,} rows compared "
          f"({overall.get('rows_differing', 0):,} differing)")
    for run in doc.get("runs") or []:
        print(f"  from run {run['id']} ({run['kind']}, {run['status']}, finished {run['finished_at'] or '-'})")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="write the monthly consistency and sync-log analysis reports",
        description="Write the month's 数据一致性验证月报 and 数据同步日志分析月报 (HTML, "
        "Markdown, JSON; PDF with --pdf) and "
        "the difference lists (Parquet, CSV) under OUT/<month>/, and refresh OUT/index.html. "
        "Every number comes from the results store; no database is queried.",
    )
    p.add_argument("--month", required=True, help="the month, YYYY-MM")
    p.add_argument("--out", default="reports", help="output folder (default: reports)")
    p.add_argument("--lang", choices=LANGS, default="zh", help="report language (default: zh)")
    p.add_argument("--store", default=None, help="results store URL (default: the embedded store)")
    p.add_argument("--catalog", default="checks", help="catalog folder (default: checks)")
    p.add_argument("--pdf", action="store_true",
                   help="also print both reports to PDF (consistency.pdf, synclog.pdf) with headless Chromium")
    p.set_defaults(func=_report)
