"""Parsers: every line becomes an event or a counted, sampled malformed line; never a crash."""

from __future__ import annotations

import gzip
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncverify.synclog import bytescan as bs
from syncverify.synclog.formats import load_formats
from syncverify.synclog.parsers import ParseStats, parse_files
from syncverify.synclog.parsers.chunk import KIND_APPLY, KIND_ERROR, KIND_RESTART, KIND_STATUS, Chunk
from syncverify.synclog.parsers.jsonl import parse_jsonl
from syncverify.synclog.parsers.keyvalue import parse_keyvalue
from syncverify.synclog.parsers.regex import parse_regex
from syncverify.synclog.parsers.stats import decode_text

DATA = Path(__file__).resolve().parents[1] / "data" / "synclog"
FORMATS = load_formats()


def _accounted(stats: ParseStats) -> int:
    return stats.events + stats.malformed_total + stats.blank + stats.other_events + stats.out_of_range


def test_dsg_sample_events_and_malformed_lines() -> None:
    parsed = parse_files(DATA / "dsg-zz11.log", FORMATS)
    ev, stats = parsed.events.to_pylist(), parsed.stats
    assert stats.lines == 16 and _accounted(stats) == 16
    assert stats.malformed == {"truncated": 2, "bad_time": 2, "bad_value": 1}
    assert stats.encodings == {"ascii": 14, "gbk": 1}
    assert stats.blank == 1 and stats.other_events == 1
    first = ev[0]
    assert (first["link"], first["table"], first["kind"]) == (b"zz11", b"FP_FPXX", KIND_APPLY)
    assert (first["ins"], first["upd"], first["del"], first["batch"], first["lag_ms"], first["backlog"]) == (
        120,
        3,
        0,
        123,
        850,
        42,
    )
    assert str(first["ts"]) == "2026-10-09 09:31:02.117000"
    err = ev[1]
    assert err["kind"] == KIND_ERROR and err["code"] == b"ORA-00001" and err["retry"] == 2
    assert err["msg"].startswith(b"unique constraint (HX.PK_FPXX) violated")
    assert ev[2]["kind"] == KIND_RESTART and ev[2]["msg"] == b"apply process exited"
    assert ev[3]["kind"] == KIND_STATUS and ev[3]["backlog"] == 3000  # line ended with \r\n
    gbk = next(e for e in ev if e["code"] == b"ORA-12899")
    assert decode_text(gbk["msg"]) == "值太大 for column GMFMC"
    # the last line has no newline (file cut while written) but is complete
    assert ev[-1]["ins"] == 5 and ev[-1]["backlog"] is None
    assert all(len(v) <= 5 for v in stats.samples.values())
    assert any(":11:" in s for s in stats.samples["truncated"])


def test_samples_mask_taxpayer_ids(tmp_path: Path) -> None:
    path = tmp_path / "dsg-x.log"
    path.write_bytes(b'2026-10-09 09:46:00.000 [zz11] ERROR APPLY code=E msg="nsrsbh 91450100MA5K8X2Q3D\n')
    stats = parse_files(path, FORMATS).stats
    assert stats.malformed == {"truncated": 1}
    assert "91450100MA5K8X2Q3D" not in stats.samples["truncated"][0]
    assert "914501**********3D" in stats.samples["truncated"][0]


def test_rotated_and_gzip_files_read_as_they_are(tmp_path: Path) -> None:
    parsed = parse_files(DATA / "rotated", FORMATS)
    assert parsed.stats.events == 11 and parsed.stats.malformed_total == 0
    assert sorted(f.compressed for f in parsed.stats.files) == [False, False, True]
    # gzip is recognised by content, not by name
    renamed = tmp_path / "dsg-zz04.log.3"
    shutil.copy(DATA / "rotated" / "dsg-zz04.log.2.gz", renamed)
    assert parse_files(renamed, FORMATS).stats.events == 5


def test_cut_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    data = gzip.compress(
        b"".join(
            f"2026-10-01 10:{m:02d}:00.000 [zz04] INFO APPLY table=T ins=1 upd=0 del=0 lag_ms=5\n".encode()
            for m in range(60)
        )
        * 200
    )
    path = tmp_path / "dsg-zz04.log.2.gz"
    path.write_bytes(data[: len(data) // 2])
    parsed = parse_files(path, FORMATS)
    assert parsed.stats.malformed.get("unreadable_file") == 1
    assert parsed.stats.files[0].error


def test_jsonl_sample() -> None:
    parsed = parse_files(DATA / "consumer-GXJF-QUERY.log", FORMATS)
    stats = parsed.stats
    assert stats.malformed == {"truncated": 1, "not_json": 1, "bad_time": 1}
    kinds = parsed.events.column("kind").to_pylist()
    assert kinds == [KIND_APPLY, KIND_ERROR, KIND_RESTART, KIND_STATUS]
    apply = parsed.events.to_pylist()[0]
    assert (
        apply["link"],
        apply["table"],
        apply["ins"],
        apply["batch"],
        apply["lag_ms"],
        apply["backlog"],
    ) == (b"GXJF-QUERY", b"fp_fpxx", 480, 500, 850, 1200)
    assert decode_text(parsed.events.column("code")[1].as_py()) == "DUPLICATE_KEY"


def test_jsonl_block_with_a_bad_type_falls_back_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "consumer-A.log"
    path.write_text(
        '{"ts":"2026-10-01T10:00:00","app":"A","event":"consume","records":5}\n'
        '{"ts":"2026-10-01T10:01:00","app":"A","event":"consume","records":{"n":1}}\n'
        '{"ts":"2026-10-01T10:02:00","app":"A","event":"consume","records":7}\n',
        encoding="utf-8",
    )
    parsed = parse_files(path, FORMATS)
    assert parsed.events.column("batch").to_pylist() == [5, None, 7]


def test_regex_source_with_gbk_line() -> None:
    parsed = parse_files(DATA / "dsgpipe-ZZ25.log", FORMATS)
    assert parsed.stats.malformed == {"no_match": 2}
    assert parsed.stats.encodings == {"ascii": 4, "gbk": 1}
    msgs = [decode_text(m) for m in parsed.events.column("msg").to_pylist() if m]
    assert msgs == ["snapshot too old", "值太大"]


def test_time_range_counts_lines_outside() -> None:
    from syncverify.synclog.timebase import month_range_ms

    parsed = parse_files(DATA / "dsg-zz11.log", FORMATS, time_range=month_range_ms("2026-10"))
    assert parsed.stats.out_of_range == 1
    assert int(pc.max(parsed.events.column("ts")).cast("int64").as_py()) < month_range_ms("2026-10")[1]


@given(st.lists(st.integers(min_value=0, max_value=10**16 - 1), min_size=1, max_size=50))
def test_swar_integer_parsing_matches_python(values: list[int]) -> None:
    text = b" ".join(str(v).encode() for v in values)
    a = bs.padded(text)
    starts, pos = [], 0
    for v in values:
        starts.append(pos)
        pos += len(str(v)) + 1
    lengths = np.array([len(str(v)) for v in values])
    got, ok = bs.parse_uints(a, np.array(starts), lengths)
    assert ok.all() and got.tolist() == values


_LINEISH = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"2026-10-09 09:31:02.117 [zz11] INFO APPLY table=T ins=1",
            b'msg="',
            b"=",
            b"\r",
            b'{"ts":"2026-10-01T00:00:00","app":"A","event":"consume"}',
            b"{",
            b"}",
            b"\xff\xfe",
            "中文".encode("gbk"),
            b"2026-10-09T09:31:02 ",
            b" ins=99999999999999999999",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINEISH, max_size=30).map(lambda parts: b"\n".join(parts)))
@pytest.mark.parametrize("parser, source", [(parse_keyvalue, "dsg"), (parse_regex, "dsg_pipe"), (parse_jsonl, "consumer")])
def test_parsers_never_crash_on_arbitrary_bytes(parser, source, data: bytes) -> None:
    stats = ParseStats()
    if not data:
        return
    chunk = Chunk(data, Path("fuzz.log"), 0, stats)
    table = parser(chunk, FORMATS[source], None, None)
    stats.lines += chunk.n
    assert table.num_rows == stats.events
    assert _accounted(stats) == chunk.n


@given(st.lists(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)), min_size=1, max_size=40))
def test_timestamp_parsing_matches_python(values: list[datetime]) -> None:
    texts = [v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond // 1000:03d}" for v in values]
    buf = "\n".join(texts).encode()
    a = bs.padded(buf)
    starts = np.array([sum(len(t) + 1 for t in texts[:k]) for k in range(len(texts))])
    ms, ok, width = bs.parse_times(a, starts, np.full(len(texts), 23))
    # integer arithmetic: total_seconds() * 1000 loses the last millisecond to float rounding
    expected = [(v - datetime(1970, 1, 1)) // timedelta(milliseconds=1) for v in values]
    assert ok.all() and width.tolist() == [23] * len(values)
    assert ms.tolist() == expected
