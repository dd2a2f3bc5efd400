"""Identifiers of the sandbox world: credit codes, tax-office codes, invoice numbers, names.

The formats follow the real ones closely enough that the quality suites and the people reading
the reports recognise them:

- unified social credit code (统一社会信用代码, GB 32100-2015): registration authority (1),
  organisation type (1), administrative division (6 digits), organisation code (9 characters,
  GB 11714 with its own check digit) and a check character over the first 17;
- tax-office code (税务机关代码): 11 digits, ``1`` + 2-digit province + city + county + 0000
  (Guangxi 145..., Guangdong 144..., Hunan 143..., Yunnan 153...);
- digital invoice number (数电发票号码): 20 digits = 2-digit year + 2-digit province +
  1-digit channel + 15-digit sequence, with an empty invoice code;
- tax-control invoice (税控发票): 12-digit code (发票代码) + 8-digit number (发票号码).
"""

from __future__ import annotations

import random

from syncverify.quality.credit_code import check_character
from syncverify.quality.credit_code import is_valid_credit_code as is_valid_credit_code

# GB 32100-2015: the 31-character alphabet without I, O, S, V, Z; weights 3^i mod 31.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 11714-1997 organisation code: 8 characters (digits, capitals) + check digit.
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

GUANGXI = "45"
# Province code (the 2 digits after the leading 1 of a tax-office code) -> name and its cities.
PROVINCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "45": ("广西", ("南宁市", "柳州市", "桂林市", "梧州市", "北海市", "防城港市", "钦州市", "贵港市",
                   "玉林市", "百色市", "贺州市", "河池市", "来宾市", "崇左市")),
    "44": ("广东", ("广州市", "深圳市", "佛山市", "东莞市", "珠海市", "湛江市")),
    "43": ("湖南", ("长沙市", "株洲市", "衡阳市", "岳阳市")),
    "53": ("云南", ("昆明市", "曲靖市", "玉溪市")),
    "52": ("贵州", ("贵阳市", "遵义市")),
    "46": ("海南", ("海口市", "三亚市")),
    "11": ("北京", ("北京市",)),
    "31": ("上海", ("上海市",)),
    "33": ("浙江", ("杭州市", "宁波市", "温州市")),
    "32": ("江苏", ("南京市", "苏州市", "无锡市")),
    "51": ("四川", ("成都市", "绵阳市")),
}

_WORDS = ("桂通", "八桂", "壮乡", "邕江", "漓江", "宏达", "鑫源", "恒信", "华晟", "嘉禾", "瑞丰", "永泰",
          "金穗", "汇通", "锦程", "盛世", "远航", "润泽", "博远", "新丰", "明珠", "海川", "兴业", "中联",
          "东盟", "北部湾", "红水河", "西江", "南国", "凯旋")
_TRADES = ("商贸", "建筑工程", "物流", "农业科技", "食品", "医药", "信息技术", "机械设备", "糖业", "建材",
           "汽车销售", "餐饮管理", "旅游开发", "林业", "电子科技", "广告传媒", "物业服务", "能源")
_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁韦覃莫蒙"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
          "超", "秀英", "桂兰", "志强", "海燕", "建华")


def organisation_code(body8: str) -> str:
    """The 9-character organisation code: ``body8`` + its GB 11714 check digit."""
    if len(body8) != 8:
        raise ValueError(f"organisation code body must have 8 characters, got {body8!r}")
    total = sum(_ORG_ALPHABET.index(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


# One implementation of GB 32100-2015, shared with the quality rules that check it.
credit_check_character = check_character



def make_credit_code(rng: random.Random, division: str, *, kind: str = "91") -> str:
    """A valid credit code for an organisation in ``division`` (6 digits); ``kind`` is the
    registration authority + organisation type (91 enterprise, 92 individual business, 12 public)."""
    if len(division) != 6 or not division.isdigit():
        raise ValueError(f"division must be 6 digits, got {division!r}")
    body = "".join(rng.choice(_ORG_ALPHABET) for _ in range(8))
    first17 = kind + division + organisation_code(body)
    return first17 + credit_check_character(first17)


def corrupt_check_character(code: str) -> str:
    """The same code with a wrong check character (a typical data-entry error)."""
    good = code[17]
    wrong = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(good) + 7) % 31]
    return code[:17] + wrong


def tax_office(province: str, city: int, county: int) -> str:
    """11-digit tax-office code: 1 + province + city + county + 0000 (e.g. 14501020000)."""
    return f"1{province}{city:02d}{county:02d}0000"


def division_of(office: str) -> str:
    """The 6-digit administrative division of an office (the credit code's positions 3-8)."""
    return office[1:7]


def company_name(rng: random.Random, province: str, city_index: int) -> str:
    cities = PROVINCES[province][1]
    city = cities[(city_index - 1) % len(cities)]
    return f"{city}{rng.choice(_WORDS)}{rng.choice(_TRADES)}{rng.choice(_SUFFIXES)}"


def person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def digital_invoice_number(year: int, province: str, channel: int, sequence: int) -> str:
    """20-digit 数电 invoice number: yy + province + channel (1 platform, 2 Leqi) + 15-digit sequence."""
    if not 0 <= sequence < 10**15:
        raise ValueError("digital invoice sequence must fit in 15 digits")
    return f"{year % 100:02d}{province}{channel}{sequence:015d}"


def tax_control_code(year: int, province: str, batch: int, paper_type: str) -> str:
    """12-digit 发票代码: 0 + province + 00 + yy + batch + type (01 专票 / 04 普票) + 10."""
    code = f"0{province}00{year % 100:02d}{batch % 10}{paper_type}10"
    assert len(code) == 12, code
    return code
