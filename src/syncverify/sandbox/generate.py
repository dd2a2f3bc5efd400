"""Origin rows of the sandbox world: what each system writes itself in one month.

Every other copy is derived from these by :mod:`syncverify.sandbox.propagate` along the catalog's
links. Rows are tuples in the column order of :mod:`syncverify.sandbox.schema`; values are
``str``, ``Decimal``, ``datetime``, ``date``, ``int`` or ``None``.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from itertools import accumulate

from syncverify.catalog import Catalog
from syncverify.errors import SyncverifyError
from syncverify.sandbox import ids
from syncverify.sandbox.interaction import INTERACTION_NODES, generate_interaction
from syncverify.sandbox.origins import Clock, Origins, Row, Taxpayer
from syncverify.sandbox.schema import TABLES

# The systems that write data themselves (the flows' sources), and the Kafka cluster into which
# other provinces deliver their invoices directly.
TAX_CONTROL = "gx.tax_control_db"
ISSUE = "gx.issue_db"
YCS = "hq.ycs_db"
DELIVERY_KAFKA = "hq.delivery_kafka"
USE = "hq.use_db"
ENTRY = "hq.entry_db"
RED_NOTICE = "hq.red_notice_db"
HQ_LEDGER = "hq.ledger_db"
HQ_SUPPORT = "hq.data_support_db"
GX_SUPPORT = "gx.data_support_db"
GX_HUB = "gx.data_hub"
HQ_KB = "hq.kb"
ORIGIN_NODES = (TAX_CONTROL, ISSUE, YCS, DELIVERY_KAFKA, USE, ENTRY, RED_NOTICE, HQ_LEDGER, HQ_SUPPORT,
                GX_SUPPORT, GX_HUB, HQ_KB, *INTERACTION_NODES)

# Invoices per origin at scale 1.0 (about 105,000 in all).
BASE_COUNTS = {"SK": 25_000, "SD": 35_000, "LQ": 10_000, "OTHER": 35_000}
TAX_RATES = (Decimal("0.13"), Decimal("0.09"), Decimal("0.06"), Decimal("0.03"), Decimal("0.01"), Decimal("0"))
_RATE_WEIGHTS = (45, 12, 20, 12, 8, 3)
_CENT = Decimal("0.01")
_OTHER_PROVINCES = tuple(p for p in ids.PROVINCES if p != ids.GUANGXI)
_REMARKS = ("货物已验收", "含运费", "项目名称：办公设备采购", "合同编号：GX-2026-{n}", "按合同分期付款第{k}期",
            "服务期间：2026年10月", "代开：自然人劳务报酬", "工程项目：南宁市五象新区{n}号地块", "预付款",
            "农产品收购", "跨区域涉税事项报告编号{n}")
_HY = ("0511", "1310", "1391", "2710", "3011", "3610", "4710", "4910", "5110", "5211", "5411", "5810",
       "6110", "6420", "7010", "7210", "7310", "8310")


class OriginError(SyncverifyError):
    """The catalog lacks a node or table the sandbox writes its origin data into."""


@cache
def columns(table: str) -> list[str]:
    """Column names of a schema table, in row-tuple order (cached: do not mutate)."""
    return [c.name for c in TABLES[table].columns]


def month_range(month: str) -> tuple[datetime, datetime]:
    """The month's naive local bounds; strict ``YYYY-MM`` (:func:`syncverify.calendar.month_window`)."""
    from syncverify.calendar import month_window

    return month_window(month)


_RATE_BP = tuple(int(r * 10_000) for r in TAX_RATES)
_RATE_CUM = tuple(accumulate(_RATE_WEIGHTS))


def _amounts(rng: random.Random) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """je, se, jshj, slv with se = round(je * slv, 2) (half up) and jshj = je + se exactly.
    Computed in integer cents: Decimal arithmetic per row is the slow part at 100,000 rows."""
    i = bisect_right(_RATE_CUM, rng.random() * _RATE_CUM[-1])
    je = max(100, int(rng.lognormvariate(7.5, 1.6) * 100))
    se = (je * _RATE_BP[i] + 5_000) // 10_000
    return (Decimal(je).scaleb(-2), Decimal(se).scaleb(-2), Decimal(je + se).scaleb(-2), TAX_RATES[i])


def _remark(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.35:
        return None
    if roll < 0.45:
        return ""                                   # NULL and '' are different values
    text = rng.choice(_REMARKS).format(n=rng.randrange(1, 9999), k=rng.randrange(1, 6))
    if roll > 0.93:
        text += " " * rng.randrange(1, 4)          # trailing spaces are part of the value
    return text


def _taxpayers(rng: random.Random, scale: float) -> tuple[list[Taxpayer], list[Taxpayer]]:
    n_gx = max(300, int(12_000 * scale))
    n_other = max(200, int(8_000 * scale))
    seen: set[str] = set()

    def make(province: str) -> Taxpayer:
        cities = len(ids.PROVINCES[province][1])
        city = rng.randrange(1, cities + 1)
        office = ids.tax_office(province, city, rng.randrange(0, 8))
        while True:
            code = ids.make_credit_code(rng, ids.division_of(office), kind=rng.choice(("91", "91", "91", "92")))
            if code not in seen:
                seen.add(code)
                break
        return Taxpayer(code, ids.company_name(rng, province, city), office, rng.choice(_HY),
                        date(2000, 1, 1) + timedelta(days=rng.randrange(9000)),
                        rng.choices(("03", "05", "07"), (96, 3, 1))[0])

    gx = [make(ids.GUANGXI) for _ in range(n_gx)]
    other = [make(rng.choice(_OTHER_PROVINCES)) for _ in range(n_other)]
    return gx, other


def check_catalog(catalog: Catalog) -> None:
    """The origin nodes must exist in the catalog (the world is built from it)."""
    for node in ORIGIN_NODES:
        if node not in catalog.nodes:
            raise OriginError(f"the sandbox writes origin data into node {node!r}, which the catalog lacks")


def generate_origins(catalog: Catalog, *, rng: random.Random, scale: float, month: str) -> Origins:
    """Every origin row of the month (see the module docstring of :mod:`syncverify.sandbox`)."""
    check_catalog(catalog)
    if scale <= 0:
        raise SyncverifyError(f"scale must be positive, got {scale}")
    start, end = month_range(month)
    clock = Clock(start, end)
    out = Origins(protected={"fp_fpxx": set()})
    gx_payers, other_payers = _taxpayers(rng, scale)
    all_payers = gx_payers + other_payers
    leqi = rng.sample(all_payers, max(20, len(all_payers) // 40))     # direct-connect enterprises
    invoices: list[Row] = []
    seq = {"SD": 0, "LQ": 0, "SK": 0}

    def buyer(seller_gx: bool) -> Taxpayer | None:
        if rng.random() < 0.08:
            return None                                 # an individual: no taxpayer id
        share_gx = 0.7 if seller_gx else 0.25
        return rng.choice(gx_payers) if rng.random() < share_gx else rng.choice(other_payers)

    def invoice(kpfs: str, seller: Taxpayer, kprq: datetime) -> Row:
        province = seller.swjg_dm[1:3]
        b = buyer(province == ids.GUANGXI)
        je, se, jshj, slv = _amounts(rng)
        special = rng.random() < 0.3
        seq[kpfs] += 1
        if kpfs == "SK":
            fpdm = ids.tax_control_code(kprq.year, province, seq[kpfs] // 5000, "01" if special else "04")
            fphm = f"{seq[kpfs] % 100_000_000:08d}"
            fplx = "01" if special else "04"
        else:
            fpdm = ""
            fphm = ids.digital_invoice_number(kprq.year, province, 2 if kpfs == "LQ" else 1,
                                              seq[kpfs] * 7919 % 10**12 + seq[kpfs])
            fplx = "81" if special else "82"
        dkbz = "Y" if kpfs != "LQ" and rng.random() < 0.03 else "N"
        gxsj = kprq + timedelta(seconds=rng.randrange(1, 90))
        fpzt = "2" if rng.random() < 0.01 else "0"
        return (fpdm, fphm, fplx, kpfs, kprq, seller.nsrsbh, seller.nsrmc,
                b.nsrsbh if b else None, b.nsrmc if b else ids.person_name(rng),
                je, se, jshj, slv, fpzt, None, None, seller.swjg_dm,
                b.swjg_dm if b else seller.swjg_dm, dkbz, _remark(rng), gxsj)

    counts = {k: max(10, int(v * scale)) for k, v in BASE_COUNTS.items()}
    origin_of = {"SK": TAX_CONTROL, "SD": ISSUE, "LQ": YCS, "OTHER": DELIVERY_KAFKA}
    placed: list[tuple[str, Row]] = []
    for kind, n in counts.items():
        for _ in range(n):
            if kind == "OTHER":
                seller, kpfs = rng.choice(other_payers), rng.choice(("SK", "SD", "SD"))
            elif kind == "LQ":
                seller, kpfs = rng.choice(leqi), "LQ"
            else:
                seller, kpfs = rng.choice(gx_payers), kind
            placed.append((origin_of[kind], invoice(kpfs, seller, clock.sample(rng))))
    # A month-end batch (a Leqi enterprise's and the province's closing runs) in the last minutes:
    # these are the rows still in flight when the month is verified right after it ends.
    for node, kpfs, n in ((YCS, "LQ", max(6, int(30 * scale))), (ISSUE, "SD", max(6, int(20 * scale)))):
        for _ in range(n):
            seller = rng.choice(leqi) if kpfs == "LQ" else rng.choice(gx_payers)
            row = invoice(kpfs, seller, end - timedelta(seconds=rng.randrange(60, 400)))
            row = (*row[:20], min(row[20], end - timedelta(seconds=1)))
            placed.append((node, row))
            out.late_keys.add((row[0], row[1]))

    # Red invoices (红冲): about 3 % of normal blue invoices get a full red invoice later in the month.
    reds: list[tuple[str, Row]] = []
    for i, (node, blue) in enumerate(placed):
        if blue[13] != "0" or (blue[0], blue[1]) in out.late_keys or rng.random() > 0.03:
            continue
        kprq = blue[4] + timedelta(hours=rng.randrange(2, 200))
        if kprq >= end - timedelta(hours=1):
            continue
        kpfs = blue[3]
        seq[kpfs] += 1
        if kpfs == "SK":
            fpdm, fphm = blue[0][:8] + "9" + blue[0][9:], f"{seq[kpfs] % 100_000_000:08d}"
        else:
            fpdm, fphm = "", ids.digital_invoice_number(kprq.year, blue[16][1:3], 2 if kpfs == "LQ" else 1,
                                                        seq[kpfs] * 7919 % 10**12 + seq[kpfs])
        red = (fpdm, fphm, blue[2], kpfs, kprq, *blue[5:9], -blue[9], -blue[10], -blue[11], blue[12], "0",
               blue[0], blue[1], *blue[16:19], f"被红冲蓝字发票号码：{blue[1]}", kprq + timedelta(seconds=30))
        placed[i] = (node, (*blue[:13], "3", *blue[14:20], max(blue[20], kprq)))
        reds.append((node, red))
        out.protected["fp_fpxx"].update({(blue[0], blue[1]), (fpdm, fphm)})
    placed.extend(reds)
    for node, row in placed:
        out.add(node, "fp_fpxx", row)
        invoices.append(row)

    _use_records(out, rng, invoices, reds, end)
    _reference_data(out, rng, gx_payers, all_payers, scale, start)
    _knowledge(out, rng, scale, start, end)
    generate_interaction(out, rng, gx_payers, clock, scale, start, end)   # last: e-invoice rows stay as they were
    return out


def _use_records(out: Origins, rng: random.Random, invoices: list[Row], reds: list[tuple[str, Row]],
                 end: datetime) -> None:
    n = 0

    def record(inv: Row, yplx: str, ly: str, node: str) -> None:
        nonlocal n
        ypsj = inv[4] + timedelta(minutes=rng.randrange(30, 14 * 24 * 60))
        if ypsj >= end:
            return                                       # used next month
        n += 1
        yplsh = f"{ly}{yplx}{ypsj:%Y%m%d}{n:020d}"
        out.add(node, "yp_ypxx", (yplsh, inv[0], inv[1], inv[7], yplx, ly, ypsj, inv[10], inv[17],
                                  ypsj + timedelta(seconds=rng.randrange(1, 60))))
        out.protected["fp_fpxx"].add((inv[0], inv[1]))

    for inv in invoices:
        if inv[7] is None or inv[9] < 0 or (inv[0], inv[1]) in out.late_keys:
            continue
        roll = rng.random()
        if inv[3] == "LQ":
            if roll < 0.4:
                record(inv, "GX", "LQ", YCS)
                if rng.random() < 0.5:
                    record(inv, "RZ", "LQ", YCS)
        elif roll < 0.3:
            record(inv, "GX", "SD", USE)
            if rng.random() < 0.5:
                record(inv, "RZ", "SD", ENTRY)
        elif roll < 0.34:
            record(inv, "ZF", "ZF", HQ_LEDGER)

    # Red-letter notices (红字信息确认单) for the digital red invoices, and a few pending or void ones.
    k = 0
    for _node, red in reds:
        if red[3] == "SK":
            continue
        k += 1
        tkrq = red[4] - timedelta(minutes=rng.randrange(5, 600))
        out.add(RED_NOTICE, "hz_tzd", (f"{tkrq:%y}{red[16][1:3]}{k:016d}", red[14], red[15], red[5], red[7],
                                       red[9], red[10], tkrq, "04", red[17], tkrq + timedelta(minutes=1)))
    blues = [inv for inv in invoices if inv[3] != "SK" and inv[9] > 0 and inv[13] == "0"
             and (inv[0], inv[1]) not in out.late_keys]
    for inv in rng.sample(blues, min(len(blues), max(5, k // 5))):
        k += 1
        tkrq = inv[4] + timedelta(hours=rng.randrange(1, 48))
        if tkrq >= end:
            continue
        out.add(RED_NOTICE, "hz_tzd", (f"{tkrq:%y}{inv[16][1:3]}{k:016d}", inv[0], inv[1], inv[5], inv[7],
                                       -inv[9], -inv[10], tkrq, rng.choice(("01", "06")), inv[17],
                                       tkrq + timedelta(minutes=1)))
        out.protected["fp_fpxx"].add((inv[0], inv[1]))


def _reference_data(out: Origins, rng: random.Random, gx_payers: list[Taxpayer], all_payers: list[Taxpayer],
                    scale: float, start: datetime) -> None:
    def gxsj() -> datetime:
        return start - timedelta(days=rng.randrange(0, 400), seconds=rng.randrange(86400))

    for tp in all_payers:
        out.add(HQ_SUPPORT, "nsr_jcxx", (tp.nsrsbh, tp.nsrmc, tp.swjg_dm, tp.djrq, tp.nsrzt, tp.hy_dm, gxsj()))
    for tp in gx_payers:
        out.add(GX_SUPPORT, "nsr_jcxx", (tp.nsrsbh, tp.nsrmc, tp.swjg_dm, tp.djrq, tp.nsrzt, tp.hy_dm, gxsj()))
    for i, tp in enumerate(gx_payers, start=1):
        zczb = None if rng.random() < 0.1 else Decimal(rng.randrange(10, 500_000)) * 1000
        out.add(GX_HUB, "nsr_kzxx", (100_000 + i, tp.nsrsbh, rng.choices("ABMCD", (30, 40, 20, 7, 3))[0],
                                     zczb, gxsj()))
    offices = sorted({tp.swjg_dm for tp in all_payers})
    for office in offices:
        province, city = office[1:3], int(office[3:5])
        cities = ids.PROVINCES[province][1]
        city_name = cities[(city - 1) % len(cities)]
        name = f"国家税务总局{ids.PROVINCES[province][0]}{city_name}税务局第{int(office[5:7]) + 1}分局"
        out.add(HQ_SUPPORT, "dm_csb", ("SWJG", office, name, "Y", gxsj()))
    for code in _HY:
        out.add(HQ_SUPPORT, "dm_csb", ("HY", code, f"国民经济行业{code}", "Y", gxsj()))
    for dm, mc in (("01", "增值税专用发票"), ("04", "增值税普通发票"), ("81", "电子发票（增值税专用发票）"),
                   ("82", "电子发票（普通发票）"), ("08", "增值税电子专用发票")):
        out.add(HQ_SUPPORT, "dm_csb", ("FPLX", dm, mc, "N" if dm == "08" else "Y", gxsj()))
    for rate in TAX_RATES:
        out.add(HQ_SUPPORT, "dm_csb", ("SL", str(rate), f"税率{rate * 100:.0f}%", "Y", gxsj()))
    for i in range(max(20, int(60 * scale))):
        out.add(GX_HUB, "dm_sjcs", (f"GX_PARAM_{i:04d}", str(rng.randrange(1, 10_000)),
                                    None if i % 7 == 0 else f"广西省级参数第{i}项", gxsj()))


def _knowledge(out: Origins, rng: random.Random, scale: float, start: datetime, end: datetime) -> None:
    topics = ("数电发票开具", "红字发票", "发票勾选确认", "乐企直连", "代开发票", "出口退税", "个税汇算",
              "社保费缴纳", "留抵退税", "跨区域涉税事项")
    for i in range(max(100, int(2_000 * scale))):
        scope = rng.choices(("00", "45", "44", "43", "53"), (50, 20, 12, 10, 8))[0]
        fbsj = start - timedelta(days=rng.randrange(0, 700), seconds=rng.randrange(86400))
        gxsj = fbsj + timedelta(days=rng.randrange(0, 30))
        gxsj = min(gxsj, end - timedelta(hours=1))
        topic = rng.choice(topics)
        out.add(HQ_KB, "zsk_zsxx", (900_000 + i, f"{topic}常见问题解答（{i}）",
                                    f"问：{topic}如何办理？\n答：纳税人可通过电子税务局办理{topic}业务。",
                                    topic[:4], scope, rng.randrange(0, 5000), fbsj, gxsj))
