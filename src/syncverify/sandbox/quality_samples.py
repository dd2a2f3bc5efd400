"""Small, realistic rows for every sandbox table, and one planted violation per rule.

Used by the tests and the benchmark of this package (and available to the sandbox): clean rows
pass every suite in ``expectations/``; :data:`VIOLATIONS` lists, per suite, rows that each break
exactly one rule, so a test can assert that the rule catches its row and nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from syncverify.quality.credit_code import make_credit_code

Row = dict[str, Any]
MONTH_START = datetime(2026, 10, 1)
RATES = (Decimal("0.13"), Decimal("0.09"), Decimal("0.06"), Decimal("0.03"), Decimal("0.01"))


def _when(rng: random.Random, start: datetime = MONTH_START, days: int = 30) -> datetime:
    return start + timedelta(seconds=rng.randrange(days * 86400))


def invoices(rng: random.Random, n: int = 40) -> list[Row]:
    """Blue digital and tax-control invoices, and a few red ones pointing at them."""
    rows: list[Row] = []
    for i in range(n):
        digital = i % 3 != 0
        kprq = _when(rng)
        je = Decimal(rng.randrange(100, 10_000_000)) / 100
        slv = rng.choice(RATES)
        se = (je * slv).quantize(Decimal("0.01"))
        rows.append({
            "fpdm": "" if digital else f"1450{rng.randrange(10**8):08d}",
            "fphm": f"2645{rng.randrange(10**16):016d}" if digital else f"{rng.randrange(10**8):08d}",
            "fplx": rng.choice(["81", "82"]) if digital else rng.choice(["01", "04"]),
            "kpfs": rng.choice(["SD", "LQ"]) if digital else "SK",
            "kprq": kprq, "xsfnsrsbh": make_credit_code(rng, "450100"), "xsfmc": "南宁市某某科技有限公司",
            "gmfnsrsbh": make_credit_code(rng, "450200") if i % 5 else None, "gmfmc": "柳州市某某商贸有限公司",
            "je": je, "se": se, "jshj": je + se, "slv": slv, "fpzt": "0", "lzfpdm": None, "lzfphm": None,
            "xsf_swjg_dm": "14501000000", "gmf_swjg_dm": "14502000000", "dkbz": "N", "bz": None,
            "gxsj": kprq + timedelta(minutes=5),
        })
    for blue in rows[1:6]:
        red = dict(blue)
        red.update(fphm=f"2645{rng.randrange(10**16):016d}", fpdm="", fplx="82", kpfs="SD",
                   je=-blue["je"], se=-blue["se"], jshj=-blue["jshj"], lzfpdm=blue["fpdm"], lzfphm=blue["fphm"],
                   kprq=blue["kprq"] + timedelta(hours=1), gxsj=blue["gxsj"] + timedelta(hours=1))
        blue["fpzt"] = "3"
        rows.append(red)
    return rows


def use_records(rng: random.Random, invoice_rows: list[Row], n: int = 30) -> list[Row]:
    rows = []
    for i, inv in enumerate(invoice_rows[:n]):
        ypsj = inv["kprq"] + timedelta(hours=2)
        rows.append({"yplsh": f"YP{i:030d}", "fpdm": inv["fpdm"], "fphm": inv["fphm"],
                     "gmfnsrsbh": inv["gmfnsrsbh"] or make_credit_code(rng, "450300"),
                     "yplx": rng.choice(["GX", "RZ", "ZF"]), "ly": rng.choice(["SD", "LQ", "ZF"]),
                     "ypsj": ypsj, "se": inv["se"], "gmf_swjg_dm": "14503000000", "gxsj": ypsj})
    return rows


def red_notices(rng: random.Random, invoice_rows: list[Row], n: int = 20) -> list[Row]:
    rows = []
    for i, inv in enumerate(invoice_rows[:n]):
        tkrq = inv["kprq"] + timedelta(hours=3)
        rows.append({"tzdbh": f"4501{i:016d}", "lzfpdm": inv["fpdm"], "lzfphm": inv["fphm"],
                     "xsfnsrsbh": inv["xsfnsrsbh"], "gmfnsrsbh": inv["gmfnsrsbh"],
                     "hzje": -inv["je"], "hzse": -inv["se"], "tkrq": tkrq, "zt": rng.choice(["01", "04", "06"]),
                     "gmf_swjg_dm": "14502000000", "gxsj": tkrq})
    return rows


def code_params(rng: random.Random) -> list[Row]:
    when = MONTH_START + timedelta(days=2)
    rows = [{"dmlb": "HY", "dm": hy, "mc": f"行业{hy}", "yxbz": "Y", "gxsj": when}
            for hy in ("0111", "1810", "5191", "6510", "7240")]
    rows += [{"dmlb": "SWJG", "dm": f"1450{i}000000", "mc": f"国家税务总局某税务局{i}", "yxbz": "Y", "gxsj": when}
             for i in range(1, 6)]
    return rows


def taxpayers(rng: random.Random, n: int = 30) -> list[Row]:
    rows = []
    for i in range(n):
        gxsj = _when(rng)
        nsrsbh = make_credit_code(rng, "450100") if i % 6 else f"450100{rng.randrange(10**9):09d}"
        rows.append({"nsrsbh": nsrsbh, "nsrmc": f"广西某某有限公司{i}", "swjg_dm": f"1450{i % 5 + 1}000000",
                     "djrq": (gxsj - timedelta(days=400)).date(), "nsrzt": rng.choice(["03", "05", "07"]),
                     "hy_dm": rng.choice(["0111", "1810", "5191", "6510", "7240"]), "gxsj": gxsj})
    return rows


def taxpayer_exts(rng: random.Random, taxpayer_rows: list[Row]) -> list[Row]:
    return [{"id": 1000 + i, "nsrsbh": t["nsrsbh"], "xydj": rng.choice("ABMCD"),
             "zczb": Decimal(rng.randrange(0, 10**9)) / 100 if i % 4 else None, "gxsj": t["gxsj"]}
            for i, t in enumerate(taxpayer_rows)]


def province_params(rng: random.Random, n: int = 20) -> list[Row]:
    return [{"csbm": f"GX_CS_{i:03d}", "csz": str(rng.randrange(1000)), "sm": "省级参数" if i % 2 else None,
             "gxsj": _when(rng)} for i in range(n)]


def knowledge(rng: random.Random, n: int = 20) -> list[Row]:
    rows = []
    for i in range(n):
        fbsj = _when(rng)
        rows.append({"zsid": 500 + i, "bt": f"数电发票常见问题{i}", "nr": "问：如何开具红字发票？答：……",
                     "fl": rng.choice(["发票", "申报", "登记"]), "qxfw": rng.choice(["00", "45"]),
                     "llcs": rng.randrange(10_000), "fbsj": fbsj, "gxsj": fbsj + timedelta(days=1)})
    return rows


def clean_world(seed: int = 7) -> dict[str, list[Row]]:
    """Clean rows for every sandbox table (October 2026), keyed by table name."""
    rng = random.Random(seed)
    inv = invoices(rng)
    tp = taxpayers(rng)
    return {"fp_fpxx": inv, "yp_ypxx": use_records(rng, inv), "hz_tzd": red_notices(rng, inv),
            "nsr_jcxx": tp, "nsr_kzxx": taxpayer_exts(rng, tp), "dm_csb": code_params(rng),
            "dm_sjcs": province_params(rng), "zsk_zsxx": knowledge(rng)}


@dataclass(frozen=True)
class Violation:
    """A row breaking exactly one rule (``rule`` = the expectation's meta.rule) of ``suite``."""

    suite: str
    table: str
    rule: str
    make: Callable[[Row], Row]      # from a clean template row of the table to the violating row
    also: tuple[str, ...] = ()      # rules the row cannot help breaking too (a malformed code is unresolvable)


def _inv(**changes: Any) -> Callable[[Row], Row]:
    def make(row: Row) -> Row:
        out = dict(row)
        for k, v in changes.items():
            out[k] = v(out) if callable(v) else v
        return out
    return make


_FUTURE = datetime(2099, 1, 1)


def _digital(n: int) -> str:
    return f"{n:020d}"


VIOLATIONS: list[Violation] = [
    Violation("invoice", "fp_fpxx", "(fpdm, fphm) unique", _inv()),     # duplicate of its template
    Violation("invoice", "fp_fpxx", "invoice kind in its code list", _inv(fphm=_digital(1), fplx="99")),
    Violation("invoice", "fp_fpxx", "issuing channel in its code list", _inv(fphm=_digital(2), kpfs="XX")),
    Violation("invoice", "fp_fpxx", "digital invoice: fphm is 20 digits", _inv(fphm="2645000000000000003")),
    Violation("invoice", "fp_fpxx", "digital invoice: fpdm is empty",
              _inv(fphm=_digital(4), fpdm="145000000004")),
    Violation("invoice", "fp_fpxx", "tax-control invoice: fpdm is 12 digits",
              _inv(fphm="00000005", fpdm="14500000005", fplx="04", kpfs="SK")),
    Violation("invoice", "fp_fpxx", "tax-control invoice: fphm is 8 digits",
              _inv(fphm="0000006", fpdm="145000000006", fplx="04", kpfs="SK")),
    Violation("invoice", "fp_fpxx", "updated at or after issue",
              _inv(fphm=_digital(7), gxsj=lambda r: r["kprq"] - timedelta(minutes=1))),
    Violation("invoice", "fp_fpxx", "update time not in the future", _inv(fphm=_digital(8), gxsj=_FUTURE)),
    Violation("invoice", "fp_fpxx", "金额 + 税额 = 价税合计 to the cent",
              _inv(fphm=_digital(9), jshj=lambda r: r["jshj"] + Decimal("0.01"))),
    Violation("invoice", "fp_fpxx", "tax rate in the legal set",
              _inv(fphm=_digital(10), slv=Decimal("0.17"), se=lambda r: (r["je"] * Decimal("0.17")).quantize(
                  Decimal("0.01")), jshj=lambda r: r["je"] + (r["je"] * Decimal("0.17")).quantize(Decimal("0.01")))),
    Violation("invoice", "fp_fpxx", "status in its code list", _inv(fphm=_digital(11), fpzt="9")),
    Violation("invoice", "fp_fpxx", "seller taxpayer id well-formed",
              _inv(fphm=_digital(12), xsfnsrsbh=lambda r: r["xsfnsrsbh"][:17] + (
                  "0" if r["xsfnsrsbh"][17] != "0" else "1"))),
    Violation("invoice", "fp_fpxx", "buyer taxpayer id well-formed (may be absent)",
              _inv(fphm=_digital(13), gmfnsrsbh="91450100ABC")),
    Violation("invoice", "fp_fpxx", "seller tax office code is 11 digits",
              _inv(fphm=_digital(14), xsf_swjg_dm="1450100000A")),
    Violation("invoice", "fp_fpxx", "buyer tax office code is 11 digits",
              _inv(fphm=_digital(15), gmf_swjg_dm="145020")),
    Violation("invoice", "fp_fpxx", "代开 flag Y/N", _inv(fphm=_digital(16), dkbz="X")),
    Violation("invoice", "fp_fpxx", "red invoice points at an existing blue invoice",
              _inv(fphm=_digital(17), je=lambda r: -abs(r["je"]), se=lambda r: -abs(r["se"]),
                   jshj=lambda r: -abs(r["jshj"]), lzfpdm="", lzfphm=_digital(99_999))),
]

VIOLATIONS += [
    Violation("use_record", "yp_ypxx", "use record id unique", _inv()),
    Violation("use_record", "yp_ypxx", "buyer taxpayer id well-formed",
              _inv(yplsh="YPBAD01", gmfnsrsbh="91450100m000100y43")),
    Violation("use_record", "yp_ypxx", "use kind in its code list", _inv(yplsh="YPBAD02", yplx="XX")),
    Violation("use_record", "yp_ypxx", "source in its code list", _inv(yplsh="YPBAD03", ly="QQ")),
    Violation("use_record", "yp_ypxx", "update time not in the future", _inv(yplsh="YPBAD04", gxsj=_FUTURE)),
    Violation("use_record", "yp_ypxx", "buyer tax office code is 11 digits",
              _inv(yplsh="YPBAD05", gmf_swjg_dm="2450300000")),
    Violation("use_record", "yp_ypxx", "used invoice exists (when fp_fpxx is on this node)",
              _inv(yplsh="YPBAD06", fphm=_digital(123_456))),
    Violation("red_notice", "hz_tzd", "notice number unique", _inv()),
    Violation("red_notice", "hz_tzd", "seller taxpayer id well-formed",
              _inv(tzdbh="BAD01", xsfnsrsbh="91350100M000100Y44")),
    Violation("red_notice", "hz_tzd", "notice status in its code list", _inv(tzdbh="BAD02", zt="99")),
    Violation("red_notice", "hz_tzd", "update time not in the future", _inv(tzdbh="BAD03", gxsj=_FUTURE)),
    Violation("red_notice", "hz_tzd", "buyer tax office code is 11 digits",
              _inv(tzdbh="BAD04", gmf_swjg_dm="x4502000000")),
    Violation("red_notice", "hz_tzd", "blue invoice exists (when fp_fpxx is on this node)",
              _inv(tzdbh="BAD05", lzfphm=_digital(654_321))),
    Violation("taxpayer", "nsr_jcxx", "taxpayer id unique", _inv()),
    Violation("taxpayer", "nsr_jcxx", "taxpayer id well-formed", _inv(nsrsbh="91350100M000100YI3")),
    Violation("taxpayer", "nsr_jcxx", "tax office code is 11 digits",
              _inv(nsrsbh="91350100M000100Y43", swjg_dm="1450100000"),
              also=("tax office code resolvable in dm_csb (SWJG)",)),
    Violation("taxpayer", "nsr_jcxx", "taxpayer status in its code list",
              _inv(nsrsbh="91110000600037341L", nsrzt="99")),
    Violation("taxpayer", "nsr_jcxx", "industry code is 4 digits",
              _inv(nsrsbh="91440300708461136T", hy_dm="A01"),
              also=("industry code resolvable in dm_csb (HY)",)),
    Violation("taxpayer", "nsr_jcxx", "update time not in the future",
              _inv(nsrsbh="450100000000001", gxsj=_FUTURE)),
    Violation("taxpayer", "nsr_jcxx", "industry code resolvable in dm_csb (HY)",
              _inv(nsrsbh="450100000000002", hy_dm="9999")),
    Violation("taxpayer", "nsr_jcxx", "tax office code resolvable in dm_csb (SWJG)",
              _inv(nsrsbh="450100000000003", swjg_dm="14599000000")),
    Violation("taxpayer_ext", "nsr_kzxx", "record id unique", _inv()),
    Violation("taxpayer_ext", "nsr_kzxx", "taxpayer id well-formed", _inv(id=90001, nsrsbh="4501"),
              also=("taxpayer exists (when nsr_jcxx is on this node)",)),
    Violation("taxpayer_ext", "nsr_kzxx", "credit rating in A/B/M/C/D", _inv(id=90002, xydj="E")),
    Violation("taxpayer_ext", "nsr_kzxx", "registered capital not negative",
              _inv(id=90003, zczb=Decimal("-1.00"))),
    Violation("taxpayer_ext", "nsr_kzxx", "update time not in the future", _inv(id=90004, gxsj=_FUTURE)),
    Violation("taxpayer_ext", "nsr_kzxx", "taxpayer exists (when nsr_jcxx is on this node)",
              _inv(id=90005, nsrsbh="91350100M000100Y43")),
    Violation("code_param", "dm_csb", "(dmlb, dm) unique", _inv()),
    Violation("code_param", "dm_csb", "valid flag Y/N", _inv(dm="BAD1", yxbz="1")),
    Violation("code_param", "dm_csb", "update time not in the future", _inv(dm="BAD2", gxsj=_FUTURE)),
    Violation("province_param", "dm_sjcs", "parameter code unique", _inv()),
    Violation("province_param", "dm_sjcs", "update time not in the future", _inv(csbm="BAD1", gxsj=_FUTURE)),
    Violation("knowledge", "zsk_zsxx", "article id unique", _inv()),
    Violation("knowledge", "zsk_zsxx", "scope is a 2-digit region code", _inv(zsid=90001, qxfw="GX")),
    Violation("knowledge", "zsk_zsxx", "view count not negative", _inv(zsid=90002, llcs=-1)),
    Violation("knowledge", "zsk_zsxx", "publish time not in the future",
              _inv(zsid=90003, fbsj=_FUTURE, gxsj=_FUTURE),
              also=("update time not in the future",)),
    Violation("knowledge", "zsk_zsxx", "updated at or after publishing",
              _inv(zsid=90004, gxsj=lambda r: r["fbsj"] - timedelta(days=1))),
]


def template_row(table: str, rows: list[Row]) -> Row:
    """The clean row violations of ``table`` are built from (for invoices: a blue digital one)."""
    if table == "fp_fpxx":
        return next(r for r in rows if r["fpdm"] == "" and r["gmfnsrsbh"] and r["je"] > 0)
    return rows[0]


def violating_rows(suite: str, world: dict[str, list[Row]]) -> list[tuple[Violation, Row]]:
    """The planted rows of ``suite``, each built from the template row of its table in ``world``."""
    return [(v, v.make(template_row(v.table, world[v.table]))) for v in VIOLATIONS if v.suite == suite]
