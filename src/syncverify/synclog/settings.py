"""Thresholds of the sync-log detectors (:class:`Settings`), shared by the analysis and the findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncverify.calendar import BUREAU_TZ


@dataclass(frozen=True)
class Settings:
    """Rule thresholds. The robust rules compare with the link's own normal; these only set how
    unusual is unusual and floors that keep tiny numbers from becoming findings."""

    stall_min_minutes: int = 15
    stall_max_chance: float = 1e-7  # a gap this unlikely under the normal pattern is a stall
    stall_backlog_growth: int = 1000  # ... or the backlog grew this much without progress
    burst_gap_minutes: int = 10  # errors closer than this belong to one episode
    burst_min_errors: int = 10
    burst_baseline_factor: float = 5.0  # an episode above 5x the link's median errors per day
    retry_storm_retries: int = 10
    restart_gap_minutes: int = 20
    restart_loop_min: int = 3
    spike_min_samples: int = 3
    spike_min_slow: int = 3  # samples above spike_ratio x normal: one slow batch is not a spike
    spike_score: float = 6.0
    spike_ratio: float = 3.0
    slow_ratio: float = 2.5  # an hour of day whose typical p95 is 2.5x the link's
    abnormal_score: float = 5.0
    abnormal_rel: float = 0.5
    log_timezone: str = BUREAU_TZ.key  # logs write local time; aware anomaly windows convert to it

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
