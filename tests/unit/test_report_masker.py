"""What people may read: keys masked by column, free text masked three ways."""

from __future__ import annotations

import pytest

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.report.masker import Masker


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(load_catalog(ROOT / "checks"))


def test_keys_masked_by_column(masker: Masker) -> None:
    assert masker.key("nsr_jcxx", "91450100MA5K8X2Q3D") == "914501**********3D"
    # an invoice key is shown as it is, also a 20-digit digital-invoice number
    assert masker.key("fp_fpxx", ("145001900111", "26452000000012345678")) == [
        "145001900111",
        "26452000000012345678",
    ]
    # an unknown table: anything id-like is masked (safe side)
    assert masker.key("unknown", "91450100MA5K8X2Q3D") == "914501**********3D"


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("mysql+pymysql://sv:S3cr3t@db:3306/x unreachable", "S3cr3t", "mysql+pymysql://sv:***@db"),
        ("login failed password=S3cr3t, retry", "S3cr3t", "password=***"),
        ('row gmfmc="南宁市星辰科技有限公司" rejected', "星辰科技", 'gmfmc="南'),
        ("gmfmc：南宁市星辰科技有限公司，重复", "星辰科技", "gmfmc：南"),
        ("dup key xsfnsrsbh=91450100MA5K8X2Q3D", "91450100MA5K8X2Q3D", "xsfnsrsbh=914501"),
        ("seller 91450100MA5K8X2Q3D in text", "91450100MA5K8X2Q3D", "seller 914501"),
    ],
)
def test_free_text(masker: Masker, text: str, gone: str, kept: str) -> None:
    out = masker.text(text)
    assert out is not None and gone not in out and kept in out


def test_json_structures(masker: Masker) -> None:
    value = {"sample_message": "nsrmc=某某公司", "tables": ["nsr_jcxx"], "n": 3}
    assert masker.json(value) == {"sample_message": "nsrmc=某***", "tables": ["nsr_jcxx"], "n": 3}
