"""Render :class:`ReportData` to HTML, Markdown, JSON, Parquet/CSV and the index page.

Renderers read the report data only; they compute nothing but presentation (number formats,
charts from the series the data holds, translated sentences). The HTML is self-contained: CSS
inline, interactive charts drawn by plotly.js inlined once per file (:mod:`syncverify.report.charts`),
no URL of any kind, because the bureau's network is closed. ``--pdf`` prints the HTML to PDF with
headless Chromium (:mod:`syncverify.report.pdf`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from syncverify.calendar import BUREAU_TZ
from syncverify.catalog import Catalog
from syncverify.report import charts as ch
from syncverify.report.data import build_report_data
from syncverify.report.findings_text import evidence_label, finding_text, label
from syncverify.report.i18n import translator
from syncverify.report.rule_names import rule_name
from syncverify.report.synclog_data import SynclogData
from syncverify.report.views import ConsistencyData, Note, ReportData
from syncverify.safefiles import REPORT_MODE, write_file
from syncverify.store import Store
from syncverify.timefmt import local_time

REPORT_FILES = (
    "consistency.html",
    "consistency.md",
    "consistency.json",
    "synclog.html",
    "synclog.md",
    "synclog.json",
    "differences.parquet",
    "differences.csv",
    "consistency.pdf",
    "synclog.pdf",
)
_MONTH_DIR = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# ---- formatting --------------------------------------------------------------------------------


def fmt_num(value: Any) -> str:
    """Thousands separators for integers; '-' for missing numbers."""
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def fmt_pct(value: float | None) -> str:
    """A rate (0..1) as a percentage, '-' when there is nothing to rate.

    Rounded down, never up: 12 differing rows of 2,464,142 must not read "100.00%", the
    contract's figure. Two decimals, more (up to four) while they would still read as 99.99%.
    """
    if value is None:
        return "-"
    for decimals in (2, 3, 4):
        scale = 10 ** decimals
        shown = math.floor(value * 100 * scale + 1e-9) / scale
        if value >= 1 or shown < 100 - 1 / scale or decimals == 4:
            return f"{min(shown, 100.0):.{decimals}f}%"
    raise AssertionError("unreachable")


def fmt_ms(value: float | None) -> str:
    """Milliseconds as whole numbers (percentiles come from histogram bins, ~2 % exact)."""
    return "-" if value is None else f"{round(value):,}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def md_safe(text: Any) -> str:
    """Free text inside Markdown: no raw HTML, no table-breaking pipes."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def note_text(note: Note, t: Callable[..., str]) -> str:
    """A conclusion/recommendation sentence, rates as percentages and counts with separators."""
    params = {}
    for k, v in note.params.items():
        if k == "unit":
            params[k] = t(f"unit_{v}")
        elif k.startswith(("rate", "prev")) or k == "rate_after":
            params[k] = fmt_pct(v)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            params[k] = fmt_num(v)
        else:
            params[k] = v
    return t(note.code, **params)


def environment(lang: str) -> Environment:
    t = translator(lang)
    env = Environment(
        loader=PackageLoader("syncverify.report", "templates"),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        t=t,
        lang=lang,
        note=lambda n: note_text(n, t),
        finding=lambda f: finding_text(f, lang),
        label=lambda group, key: label(group, key, lang),
        evidence_label=lambda k: evidence_label(k, lang),
        rule=lambda r: rule_name(r, lang),
        chart_scripts=ch.scripts,
    )
    env.filters.update(num=fmt_num, pct=fmt_pct, dur=fmt_seconds, ms=fmt_ms, md=md_safe,
                       # store times are UTC; sync-log times are the bureau's naive local times
                       utctime=lambda v: local_time(v), logtime=lambda v: local_time(v, naive=BUREAU_TZ))
    return env


# ---- charts (from the series in the data) ---------------------------------------------------------


def consistency_charts(data: ConsistencyData, t: Callable[..., str]) -> dict[str, Any]:
    charts: dict[str, Any] = {"volumes": []}
    if data.history:
        charts["history"] = ch.bars(
            "chart-history", [h.month for h in data.history],
            [(t("rate"), [None if h.rate.rate is None else h.rate.rate * 100 for h in data.history]),
             (t("rate_rows"), [None if h.rate.row_rate is None else h.rate.row_rate * 100 for h in data.history])],
            title=t("history") + " (%)", ymax=100, suffix=" %")
    names = (t("chart_source"), t("chart_target"), t("chart_difference"))
    for n, v in enumerate(data.volumes):
        title = f"{v.link_id} · {v.table}" + (f" · {v.source_node}" if v.source_node else "")
        charts["volumes"].append((v, ch.volume(f"chart-volume-{n}", v.days, v.source, v.target, title=title,
                                               names=names)))
    return charts


def synclog_charts(data: SynclogData, t: Callable[..., str]) -> dict[str, Any]:
    """Small multiples: one latency and one throughput chart per link, the link's own colour in both."""
    charts: dict[str, Any] = {"latency": [], "throughput": []}
    hours = [f"{h[:10]} {h[11:13]}:00" for h in data.hours]
    for i, lk in enumerate(data.links):
        # the link's own colour, and its month figure as a dashed reference line (a colour no link has)
        c = [ch.colour(i), ch.REFERENCE]
        p95 = lk.latency.get("p95_ms")
        if any(v is not None for v in lk.latency_p95_series):
            charts["latency"].append(ch.lines(
                f"chart-lat-{i}", hours,
                [(t("sl_hourly_p95"), lk.latency_p95_series), (t("sl_month_p95"), [p95] * len(hours))],
                title=lk.link_id, colours=c, height=210, dashed=(1,)))
        if any(v is not None for v in lk.rows_series):
            charts["throughput"].append(ch.lines(
                f"chart-rows-{i}", hours,
                [(t("sl_hourly_rows"), lk.rows_series), (t("sl_avg_rows"), [lk.throughput_avg] * len(hours))],
                title=lk.link_id, colours=c, height=210, dashed=(1,)))
    if data.heatmap_days:
        charts["heatmap"] = ch.heatmap("chart-heatmap", data.heatmap_days, [f"{h:02d}" for h in range(24)],
                                       data.heatmap, title=t("sl_heatmap"), colorbar=t("sl_errors"))
    return charts


# ---- files -------------------------------------------------------------------------------------------


def render_consistency(data: ConsistencyData, lang: str, fmt: str) -> str:
    template = environment(lang).get_template(f"consistency.{fmt}.j2")
    return template.render(d=data, charts=consistency_charts(data, translator(lang)) if fmt == "html" else {})


def render_synclog(data: SynclogData, lang: str, fmt: str) -> str:
    template = environment(lang).get_template(f"synclog.{fmt}.j2")
    return template.render(d=data, charts=synclog_charts(data, translator(lang)) if fmt == "html" else {})


def consistency_json(data: ConsistencyData, lang: str) -> dict[str, Any]:
    """The report's numbers; notes carry their code, numbers and the sentence in ``lang``."""
    t = translator(lang)
    out = data.to_dict()
    out["differences"] = len(data.differences)  # the keys themselves are in differences.*
    out["conclusion"] = [{**asdict(n), "text": note_text(n, t)} for n in data.conclusion]
    out["recommendations"] = [{**asdict(n), "text": note_text(n, t)} for n in data.recommendations]
    out["lang"] = lang
    return out


def synclog_json(data: SynclogData, lang: str) -> dict[str, Any]:
    """The sync-log report's data; each finding also carries its sentences in ``lang``."""
    out = data.to_dict()
    for f in out["findings"]:
        f["text"], f["action_text"] = finding_text(f, lang)
        f["evidence"] = dict(f["evidence"])
    out["lang"] = lang
    return out


def differences_table(data: ConsistencyData) -> pa.Table:
    rows = [asdict(k) for k in data.differences]
    schema = pa.schema(
        [
            ("month", pa.string()),
            ("link_id", pa.string()),
            ("table", pa.string()),
            ("source_node", pa.string()),
            ("target_node", pa.string()),
            ("check_kind", pa.string()),
            ("difference", pa.string()),
            ("key", pa.string()),
            ("key_columns", pa.string()),
        ]
    )
    columns = {name: [r.get(name) for r in rows] for name in schema.names if name != "month"}
    return pa.table({"month": [data.month] * len(rows), **columns}, schema=schema)


def _write(path: Path, data: str | bytes) -> Path:
    """Report files are 0640 whatever the umask (masked data, for the report's readers), written
    whole through a temporary file; a symbolic link at the path is refused."""
    return write_file(path, data, REPORT_MODE)


def _arrow_bytes(writer: Callable[[pa.Table, Any], None], table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    writer(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def write_month(data: ReportData, out_dir: Path, lang: str) -> list[Path]:
    """Write every file of one month under ``out_dir/<month>/``."""
    month_dir = out_dir / data.month
    month_dir.mkdir(parents=True, exist_ok=True)
    c, s = data.consistency, data.synclog
    written = [
        _write(month_dir / "consistency.html", render_consistency(c, lang, "html")),
        _write(month_dir / "consistency.md", render_consistency(c, lang, "md")),
        _write(
            month_dir / "consistency.json",
            json.dumps(consistency_json(c, lang), ensure_ascii=False, indent=2) + "\n",
        ),
        _write(month_dir / "synclog.html", render_synclog(s, lang, "html")),
        _write(month_dir / "synclog.md", render_synclog(s, lang, "md")),
        _write(month_dir / "synclog.json", json.dumps(synclog_json(s, lang), ensure_ascii=False, indent=2) + "\n"),
    ]
    table = differences_table(c)
    written += [_write(month_dir / "differences.parquet", _arrow_bytes(pq.write_table, table)),
                _write(month_dir / "differences.csv", _arrow_bytes(pacsv.write_csv, table))]
    return written


def write_index(out_dir: Path, lang: str) -> Path:
    """``out_dir/index.html``: every month folder found in ``out_dir`` with the files it holds."""
    months = []
    for d in sorted((p for p in out_dir.iterdir() if p.is_dir() and _MONTH_DIR.match(p.name)), reverse=True):
        files = [f for f in REPORT_FILES if (d / f).is_file()]
        summary: dict[str, Any] = {}
        if (d / "consistency.json").is_file():
            try:
                doc = json.loads((d / "consistency.json").read_text(encoding="utf-8"))
                summary = {
                    "rate": doc["overall"]["rate"],
                    "items": doc["overall"]["items"],
                    "tickets": doc["sla"]["tickets"],
                }
            except (ValueError, KeyError, TypeError):
                summary = {}
        months.append({"month": d.name, "files": files, "summary": summary})
    env = environment(lang)
    return _write(out_dir / "index.html", env.get_template("index.html.j2").render(months=months))


def write_reports(
    store: Store,
    month: str,
    out_dir: str | Path,
    catalog: Catalog,
    lang: str = "zh",
    *,
    as_of: datetime | None = None,
    pdf: bool = False,
) -> list[Path]:
    """Write both reports of ``month`` under ``out_dir/<month>/`` and refresh ``out_dir/index.html``.

    ``pdf``: also print both HTML reports to PDF (headless Chromium, :mod:`syncverify.report.pdf`).
    Returns the written paths (the month's files, then the index).
    """
    translator(lang)  # an unknown language fails before anything is written
    data = build_report_data(store, month, catalog, as_of=as_of)
    from syncverify.report.synclog_history import add_history

    add_history(data.synclog, store, month, catalog)   # coverage, volume history, month-over-month trend
    out = Path(out_dir)
    written = write_month(data, out, lang)
    if pdf:
        from syncverify.report.pdf import print_pdf

        month_dir = out / data.month
        written += [print_pdf(month_dir / f"{name}.html", month_dir / f"{name}.pdf") for name in ("consistency", "synclog")]
    written.append(write_index(out, lang))
    return written
