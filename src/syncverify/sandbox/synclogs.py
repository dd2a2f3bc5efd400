"""A month of realistic sync logs with injected incidents (for the sandbox world and benchmarks).

Normal traffic follows a weekday / hour-of-day pattern (morning and afternoon office peaks, quiet
nights and weekends), with occasional transient errors and a weekly planned restart that the
analysis must *not* report. Incidents line up exactly with the times given:

- ``error_burst``         error lines with a code (``extra["code"]``, ``extra["msg"]``) on one table
- ``stall``               no progress; status lines show the backlog growing; catch-up afterwards
- ``latency_spike_peak``  replication latency multiplied (``extra["factor"]``, default 15)
- ``restart_loop``        the link restarts every ``extra["every_minutes"]`` (default 4) minutes

DSG links write ``dsg-<link>.log`` (text, the default ``keyvalue`` format, Chinese messages partly
in GBK as older DSG builds do); consumer applications write ``consumer-<link>.log`` (JSON lines).
Each month is rotated like logrotate leaves it: days 1-10 in ``.2.gz``, 11-20 in ``.1``, the rest
in the live file.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from syncverify.calendar import month_window
from syncverify.errors import SyncverifyError

INCIDENT_KINDS = ("error_burst", "stall", "latency_spike_peak", "restart_loop")
LINK_KINDS = ("dsg", "kafka-consumer")

_DEFAULT_ERRORS = {
    "dsg": ("ORA-00001", "违反唯一约束条件 (HX.PK_{table})"),
    "kafka-consumer": ("DUPLICATE_KEY", "Duplicate entry for key PRIMARY on {table}"),
}
_TRANSIENT = {
    "dsg": ("ORA-03113", "通信通道的文件结尾 end-of-file on communication channel"),
    "kafka-consumer": ("COMMIT_FAILED", "CommitFailedException: group rebalanced"),
}


class GeneratorError(SyncverifyError):
    """Bad arguments to the log generator (unknown link or incident kind, bad month)."""


@dataclass(frozen=True)
class LogLink:
    """A link that writes logs: its id, ``dsg`` or ``kafka-consumer``, the tables it carries,
    and how busy it is relative to the others (``rate``)."""

    link_id: str
    kind: str
    tables: tuple[str, ...]
    rate: float = 1.0


@dataclass(frozen=True)
class Incident:
    """An incident to inject: kind, link, optional table, [start, end), extra settings."""

    kind: str
    link: str
    start: datetime
    end: datetime
    table: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "link": self.link,
            "table": self.table,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "extra": dict(self.extra),
        }


def as_log_link(value: Any) -> LogLink:
    """Accept a LogLink, a tuple ``(id, kind, tables[, rate])``, a dict, or a catalog link object
    (attributes ``id``/``link_id``, ``kind``, ``tables`` of strings or objects with ``table``)."""
    if isinstance(value, LogLink):
        return value
    if isinstance(value, (tuple, list)):
        link_id, kind, tables, *rest = value
        rate = float(rest[0]) if rest else 1.0
    elif isinstance(value, dict):
        link_id = value.get("link_id") or value.get("id")
        kind, tables, rate = value.get("kind"), value.get("tables") or [], float(value.get("rate", 1.0))
    else:
        link_id = getattr(value, "link_id", None) or getattr(value, "id", None)
        kind, tables, rate = getattr(value, "kind", None), getattr(value, "tables", []), 1.0
    names = []
    for t in tables or []:
        names.append(
            t
            if isinstance(t, str)
            else (getattr(t, "table", None) or getattr(t, "name", None) or (t.get("table") if isinstance(t, dict) else None))
        )
    kind = str(getattr(kind, "value", kind))
    if kind not in LINK_KINDS:
        raise GeneratorError(f"link {link_id}: kind must be one of {list(LINK_KINDS)}, got {kind!r}")
    if not link_id or not names or not all(names):
        raise GeneratorError(f"link {link_id!r}: needs an id and at least one table")
    return LogLink(str(link_id), kind, tuple(str(n) for n in names), rate)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``'2026-10'`` -> (2026-10-01 00:00, 2026-11-01 00:00); strict (``2026-1`` is an error)."""
    return month_window(month)


def _activity(day: datetime, minutes: np.ndarray) -> np.ndarray:
    """Expected events per minute (before volume and link rate) by time of day and weekday."""
    hour = minutes // 60
    level = np.full(len(minutes), 0.12)
    level[(hour >= 7) & (hour < 21)] = 0.55
    level[((hour >= 9) & (hour < 12)) | ((hour >= 14) & (hour < 18))] = 1.0
    if day.weekday() >= 5:
        level *= 0.35
    return level


class _Writer:
    """Writes one link's lines into the month's rotated files."""

    def __init__(self, out_dir: Path, stem: str, month_start: datetime) -> None:
        self.out_dir, self.stem, self.month_start = out_dir, stem, month_start
        self.handles: dict[str, io.BufferedIOBase] = {}
        self.paths: list[Path] = []

    def _file_for(self, day: datetime) -> io.BufferedIOBase:
        part = 2 if day.day <= 10 else 1 if day.day <= 20 else 0
        name = f"{self.stem}.2.gz" if part == 2 else f"{self.stem}.1" if part == 1 else self.stem
        if name not in self.handles:
            path = self.out_dir / name
            # kept open across days, closed in close()
            fh: io.BufferedIOBase
            if name.endswith(".gz"):
                fh = gzip.GzipFile(path, "wb", compresslevel=1)
            else:
                fh = open(path, "wb")  # noqa: SIM115
            self.handles[name] = fh
            self.paths.append(path)
        return self.handles[name]

    def write(self, day: datetime, data: bytes) -> None:
        self._file_for(day).write(data)

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()


def _in_windows(t: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    hit = np.zeros(len(t), dtype=bool)
    for a, b in windows:
        hit |= (t >= a) & (t < b)
    return hit


def _fmt_time(base: datetime, ms: int) -> str:
    t = base + timedelta(milliseconds=int(ms))
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def generate_month_logs(
    out_dir: str | Path,
    month: str,
    links: Iterable[Any],
    incidents: Iterable[Incident] = (),
    seed: int = 0,
    volume: float = 0.1,
    *,
    base_lag_ms: int = 800,
) -> list[Path]:
    """Write a month of logs for ``links`` with ``incidents`` injected; returns the files written.

    ``volume`` scales the number of lines: 0.1 (the default) writes about 0.5 MB per link and
    month, 10 about 35 MB. The same seed gives the same files.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    month_start, month_end = month_bounds(month)
    log_links = [as_log_link(link) for link in links]
    by_id = {link.link_id: link for link in log_links}
    incidents = list(incidents)
    for inc in incidents:
        if inc.kind not in INCIDENT_KINDS:
            raise GeneratorError(f"incident kind must be one of {list(INCIDENT_KINDS)}, got {inc.kind!r}")
        if inc.link not in by_id:
            raise GeneratorError(f"incident {inc.kind} names link {inc.link!r}, which is not among the links")
        if not inc.start < inc.end:
            raise GeneratorError(f"incident {inc.kind} on {inc.link}: start must be before end")
    rng = np.random.default_rng(seed)
    written: list[Path] = []
    for li, link in enumerate(log_links):
        stem = f"{'dsg' if link.kind == 'dsg' else 'consumer'}-{link.link_id}.log"
        writer = _Writer(out, stem, month_start)
        mine = [i for i in incidents if i.link == link.link_id]
        try:
            day = month_start
            while day < month_end:
                lines = _day_lines(link, li, day, mine, rng, volume, base_lag_ms)
                writer.write(day, lines)
                day += timedelta(days=1)
        finally:
            writer.close()
        written.extend(writer.paths)
    return written


def _ms(day: datetime, t: datetime) -> int:
    return int((t - day).total_seconds() * 1000)


def _day_lines(
    link: LogLink,
    link_index: int,
    day: datetime,
    incidents: list[Incident],
    rng: np.random.Generator,
    volume: float,
    base_lag_ms: int,
) -> bytes:
    day_ms = 86_400_000
    windows = {
        k: [
            (_ms(day, i.start), _ms(day, i.end), i)
            for i in incidents
            if i.kind == k and i.end > day and i.start < day + timedelta(days=1)
        ]
        for k in INCIDENT_KINDS
    }
    minutes = np.arange(1440)
    lam = _activity(day, minutes) * volume * link.rate * 2.0
    counts = rng.poisson(lam)
    stall_w = [(a, b) for a, b, _ in windows["stall"]]
    restart_w = [(a, b) for a, b, _ in windows["restart_loop"]]
    # progress events: times within each minute
    t = (np.repeat(minutes, counts) * 60_000 + rng.integers(0, 60_000, counts.sum())).astype(np.int64)
    t.sort()
    t = t[~_in_windows(t, stall_w)]
    n = len(t)
    weights = np.array([1.0 / (k + 1) for k in range(len(link.tables))])
    table_idx = rng.choice(len(link.tables), size=n, p=weights / weights.sum())
    batch = np.maximum(1, rng.lognormal(np.log(80), 0.8, n)).astype(np.int64)
    # after a stall the link catches up with bigger batches for as long as it was stalled
    for a, b, _ in windows["stall"]:
        catch = (t >= b) & (t < b + (b - a))
        batch[catch] *= 6
    ins = (batch * rng.uniform(0.7, 1.0, n)).astype(np.int64)
    upd = ((batch - ins) * rng.uniform(0.5, 1.0, n)).astype(np.int64)
    dele = batch - ins - upd
    hour = t // 3_600_000
    peak = ((hour >= 9) & (hour < 12)) | ((hour >= 14) & (hour < 18))
    lag = base_lag_ms * (1 + 0.3 * peak) * rng.lognormal(0, 0.35, n)
    for a, b, inc in windows["latency_spike_peak"]:
        lag[(t >= a) & (t < b)] *= float(inc.extra.get("factor", 15))
    lag = lag.astype(np.int64)
    backlog = (lag / 1000 * batch / 10).astype(np.int64)
    events: list[tuple[int, str, dict[str, Any]]] = []
    for k in range(n):
        events.append(
            (
                int(t[k]),
                "apply",
                {
                    "table": link.tables[table_idx[k]],
                    "ins": int(ins[k]),
                    "upd": int(upd[k]),
                    "del": int(dele[k]),
                    "batch": int(batch[k]),
                    "lag_ms": int(lag[k]),
                    "backlog": int(backlog[k]),
                },
            )
        )
    # status heartbeat every 30 minutes, every 5 during a stall (backlog growing)
    status_t = list(range(0, day_ms, 30 * 60_000))
    for a, b, _ in windows["stall"]:
        status_t += list(range(max(a, 0), min(b, day_ms), 5 * 60_000))
    for st in sorted(set(status_t)):
        grow = 0
        for a, b, _ in windows["stall"]:
            if a <= st < b:
                grow = (st - a) // 60_000 * int(400 * max(volume, 0.05))
        events.append((st, "status", {"lag_ms": int(base_lag_ms * (1 + grow / 50)), "backlog": 20 + grow}))
    # incidents
    for a, b, inc in windows["error_burst"]:
        code, msg = _DEFAULT_ERRORS[link.kind]
        code = str(inc.extra.get("code", code))
        msg = str(inc.extra.get("msg", msg))
        table = inc.table or link.tables[0]
        rate = float(inc.extra.get("per_minute", 3.0))
        lo, hi = max(a, 0), min(b, day_ms)
        n_err = rng.poisson(rate * (hi - lo) / 60_000)
        for k, et in enumerate(np.sort(rng.integers(lo, hi, n_err))):
            events.append(
                (
                    int(et),
                    "error",
                    {
                        "table": table,
                        "batch": int(rng.integers(20, 200)),
                        "code": code,
                        "msg": msg.format(table=table.upper()),
                        "retry": k % 4,
                    },
                )
            )
    for a, b, inc in windows["restart_loop"]:
        every = int(inc.extra.get("every_minutes", 4)) * 60_000
        for rt in range(max(a, 0), min(b, day_ms), every):
            events.append((rt, "restart", {"reason": str(inc.extra.get("reason", "apply process exited, code 137"))}))
    # normal noise the analysis must tolerate: rare transient errors, a weekly planned restart
    if rng.random() < 0.3:
        code, msg = _TRANSIENT[link.kind]
        et = int(rng.integers(0, day_ms))
        if not _in_windows(np.array([et]), stall_w + restart_w)[0]:
            events.append((et, "error", {"table": link.tables[0], "batch": 1, "code": code, "msg": msg, "retry": 1}))
    if day.weekday() == 6:
        events.append((2 * 3_600_000 + link_index * 60_000, "restart", {"reason": "planned maintenance"}))
    events.sort(key=lambda e: e[0])
    render = _render_dsg if link.kind == "dsg" else _render_consumer
    return b"".join(render(link.link_id, day, ts, kind, f, k) for k, (ts, kind, f) in enumerate(events))


def _render_dsg(link_id: str, day: datetime, ts: int, kind: str, f: dict[str, Any], k: int) -> bytes:
    when = _fmt_time(day, ts)
    if kind == "apply":
        return (
            f"{when} [{link_id}] INFO APPLY table={f['table']} ins={f['ins']} upd={f['upd']} del={f['del']} "
            f"batch={f['batch']} lag_ms={f['lag_ms']} backlog={f['backlog']}\n"
        ).encode()
    if kind == "status":
        return f"{when} [{link_id}] INFO STATUS lag_ms={f['lag_ms']} backlog={f['backlog']}\n".encode()
    if kind == "restart":
        return f'{when} [{link_id}] WARN RESTART reason="{f["reason"]}"\n'.encode()
    line = (
        f"{when} [{link_id}] ERROR APPLY table={f['table']} batch={f['batch']} code={f['code']} "
        f'msg="{f["msg"]}" retry={f["retry"]}\n'
    )
    # older DSG builds write messages in the server's GBK locale: mix both encodings
    return line.encode("gbk", errors="replace") if k % 2 else line.encode("utf-8")


def _render_consumer(link_id: str, day: datetime, ts: int, kind: str, f: dict[str, Any], k: int) -> bytes:
    when = _fmt_time(day, ts).replace(" ", "T") + "+08:00"
    obj: dict[str, Any] = {"ts": when, "app": link_id}
    if kind == "apply":
        obj.update(
            level="INFO",
            event="consume",
            table=f["table"].lower(),
            records=f["batch"],
            inserted=f["ins"],
            updated=f["upd"],
            deleted=f["del"],
            latency_ms=f["lag_ms"],
            lag=f["backlog"],
        )
    elif kind == "status":
        obj.update(level="INFO", event="status", latency_ms=f["lag_ms"], lag=f["backlog"])
    elif kind == "restart":
        obj.update(level="WARN", event="restart", message=f["reason"])
    else:
        obj.update(
            level="ERROR",
            event="error",
            table=f["table"].lower(),
            records=f["batch"],
            error_code=f["code"],
            message=f["msg"],
            retry=f["retry"],
        )
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
