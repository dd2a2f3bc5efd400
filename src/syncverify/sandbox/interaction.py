"""Origin rows of the interaction platform (征纳互动) in the sandbox world.

Kept apart from :mod:`.generate` (the e-invoice origins) because these systems write their own
data independently of invoices: the province's precise-push and case-distribution DB, the
intelligent-interaction DB, knowledge searches in the province knowledge DB, the behaviour
collection channel, the 税智撑 hub's taxpayer records, and the patrol figures (Guangxi's computed
from the month's rows by the patrol PG's processing task; other provinces' already at HQ).
The random stream is the one :func:`.generate.generate_origins` hands over after the e-invoice
rows, so adding these rows leaves every e-invoice row of a seed as it was.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from syncverify.sandbox import ids
from syncverify.sandbox.origins import Clock, Origins, Taxpayer

PUSH_DISPATCH = "gx.push_dispatch_db"
INTERACT = "gx.interact_db"
GX_KB = "gx.kb"
GX_KB_HUB = "gx.kb_hub"
GX_PATROL = "gx.patrol_pg"
HQ_PATROL = "hq.patrol_pg"
BEHAVIOR_KAFKA = "gx.behavior_kafka"
INTERACTION_NODES = (PUSH_DISPATCH, INTERACT, GX_KB, GX_KB_HUB, GX_PATROL, HQ_PATROL, BEHAVIOR_KAFKA)

# Rows per month at scale 1.0.
BASE = {"push": 6_000, "order": 1_500, "session": 5_000, "citation": 4_000, "event": 8_000}
# Patrol indicators: (code, table counted in Guangxi's figures).
INDICATORS = (("JT_TSL", "jt_tsjl"), ("FB_GDL", "fb_gd"), ("HD_HHL", "hd_hhjl"), ("ZSK_YYL", "zsk_jsyy"))
OTHER_PROVINCES = ("44", "43", "53", "52")
_TOPICS = ("数电发票开具", "红字发票", "发票勾选确认", "乐企直连", "代开发票", "出口退税", "个税汇算",
           "社保费缴纳", "留抵退税", "跨区域涉税事项")
_CASES = (("0101", "纳税人咨询：{t}"), ("0203", "风险提示核实：{t}"), ("0305", "需求调查反馈：{t}"),
          ("0410", "投诉建议转办：{t}"))
_PAGES = ("/fpfw/kp", "/fpfw/gxqr", "/sbns/zzs", "/zsk/ss", "/znhd/zx", "/wdxx", "/sbf/jf", "/ckts/sb")


def generate_interaction(out: Origins, rng: random.Random, gx_payers: list[Taxpayer], clock: Clock,
                         scale: float, start: datetime, end: datetime) -> None:
    """Add the interaction platform's origin rows to ``out``."""
    last = end - timedelta(seconds=1)

    def n(what: str, floor: int = 40) -> int:
        return max(floor, int(BASE[what] * scale))

    tasks = [f"JT{start:%Y%m}{i:06d}" for i in range(1, 25)]      # pushes of the month's HQ tasks
    for i in range(n("push")):
        tp, tssj = rng.choice(gx_payers), clock.sample(rng)
        tszt = rng.choices(("01", "02", "03"), (40, 45, 15))[0]
        out.add(PUSH_DISPATCH, "jt_tsjl", (4_500_000_000 + i, rng.choice(tasks), tp.nsrsbh,
                                           rng.choices(("01", "02", "03", "04"), (45, 30, 10, 15))[0],
                                           tszt, tp.swjg_dm, tssj,
                                           min(last, tssj + timedelta(minutes=rng.randrange(0, 600)))))
    for i in range(n("order")):
        tp, cjsj = rng.choice(gx_payers), clock.sample(rng)
        sxlx, title = rng.choice(_CASES)
        gdzt = rng.choices(("01", "02", "03"), (10, 30, 60))[0]
        bjsj = cjsj + timedelta(hours=rng.randrange(1, 120)) if gdzt == "03" else None
        if bjsj is not None and bjsj > last:
            gdzt, bjsj = "02", None
        gxsj = bjsj or min(last, cjsj + timedelta(minutes=rng.randrange(1, 240)))
        out.add(PUSH_DISPATCH, "fb_gd", (f"FB45{cjsj:%Y%m%d}{i:08d}", tp.nsrsbh, sxlx,
                                         title.format(t=rng.choice(_TOPICS)), tp.swjg_dm, gdzt, cjsj, bjsj, gxsj))
    for i in range(n("session")):
        kssj = clock.sample(rng)
        visitor = rng.choice(gx_payers) if rng.random() < 0.7 else None
        robot = rng.random() < 0.55
        jssj = min(last, kssj + timedelta(seconds=rng.randrange(30, 1800)))
        out.add(INTERACT, "hd_hhjl", (f"HH45{kssj:%Y%m%d%H%M%S}{i:06d}", visitor.nsrsbh if visitor else None,
                                      rng.choices(("01", "02", "03", "04"), (50, 30, 10, 10))[0],
                                      None if robot else f"GX{rng.randrange(1, 400):04d}", kssj, jssj,
                                      rng.randrange(2, 60), None if rng.random() < 0.4 else rng.randrange(1, 6),
                                      jssj))
    articles = [r[0] for r in out.rows.get(("hq.kb", "zsk_zsxx"), []) if r[4] in ("00", "45")]
    for i in range(n("citation") if articles else 0):
        yysj = clock.sample(rng)
        out.add(GX_KB, "zsk_jsyy", (4_510_000_000 + i, rng.choice(articles), rng.choice(_TOPICS),
                                    rng.choices(("01", "02"), (35, 65))[0], yysj, yysj))
    for tp in gx_payers:            # taxpayer basic information held by the 税智撑 hub
        out.add(GX_KB_HUB, "nsr_jcxx", (tp.nsrsbh, tp.nsrmc, tp.swjg_dm, tp.djrq, tp.nsrzt, tp.hy_dm,
                                        start - timedelta(days=rng.randrange(1, 300), seconds=rng.randrange(86400))))
    for _ in range(n("event")):
        cjsj = clock.sample(rng)
        user = rng.choice(gx_payers) if rng.random() < 0.6 else None
        out.add(BEHAVIOR_KAFKA, "xw_cjsj", (f"{rng.getrandbits(128):032x}", f"U{rng.getrandbits(40):012x}",
                                            user.nsrsbh if user else None, rng.choice(("DJ", "LL", "SS", "TJ")),
                                            rng.choice(_PAGES), cjsj, cjsj))
    _patrol_figures(out, rng, start, end)


def _patrol_figures(out: Origins, rng: random.Random, start: datetime, end: datetime) -> None:
    """Daily figures: Guangxi's counted from the month's rows (the patrol PG's processing task,
    run at 02:00 the next day), other provinces' already in the HQ patrol DB."""
    column = {"jt_tsjl": 6, "fb_gd": 6, "hd_hhjl": 4, "zsk_jsyy": 4}      # each table's window column
    node = {"jt_tsjl": PUSH_DISPATCH, "fb_gd": PUSH_DISPATCH, "hd_hhjl": INTERACT, "zsk_jsyy": GX_KB}
    counted: Counter[tuple[datetime, str]] = Counter()
    for code, table in INDICATORS:
        for row in out.rows.get((node[table], table), []):
            t = row[column[table]]
            counted[(datetime(t.year, t.month, t.day), code)] += 1
    day = start
    while day < end:
        # Figures are written at 02:00 the next day; the last day's before the month closes.
        gxsj = min(day + timedelta(days=1, hours=2), end - timedelta(minutes=30))
        for code, _table in INDICATORS:
            out.add(GX_PATROL, "xj_ywtj", (day, ids.GUANGXI, code, counted[(day, code)], gxsj))
            for province in OTHER_PROVINCES:
                out.add(HQ_PATROL, "xj_ywtj", (day, province, code, rng.randrange(50, 5_000), gxsj))
        day += timedelta(days=1)
