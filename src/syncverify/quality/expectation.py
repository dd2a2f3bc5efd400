"""One expectation of a suite file, as written there: what the GX builder (:mod:`.gx`) and the
syncverify rules (:mod:`.rules`) take, apart from the file parsing (:mod:`.suites`) that calls them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation as written in the suite file."""

    index: int
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        """A short human name: ``meta.rule`` when given, else the type and its columns."""
        return str(self.meta.get("rule") or f"{self.type}({', '.join(self.columns)})")

    @property
    def columns(self) -> list[str]:
        """The columns of the suite's table this expectation reads, as named in its kwargs."""
        kw = self.kwargs
        cols: list[str] = []
        for name in ("column", "column_A", "column_B", "total"):
            if isinstance(kw.get(name), str):
                cols.append(kw[name])
        for name in ("column_list", "columns", "addends"):
            if isinstance(kw.get(name), list):
                cols.extend(str(c) for c in kw[name])
        for cond in kw.get("when") or []:
            if isinstance(cond, dict) and isinstance(cond.get("column"), str):
                cols.append(cond["column"])
        for name in kw.get("uses_columns") or []:
            cols.append(str(name))
        return list(dict.fromkeys(cols))
