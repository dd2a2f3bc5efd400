"""Physical schema of the sandbox world's tables (the real schemas come from configuration).

Column names follow the Golden Tax conventions the bureau's engineers know: fphm 发票号码,
fpdm 发票代码, kprq 开票日期, xsfnsrsbh / gmfnsrsbh seller / buyer taxpayer id, je 金额,
se 税额, jshj 价税合计, slv 税率, fpzt 状态, gxsj 更新时间, xsf_swjg_dm / gmf_swjg_dm
seller / buyer tax-office codes (Guangxi codes start with 145).
"""

from __future__ import annotations

import sqlalchemy as sa

# Which columns carry taxpayer ids / names (masked for people): defined with the quality results.
from syncverify.quality.taxpayer_columns import TAXPAYER_ID_COLUMNS as TAXPAYER_ID_COLUMNS
from syncverify.quality.taxpayer_columns import TAXPAYER_NAME_COLUMNS as TAXPAYER_NAME_COLUMNS

metadata = sa.MetaData()

# 发票信息 — every invoice copy (issue, tax control, query, ledger, use, entry, Leqi).
# Digital (数电) invoices have a 20-digit fphm and fpdm = ''; tax-control invoices a 12-digit fpdm
# and an 8-digit fphm. The key is therefore (fpdm, fphm).
invoice = sa.Table(
    "fp_fpxx", metadata,
    sa.Column("fpdm", sa.String(12), nullable=False, server_default=""),
    sa.Column("fphm", sa.String(20), nullable=False),
    sa.Column("fplx", sa.String(2), nullable=False),          # 81 数电专票, 82 数电普票, 01 专票, 04 普票
    sa.Column("kpfs", sa.String(2), nullable=False),          # SK 税控, SD 数电, LQ 乐企
    sa.Column("kprq", sa.DateTime, nullable=False),
    sa.Column("xsfnsrsbh", sa.String(20), nullable=False),
    sa.Column("xsfmc", sa.String(100), nullable=False),
    sa.Column("gmfnsrsbh", sa.String(20), nullable=True),     # individuals may have none
    sa.Column("gmfmc", sa.String(100), nullable=False),
    sa.Column("je", sa.Numeric(18, 2), nullable=False),
    sa.Column("se", sa.Numeric(18, 2), nullable=False),
    sa.Column("jshj", sa.Numeric(18, 2), nullable=False),
    sa.Column("slv", sa.Numeric(6, 4), nullable=False),
    sa.Column("fpzt", sa.String(2), nullable=False),          # 0 正常, 2 作废, 3 已红冲, 7 部分红冲
    sa.Column("lzfpdm", sa.String(12), nullable=True),        # blue invoice of a red one
    sa.Column("lzfphm", sa.String(20), nullable=True),
    sa.Column("xsf_swjg_dm", sa.String(11), nullable=False),
    sa.Column("gmf_swjg_dm", sa.String(11), nullable=False),
    sa.Column("dkbz", sa.String(1), nullable=False),          # 代开标志 Y/N
    sa.Column("bz", sa.String(200), nullable=True),           # 备注 (Chinese, may end in spaces)
    sa.Column("gxsj", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("fpdm", "fphm", name="pk_fp_fpxx"),
)

# 用票信息 — use / entry records (勾选, 入账) of the buyer.
use_record = sa.Table(
    "yp_ypxx", metadata,
    sa.Column("yplsh", sa.String(32), primary_key=True),      # 用票流水号
    sa.Column("fpdm", sa.String(12), nullable=False),
    sa.Column("fphm", sa.String(20), nullable=False),
    sa.Column("gmfnsrsbh", sa.String(20), nullable=False),
    sa.Column("yplx", sa.String(2), nullable=False),          # GX 勾选 (用票库), RZ 入账 (入账库), ZF 综服 (底账库)
    sa.Column("ly", sa.String(2), nullable=False),            # 来源: SD 数电, LQ 乐企, ZF 综服
    sa.Column("ypsj", sa.DateTime, nullable=False),
    sa.Column("se", sa.Numeric(18, 2), nullable=False),
    sa.Column("gmf_swjg_dm", sa.String(11), nullable=False),
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 红字信息确认单 — red-letter notices.
red_notice = sa.Table(
    "hz_tzd", metadata,
    sa.Column("tzdbh", sa.String(20), primary_key=True),
    sa.Column("lzfpdm", sa.String(12), nullable=False),
    sa.Column("lzfphm", sa.String(20), nullable=False),
    sa.Column("xsfnsrsbh", sa.String(20), nullable=False),
    sa.Column("gmfnsrsbh", sa.String(20), nullable=True),
    sa.Column("hzje", sa.Numeric(18, 2), nullable=False),
    sa.Column("hzse", sa.Numeric(18, 2), nullable=False),
    sa.Column("tkrq", sa.DateTime, nullable=False),           # 填开日期
    sa.Column("zt", sa.String(2), nullable=False),            # 01 待确认, 04 已确认, 06 已作废
    sa.Column("gmf_swjg_dm", sa.String(11), nullable=False),
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 纳税人基础信息 — taxpayer records (ZZ15-2, SS31).
taxpayer = sa.Table(
    "nsr_jcxx", metadata,
    sa.Column("nsrsbh", sa.String(20), primary_key=True),
    sa.Column("nsrmc", sa.String(100), nullable=False),
    sa.Column("swjg_dm", sa.String(11), nullable=False),
    sa.Column("djrq", sa.Date, nullable=False),
    sa.Column("nsrzt", sa.String(2), nullable=False),         # 03 正常, 05 非正常, 07 注销
    sa.Column("hy_dm", sa.String(4), nullable=False),
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 纳税人扩展信息 — integer-keyed extension records from the province data hub (SS12-2).
taxpayer_ext = sa.Table(
    "nsr_kzxx", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("nsrsbh", sa.String(20), nullable=False),
    sa.Column("xydj", sa.String(1), nullable=False),          # 纳税信用等级 A/B/M/C/D
    sa.Column("zczb", sa.Numeric(20, 2), nullable=True),      # 注册资本
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 代码参数 — code parameters (ZZ15-1, ZS02-1); composite text key.
code_param = sa.Table(
    "dm_csb", metadata,
    sa.Column("dmlb", sa.String(20), nullable=False),         # 代码类别
    sa.Column("dm", sa.String(20), nullable=False),
    sa.Column("mc", sa.String(200), nullable=False),
    sa.Column("yxbz", sa.String(1), nullable=False),
    sa.Column("gxsj", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("dmlb", "dm", name="pk_dm_csb"),
)

# 省级参数 — province-only parameters from the data hub (SS12-1).
province_param = sa.Table(
    "dm_sjcs", metadata,
    sa.Column("csbm", sa.String(30), primary_key=True),
    sa.Column("csz", sa.String(200), nullable=False),
    sa.Column("sm", sa.String(200), nullable=True),
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 知识库 — knowledge articles (ZZ28, SZ05, SS20, SS22).
knowledge = sa.Table(
    "zsk_zsxx", metadata,
    sa.Column("zsid", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("bt", sa.String(200), nullable=False),          # 标题
    sa.Column("nr", sa.Text, nullable=False),                 # 内容
    sa.Column("fl", sa.String(20), nullable=False),           # 分类
    sa.Column("qxfw", sa.String(20), nullable=False),         # 权限范围: 00 全国, 45 广西, ...
    sa.Column("llcs", sa.Integer, nullable=False),            # 浏览次数
    sa.Column("fbsj", sa.DateTime, nullable=False),
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# --- interaction platform (征纳互动): precise push, case distribution, intelligent interaction,
# knowledge search, operation patrol and behaviour data (flows F10-F12 of checks/flows.yaml).

# 精推推送记录 — pushes of the province's precise-push tasks (精推&分办库 -> 运行巡检 PG 库).
push_record = sa.Table(
    "jt_tsjl", metadata,
    sa.Column("tsid", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("rwbh", sa.String(24), nullable=False),          # 精推任务编号 (issued by HQ, link ①)
    sa.Column("nsrsbh", sa.String(20), nullable=False),
    sa.Column("tsqd", sa.String(2), nullable=False),           # 01 电子税务局, 02 App, 03 短信, 04 征纳互动
    sa.Column("tszt", sa.String(2), nullable=False),           # 01 已推送, 02 已读, 03 已反馈
    sa.Column("swjg_dm", sa.String(11), nullable=False),
    sa.Column("tssj", sa.DateTime, nullable=False),            # 推送时间
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 分办工单 — case-distribution work orders (精推&分办库 -> 运行巡检 PG 库).
dispatch_order = sa.Table(
    "fb_gd", metadata,
    sa.Column("gdbh", sa.String(24), primary_key=True),        # 工单编号
    sa.Column("nsrsbh", sa.String(20), nullable=False),
    sa.Column("sxlx", sa.String(4), nullable=False),           # 事项类型
    sa.Column("bt", sa.String(200), nullable=False),           # 标题
    sa.Column("blswjg_dm", sa.String(11), nullable=False),     # 办理税务机关
    sa.Column("gdzt", sa.String(2), nullable=False),           # 01 待分办, 02 办理中, 03 已办结
    sa.Column("cjsj", sa.DateTime, nullable=False),            # 创建时间
    sa.Column("bjsj", sa.DateTime, nullable=True),             # 办结时间
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 智能互动会话记录 — sessions between taxpayers and agents or the robot (智能互动库 -> 运行巡检 PG 库).
session = sa.Table(
    "hd_hhjl", metadata,
    sa.Column("hhid", sa.String(32), primary_key=True),        # 会话 ID
    sa.Column("nsrsbh", sa.String(20), nullable=True),         # anonymous visitors have none
    sa.Column("qd", sa.String(2), nullable=False),             # 01 电子税务局, 02 App, 03 电话, 04 小程序
    sa.Column("zxgh", sa.String(16), nullable=True),           # 坐席工号; NULL: answered by the robot
    sa.Column("kssj", sa.DateTime, nullable=False),            # 开始时间
    sa.Column("jssj", sa.DateTime, nullable=False),            # 结束时间
    sa.Column("xxs", sa.Integer, nullable=False),              # 消息数
    sa.Column("myd", sa.Integer, nullable=True),               # 满意度 1-5, NULL: not rated
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 知识检索引用 — knowledge searches and the article cited (知识库 -> 运行巡检 PG 库, SS22).
knowledge_citation = sa.Table(
    "zsk_jsyy", metadata,
    sa.Column("yyid", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("zsid", sa.BigInteger, nullable=False),
    sa.Column("jsc", sa.String(100), nullable=False),          # 检索词
    sa.Column("yhlx", sa.String(2), nullable=False),           # 01 坐席, 02 纳税人
    sa.Column("yysj", sa.DateTime, nullable=False),            # 引用时间
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

# 运行巡检业务统计 — daily figures per province (省局运行巡检库 -> 总局运行巡检库 via 税智撑).
patrol_stat = sa.Table(
    "xj_ywtj", metadata,
    sa.Column("tjrq", sa.DateTime, nullable=False),            # 统计日期 (00:00 of the day)
    sa.Column("sf_dm", sa.String(2), nullable=False),          # 省份: 45 广西, ...
    sa.Column("zbdm", sa.String(20), nullable=False),          # 指标代码
    sa.Column("zbz", sa.BigInteger, nullable=False),           # 指标值
    sa.Column("gxsj", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("tjrq", "sf_dm", "zbdm", name="pk_xj_ywtj"),
)

# 行为采集数据 — behaviour events of the collection tool, on Kafka into the 税智撑 hub (link ④).
behaviour_event = sa.Table(
    "xw_cjsj", metadata,
    sa.Column("sjid", sa.String(32), primary_key=True),        # 事件 ID
    sa.Column("yhid", sa.String(32), nullable=False),          # 用户 ID (pseudonymous)
    sa.Column("nsrsbh", sa.String(20), nullable=True),
    sa.Column("sjlx", sa.String(2), nullable=False),           # DJ 点击, LL 浏览, SS 搜索, TJ 提交
    sa.Column("ym", sa.String(100), nullable=False),           # 页面
    sa.Column("cjsj", sa.DateTime, nullable=False),            # 采集时间
    sa.Column("gxsj", sa.DateTime, nullable=False),
)

TABLES: dict[str, sa.Table] = {t.name: t for t in metadata.sorted_tables}

