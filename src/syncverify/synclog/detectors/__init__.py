"""Per-link detectors of the monthly sync-log analysis, one module per family.

* :mod:`.context` — the link's dense per-minute arrays over the month (what every detector reads);
* :mod:`.robust` — robust statistics (median and MAD, runs, episodes, histogram percentiles);
* :mod:`.figures` — descriptive figures: hourly series, latency percentiles, tables, error heat map;
* :mod:`.failures` — failure modes: stalls, error classes and bursts, restart loops;
* :mod:`.bottlenecks` — performance bottlenecks: latency spikes, recurring slow periods;
* :mod:`.abnormal` — abnormal behaviour: days unlike the link's own normal.
"""
