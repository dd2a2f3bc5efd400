"""Sync-log findings in the report's language.

The analysis states each finding in English (title and action) with structured evidence. The
Chinese report re-states it from the evidence with the templates below, so the numbers are the
analysis's own; English reports use the analysis's sentences as they are. A finding of a kind
these templates do not know keeps its English sentences rather than losing them.
"""

from __future__ import annotations

from typing import Any

from syncverify.calendar import BUREAU_TZ
from syncverify.timefmt import local_time

CATEGORY_ZH = {
    "unique_key_conflict": "唯一键冲突",
    "value_too_large": "字段超长",
    "not_null_violation": "非空约束冲突",
    "deadlock_or_lock_wait": "死锁或锁等待",
    "snapshot_too_old": "快照过旧",
    "space_exhausted": "空间不足",
    "connectivity": "网络或连接中断",
    "deserialization": "消息格式不符",
    "other": "其他错误",
}

ACTION_ZH = {
    "unique_key_conflict": "修复表 {table} 的唯一键冲突："
    "查出重复键（常见于重启后重发或两端同时写入），将应用改为幂等写入"
    "（MERGE / INSERT ... ON DUPLICATE KEY UPDATE）或订正目标端数据，然后重新同步失败批次。",
    "value_too_large": "使目标端表 {table} 的字段长度/精度与源端一致，然后重新应用被拒绝的批次。",
    "not_null_violation": "表 {table} 的必填字段为空到达：修正字段映射或源数据后重新应用。",
    "deadlock_or_lock_wait": "表 {table} 存在锁冲突：将更新该表的批处理作业移出同步高峰，缩小事务或为外键建索引。",
    "snapshot_too_old": "调大源端 UNDO_RETENTION 或缩短表 {table} 的抽取事务。",
    "space_exhausted": "在下一批次前扩充目标端表空间/磁盘，并重新应用表 {table} 的失败批次。",
    "connectivity": "检查链路两端之间的网络与数据库监听（超时、防火墙空闲断开），确保重试会重新应用中断的批次。",
    "deserialization": "表 {table} 的消息与消费端结构不符：对齐生产端与消费端版本，并重放跳过的位点。",
    "other": "会同 DBA/应用负责人排查表 {table} 的错误 {code}，修复后重新应用失败批次。",
}

METRIC_ZH = {
    "rows": "同步行数",
    "errors": "错误数",
    "restarts": "重启次数",
    "lag_ms": "同步延迟",
    "lag_p95_ms": "同步延迟 P95（毫秒）",
}


def _md(iso: Any) -> str:
    """``2026-10-09T09:00:00.244`` -> ``10-09 09:00`` (where the zone is said beside it)."""
    text = str(iso or "")
    return text[5:16].replace("T", " ") if len(text) >= 16 else text


def _t(iso: Any) -> str:
    """A sync-log time (the bureau's naive local time) as people read it: ``2026-10-09 09:00 +08:00``."""
    if not iso:
        return ""
    return local_time(str(iso), naive=BUREAU_TZ)


def _n(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2f}"


def _open_zh(e: dict[str, Any]) -> str:
    """``，截至 10-31 24:00（Asia/Shanghai）仍未结束`` for an episode still open at the window's end."""
    if not e.get("open"):
        return ""
    at = str(e.get("open_at") or "")
    stamp = _md(at)
    if at[11:16] == "00:00" and len(at) >= 10:
        from datetime import date, timedelta
        stamp = f"{(date.fromisoformat(at[:10]) - timedelta(days=1)).strftime('%m-%d')} 24:00"
    return f"，截至 {stamp}（{e.get('time_zone') or ''}）仍未结束"


def finding_zh(f: dict[str, Any]) -> tuple[str, str] | None:
    """(title, action) in Chinese from a finding's kind and evidence; None for unknown kinds."""
    e: dict[str, Any] = f.get("evidence_raw") or {}
    link, start, end = f.get("link"), _t(f.get("start")), _t(f.get("end"))
    kind = f.get("kind")
    try:
        if kind == "error_burst":
            category = str(e.get("category") or "other")
            tables = "、".join(e.get("tables") or []) or "该链路各表"
            storm = "，并伴随重试风暴" if e.get("retry_storm") else ""
            title = (
                f"{link}：{start}～{end} 表 {tables} 出现 {_n(e.get('errors'))} 次 {e.get('code')} 错误"
                f"（{CATEGORY_ZH.get(category, category)}）{storm}{_open_zh(e)}"
            )
            action = ACTION_ZH.get(category, ACTION_ZH["other"]).format(table=tables, code=e.get("code"))
            if e.get("retry_storm"):
                action += "为重试设置退避上限：原因未消除时重试风暴只会加重负载。"
            return title, action
        if kind == "stall":
            grew = (
                f"，积压由 {_n(e.get('backlog_start') or 0)} 增至 {_n(e.get('backlog_peak'))}"
                if e.get("backlog_peak") is not None
                else ""
            )
            silent = f"日志自 {_t(e.get('last_line'))} 起中断，" if e.get("reason") == "log_silent" else ""
            return (
                f"{link}：{start}～{end} 停滞 {_n(e.get('minutes'))} 分钟，{silent}未应用任何数据{grew}{_open_zh(e)}",
                f"检查 {link} 的应用（replicat）进程及源端抽取在 {start}～{end} 的状态（阻塞会话、"
                f"连接丢失、任务暂停）；"
                "增加“积压大于 0 而长时间无应用”的告警，并核实该时段写入的数据已到达目标端。",
            )
        if kind == "restart_loop":
            reason = e.get("reason") or "未记录原因"
            return (
                f"{link}：{start}～{end} 循环重启 {_n(e.get('restarts'))} 次"
                f"（中位间隔 {_n(e.get('median_gap_minutes'))} 分钟）",
                f"排查 {link} 的循环重启：查看 {start} 前后进程日志中的退出原因（{reason}），"
                f"检查内存限制/OOM 与检查点；"
                "连续失败 3 次后停止自动重启并告警，避免反复重放同一批次。",
            )
        if kind == "latency_spike":
            where = "业务高峰时段" if e.get("in_peak_hours") else "非高峰时段"
            action = (
                "将访问该链路源端或目标端的批处理作业（批量导入、统计、对账）移出 09:00–11:00 / "
                "14:00–17:00 高峰，"
                "并在高峰时段提高链路应用并行度。"
                if e.get("in_peak_hours")
                else "核查该时段源端/目标端运行的作业（备份、批处理），与链路繁忙时段错开。"
            )
            return (
                f"{link}：{start}～{end} 同步延迟 P95 达 {_n(e.get('peak_p95_ms'))} 毫秒，"
                f"为平时 {_n(e.get('normal_p95_ms'))} 毫秒的 {_n(e.get('ratio'))} 倍（{where}）",
                action + f"确认 {start}～{end} 的数据在宽限时间内到达。",
            )
        if kind == "bottleneck":
            hours = "、".join(f"{int(h):02d}:00" for h in e.get("hours") or [])
            share = float(e.get("rows_share") or 0)
            return (
                f"{link}：{hours} 持续偏慢（最慢的 {int(e.get('worst_hour') or 0):02d}:00 延迟为链路常态的 "
                f"{float(e.get('ratio') or 0):.1f} 倍）",
                f"在这些时段提高链路应用并行度（或将最大的表拆分为独立应用组），并把批处理作业移出；"
                f"这些时段承载本月 {share:.0%} 的数据量。",
            )
        if kind == "abnormal_day":
            metric = str(e.get("metric"))
            return (
                f"{link}：{e.get('day')} 的{METRIC_ZH.get(metric, metric)}为 {_n(e.get('value'))}，"
                f"常态为 {_n(e.get('median'))}（稳健 z 值 {float(e.get('score') or 0):+.1f}）",
                f"复核 {link} 在 {e.get('day')} 的运行：对照当天源端业务量与运行日志。",
            )
        if kind == "no_logs":
            month = e.get("month") or ""
            return (
                f"{link}：{month} 没有任何同步日志（未读到该链路的日志文件）",
                f"将 {link} 的同步进程或消费程序日志收集到同步日志目录（或在 checks/synclog.yaml 中登记其格式），"
                "否则该链路的停滞、错误无法发现，其一致性异常也无法从日志解释。",
            )
        if kind == "volume_anomaly":
            day, table = e.get("day"), f.get("table") or ""
            src, tgt = e.get("source_rows"), e.get("target_rows")
            if e.get("both_sides_zero"):
                what = "两端均无数据"
            else:
                what = "数据量骤降" if any(float(e.get(f"{s}_z") or 0) < 0 for s in ("source", "target")) else "数据量骤增"
            median = e.get("source_median", e.get("target_median"))
            return (
                f"{link}：表 {table} 在 {day} {what}（源端 {_n(src)} 行、目标端 {_n(tgt)} 行，"
                f"近 {_n(e.get('weeks_of_history'))} 周同一星期几的中位数 {_n(median)} 行）",
                f"与 {link} 的负责人确认 {day} 表 {table} 的业务量是否属实：源端停止写入、抽取或作业未运行时，"
                "两端一致，一致性核对发现不了。",
            )
    except (TypeError, ValueError):
        return None
    return None


def finding_text(f: dict[str, Any], lang: str) -> tuple[str, str]:
    """(title, action) of a finding in ``lang``."""
    if lang == "zh":
        zh = finding_zh(f)
        if zh is not None:
            return zh
    return f.get("title") or "", f.get("action") or ""


EVIDENCE_KEY_ZH = {
    "code": "错误码",
    "category": "类别",
    "errors": "错误数",
    "minutes": "分钟",
    "per_minute_peak": "每分钟峰值",
    "baseline_errors_per_day": "日常每日错误数",
    "tables": "表",
    "retries": "重试次数",
    "retry_max": "最大重试",
    "retry_storm": "重试风暴",
    "rows_in_failed_batches": "失败批次行数",
    "sample_message": "示例信息",
    "expected_active_minutes": "正常应有活动分钟",
    "chance_under_normal_pattern": "常态下出现概率",
    "backlog_start": "起始积压",
    "backlog_peak": "积压峰值",
    "reason": "原因",
    "restarts": "重启次数",
    "median_gap_minutes": "重启中位间隔（分钟）",
    "hours": "小时",
    "peak_p95_ms": "峰值 P95（毫秒）",
    "normal_p95_ms": "常态 P95（毫秒）",
    "ratio": "倍数",
    "in_peak_hours": "业务高峰",
    "worst_hour": "最慢小时",
    "rows_share": "数据量占比",
    "day": "日期",
    "metric": "指标",
    "value": "数值",
    "median": "中位数",
    "mad": "MAD",
    "score": "稳健 z 值",
    "month": "月份",
    "links_with_logs": "有日志的链路",
    "links_expected": "应有日志的链路",
    "weekday": "星期",
    "source_rows": "源端行数",
    "target_rows": "目标端行数",
    "both_sides_zero": "两端均为零",
    "weeks_of_history": "历史周数",
    "rule": "判定规则",
    "source_median": "源端中位数",
    "source_mad": "源端 MAD",
    "source_z": "源端 z 值",
    "target_median": "目标端中位数",
    "target_mad": "目标端 MAD",
    "target_z": "目标端 z 值",
}


def evidence_label(key: str, lang: str) -> str:
    return EVIDENCE_KEY_ZH.get(key, key) if lang == "zh" else key


STALL_REASON_ZH = {"no_progress": "无进展", "backlog_growing": "积压持续增长"}
# Kinds of log event a ticket's root cause names (synclog.model.Finding.kind).
FINDING_KIND_ZH = {
    "error_burst": "错误突增",
    "stall": "同步停滞",
    "restart_loop": "反复重启",
    "latency_spike": "延迟突增",
    "bottleneck": "吞吐瓶颈",
    "abnormal_day": "异常日",
    "redelivery": "消息重投",
    "volume_anomaly": "数据量异常",
    "no_logs": "无日志",
    "consumer_lag": "消费积压",
}

_LABELS = {"category": CATEGORY_ZH, "metric": METRIC_ZH, "stall_reason": STALL_REASON_ZH, "finding": FINDING_KIND_ZH}


def label(group: str, key: Any, lang: str) -> str:
    """A code of the analysis (error category, metric, stall reason) as the report says it."""
    text = str(key) if key is not None else "-"
    return _LABELS.get(group, {}).get(text, text) if lang == "zh" else text
