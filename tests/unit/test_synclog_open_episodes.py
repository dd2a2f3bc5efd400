"""Episodes still going when the analysed window ends are reported as open, with the zone;
links the catalog expects and whose logs are absent are findings."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncverify.sandbox.synclogs import Incident, generate_month_logs
from syncverify.synclog import analyse

MONTH = "2026-10"
END = datetime(2026, 11, 1)
LINKS = [("YP-ENTRY", "kafka-consumer", ("yp_ypxx",), 1.0), ("zz11", "dsg", ("fp_fpxx",), 1.0)]


def test_a_stall_running_to_the_month_end_is_reported_still_open(tmp_path) -> None:
    generate_month_logs(tmp_path, MONTH, LINKS, [
        Incident("stall", "YP-ENTRY", END - timedelta(hours=6), END - timedelta(seconds=1), table="yp_ypxx"),
        Incident("error_burst", "zz11", END - timedelta(minutes=40), END - timedelta(seconds=1), table="fp_fpxx",
                 extra={"code": "ORA-00001", "per_minute": 4.0})], seed=3)
    analysis = analyse(tmp_path, MONTH, workers=1, expected_links=["YP-ENTRY", "zz11", "SK-GXKAFKA"])
    stalls = [f for f in analysis.findings if f.kind == "stall" and f.link == "YP-ENTRY"]
    assert len(stalls) == 1
    stall = stalls[0]
    assert stall.evidence["open"] is True and stall.evidence["time_zone"] == "Asia/Shanghai"
    assert "still open at 10-31 24:00 (Asia/Shanghai)" in stall.title
    assert stall.end == END and stall.start <= END - timedelta(hours=6)
    assert stall.evidence["backlog_peak"] > stall.evidence["backlog_start"]
    bursts = [f for f in analysis.findings if f.kind == "error_burst" and f.link == "zz11"]
    assert bursts and bursts[0].evidence["open"] is True and "still open at 10-31 24:00" in bursts[0].title
    # coverage: which links had logs, which had none (a finding)
    assert analysis.coverage["links_without_logs"] == ["SK-GXKAFKA"]
    assert [f.link for f in analysis.findings if f.kind == "no_logs"] == ["SK-GXKAFKA"]
    assert analysis.to_dict()["coverage"]["links_with_logs"] == ["YP-ENTRY", "zz11"]


def test_an_interior_stall_is_closed_and_a_shorter_window_ends_where_it_is_told(tmp_path) -> None:
    start = datetime(2026, 10, 14, 14, 0)
    generate_month_logs(tmp_path, MONTH, LINKS[:1], [
        Incident("stall", "YP-ENTRY", start, start + timedelta(hours=3), table="yp_ypxx")], seed=4)
    whole = [f for f in analyse(tmp_path, MONTH, workers=1).findings if f.kind == "stall"]
    assert len(whole) == 1 and not whole[0].evidence.get("open") and "still open" not in whole[0].title
    # A window that ends inside the stall (a month in progress, a patrol) reports it open there.
    cut = analyse(tmp_path, MONTH, workers=1, window_end=datetime(2026, 10, 14, 16, 0)).findings
    open_now = [f for f in cut if f.kind == "stall"]
    assert len(open_now) == 1 and "still open at 10-14 16:00 (Asia/Shanghai)" in open_now[0].title
