"""Suite files: ``expectations/<family>.json`` -> :class:`SuiteSpec`.

The file is a small wrapper around a GX 1.x expectation list (documented in docs/quality.md)::

    {
      "suite": "invoice",                   # name; also the file stem by convention
      "table": "fp_fpxx",                   # default physical table
      "window_column": "kprq",              # default column a monthly window filters on
      "key": ["fpdm", "fphm"],              # key columns shown (masked) as sample keys
      "masked_columns": ["xsfnsrsbh"],      # extra columns to mask besides the known id/name ones
      "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "fphm"},
         "meta": {"rule": "invoice number present"}},
        {"type": "expect_column_values_to_be_valid_taxpayer_id", "kwargs": {"column": "xsfnsrsbh"}}
      ]
    }

``type`` is either a GX core expectation (``expect_...`` in GX's registry, kwargs as GX takes
them) or one of the syncverify rules in :mod:`syncverify.quality.rules`. Loading checks the
structure and every GX expectation's kwargs, so a broken file fails here, naming the file and the
expectation, before any database is touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncverify.errors import SyncverifyError
from syncverify.quality.expectation import ExpectationSpec

DEFAULT_DIR = Path("expectations")


class SuiteFileError(SyncverifyError):
    """A suite file is missing, does not parse, or declares something invalid. Names the file."""

    def __init__(self, file: str | Path, message: str) -> None:
        self.file = str(file)
        self.reason = message
        super().__init__(f"suite file {self.file}: {message}")


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed suite file."""

    name: str
    table: str
    window_column: str | None
    key: list[str]
    expectations: list[ExpectationSpec]
    masked_columns: frozenset[str] = frozenset()
    file: str | None = None
    description: str = ""

    def all_columns(self) -> list[str]:
        cols = list(self.key)
        if self.window_column:
            cols.append(self.window_column)
        for exp in self.expectations:
            cols.extend(exp.columns)
        return list(dict.fromkeys(cols))


def _require(cond: bool, file: str | Path, message: str) -> None:
    if not cond:
        raise SuiteFileError(file, message)


def parse_suite(data: Any, *, file: str | Path = "<memory>") -> SuiteSpec:
    """Validate a decoded suite document; raises :class:`SuiteFileError` naming ``file``."""
    from syncverify.quality import rules

    _require(isinstance(data, dict), file, "expected a JSON object at the top level")
    for name in ("suite", "table"):
        _require(isinstance(data.get(name), str) and bool(data[name]), file, f"'{name}' must be a non-empty string")
    key = data.get("key", [])
    _require(isinstance(key, list) and all(isinstance(k, str) for k in key), file,
             "'key' must be a list of column names")
    window = data.get("window_column")
    _require(window is None or isinstance(window, str), file, "'window_column' must be a column name or null")
    masked = data.get("masked_columns", [])
    _require(isinstance(masked, list), file, "'masked_columns' must be a list of column names")
    raw = data.get("expectations")
    _require(isinstance(raw, list) and bool(raw), file, "'expectations' must be a non-empty list")
    specs = []
    for i, item in enumerate(raw):
        where = f"expectation #{i + 1}"
        _require(isinstance(item, dict), file, f"{where}: expected an object with 'type' and 'kwargs'")
        etype = item.get("type") or item.get("expectation_type")
        _require(isinstance(etype, str) and bool(etype), file, f"{where}: 'type' is missing")
        kwargs = item.get("kwargs", {})
        meta = item.get("meta", {})
        _require(isinstance(kwargs, dict), file, f"{where} ({etype}): 'kwargs' must be an object")
        _require(isinstance(meta, dict), file, f"{where} ({etype}): 'meta' must be an object")
        spec = ExpectationSpec(index=i, type=str(etype), kwargs=dict(kwargs), meta=dict(meta))
        try:
            if spec.type in rules.RULES:
                rules.validate(spec)
            else:
                _validate_gx(spec)
        except SuiteFileError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise SuiteFileError(file, f"{where} ({etype}): {_first_line(exc)}") from None
        specs.append(spec)
    return SuiteSpec(name=data["suite"], table=data["table"], window_column=window, key=list(key),
                     expectations=specs, masked_columns=frozenset(str(c) for c in masked),
                     file=str(file), description=str(data.get("description", "")))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _validate_gx(spec: ExpectationSpec) -> None:
    """Build the GX expectation once so that bad kwargs fail at load time."""
    from syncverify.quality.gx import build_gx_expectation

    build_gx_expectation(spec)


def load_suite(path: str | Path) -> SuiteSpec:
    """Read and validate one suite file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteFileError(path, "does not exist") from None
    except OSError as exc:
        raise SuiteFileError(path, f"cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteFileError(path, f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return parse_suite(data, file=path)


def suite_path(name_or_path: str | Path, directory: str | Path = DEFAULT_DIR) -> Path:
    """``invoice`` -> ``expectations/invoice.json``; a path (with a suffix) is returned as is."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.parent != Path("."):
        return candidate
    return Path(directory) / f"{candidate}.json"


def available_suites(directory: str | Path = DEFAULT_DIR) -> list[str]:
    """Names of the suite files in ``directory`` (sorted)."""
    return sorted(p.stem for p in Path(directory).glob("*.json"))
