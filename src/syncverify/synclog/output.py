"""Write a :class:`MonthAnalysis` as JSON (everything) and Parquet (one table per series)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from syncverify.safefiles import REPORT_MODE, write_file
from syncverify.synclog.model import MonthAnalysis

JSON_NAME = "synclog_analysis.json"


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    if not rows:
        return pa.table({})
    # nested values (lists, dicts) are stored as JSON text so every column has one type
    flat = [
        {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v) for k, v in r.items()} for r in rows
    ]
    return pa.Table.from_pylist(flat)


def analysis_tables(analysis: MonthAnalysis) -> dict[str, pa.Table]:
    """The analysis as flat tables: links, tables, hourly, error_classes, error_matrix,
    stalls, abnormal_days, slow_periods, findings, correlations."""
    d = analysis.to_dict()
    rows: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "links",
            "tables",
            "hourly",
            "error_classes",
            "error_matrix",
            "stalls",
            "abnormal_days",
            "slow_periods",
            "findings",
            "correlations",
        )
    }
    for la in d["links"]:
        link = la["link"]
        rows["links"].append(
            {
                "link": link,
                "source": la["source"],
                **la["volume"],
                **{f"lag_{k}": v for k, v in la["latency"].items()},
                "backlog_peak": la["backlog_peak"]["value"],
                "backlog_peak_at": la["backlog_peak"]["at"],
                "stalls": len(la["stalls"]),
                "error_bursts": len(la["error_bursts"]),
                "restart_loops": len(la["restart_loops"]),
                "latency_spikes": len(la["latency_spikes"]),
                "slow_hours": la["slow_hours"],
                "abnormal_days": len(la["abnormal_days"]),
            }
        )
        for t in la["tables"]:
            lat = t.pop("latency")
            rows["tables"].append({"link": link, **t, **{f"lag_{k}": v for k, v in lat.items()}})
        rows["hourly"] += [{"link": link, **h} for h in la["hourly"]]
        rows["error_classes"] += [{"link": link, **e} for e in la["error_classes"]]
        m = la["error_matrix"]
        rows["error_matrix"] += [
            {"link": link, "day": day, "hour": h, "errors": c}
            for day, counts in zip(m["days"], m["counts"], strict=True)
            for h, c in enumerate(counts)
            if c
        ]
        rows["stalls"] += [{"link": link, **s} for s in la["stalls"]]
        rows["abnormal_days"] += [{"link": link, **a} for a in la["abnormal_days"]]
        rows["slow_periods"] += [{"link": link, **p} for p in la["slow_periods"]]
    rows["findings"] = d["findings"]
    rows["correlations"] = d["correlations"]
    return {name: _table(r) for name, r in rows.items()}


def write_analysis(analysis: MonthAnalysis, out_dir: str | Path) -> dict[str, Path]:
    """Write ``synclog_analysis.json`` and one Parquet file per table; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    # Report files: group-readable only, never written through a symbolic link.
    written["json"] = write_file(out / JSON_NAME, json.dumps(analysis.to_dict(), ensure_ascii=False, indent=1),
                                 REPORT_MODE)
    for name, table in analysis_tables(analysis).items():
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        written[name] = write_file(out / f"synclog_{name}.parquet", sink.getvalue().to_pybytes(), REPORT_MODE)
    return written
