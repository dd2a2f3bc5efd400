"""Month windows and cut-offs in Asia/Shanghai (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncverify.calendar import cut_off, local_now, month_window, previous_month
from syncverify.errors import SyncverifyError
from syncverify.runner.jobs import monthly_params, options_from
from syncverify.runner.options import Depth


def test_month_window_is_half_open_local() -> None:
    assert month_window("2026-10") == (datetime(2026, 10, 1), datetime(2026, 11, 1))
    assert month_window("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    start, end = month_window("2026-10")
    # a row at 2026-10-31 23:59:59 is inside, one at 2026-11-01 00:00:00 is not
    assert start <= datetime(2026, 10, 31, 23, 59, 59) < end
    assert not datetime(2026, 11, 1) < end


@pytest.mark.parametrize("bad", ["2026-13", "26-10", "2026-1", "", "2026/10"])
def test_bad_month(bad: str) -> None:
    with pytest.raises(SyncverifyError, match="must look like 2026-10"):
        month_window(bad)


def test_previous_month_uses_bureau_time_zone() -> None:
    # 2026-10-31 18:00 UTC is already 2026-11-01 02:00 in Shanghai: the month to verify is October
    assert previous_month(datetime(2026, 10, 31, 18, 0, tzinfo=UTC)) == "2026-10"
    assert previous_month(datetime(2026, 10, 31, 15, 59, tzinfo=UTC)) == "2026-09"
    assert previous_month(datetime(2027, 1, 1, 2, 0)) == "2026-12"


def test_cut_off_and_local_now() -> None:
    now = datetime(2026, 10, 31, 16, 5, tzinfo=UTC)          # 2026-11-01 00:05 local
    assert local_now(now) == datetime(2026, 11, 1, 0, 5)
    end = datetime(2026, 11, 1)
    assert cut_off(end, timedelta(minutes=30), now) == datetime(2026, 10, 31, 23, 35)
    assert cut_off(end, timedelta(minutes=30), datetime(2026, 11, 29, tzinfo=UTC)) == end


def test_trigger_form_to_options() -> None:
    params = monthly_params({"month": None, "links": ["zz11"], "depth": "checksum", "flows": []},
                            datetime(2026, 11, 1, 2, 0, tzinfo=UTC))
    assert params["month"] == "2026-10" and "flows" not in params
    options = options_from(params)
    assert options.links == ["zz11"] and options.depth is Depth.CHECKSUM and options.flows is None
    assert options_from({"month": "2026-10", "tables": "fp_fpxx, yp_ypxx"}).tables == ["fp_fpxx", "yp_ypxx"]
    with pytest.raises(SyncverifyError, match="no logical date"):
        monthly_params({}, None)
