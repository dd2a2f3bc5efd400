"""What people may read: keys, free text and log messages with taxpayer data masked.

Keys are masked by column (the catalog's ``masked_columns``): a taxpayer id in a key is masked,
an invoice number is shown as it is. Free text from the store (errors, ticket titles, log
messages, finding evidence) goes through three passes: credentials (URL passwords, secret query parameters and
``password=...`` pairs, by :func:`syncverify.masking.mask_text`, the one credential masker every
sink uses), anything that looks like a taxpayer id, and ``column=value`` pairs of masked columns
(so ``gmfmc=南宁市某某公司`` in a log message keeps only its first character).
"""

from __future__ import annotations

import re
from typing import Any

from syncverify.catalog import Catalog
from syncverify.masking import mask_name, mask_taxpayer_id, mask_taxpayer_ids_in_text, mask_text
from syncverify.results import Key


class Masker:
    """Masks keys and text for one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        columns = sorted({c for t in catalog.tables.values() for c in t.masked_columns}, key=len, reverse=True)
        self._pairs = (
            re.compile(
                r"(?i)\b(" + "|".join(map(re.escape, columns)) + r")(\s*[=:：]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;，、)）\"']+)"
            )
            if columns
            else None
        )

    @staticmethod
    def _value(column: str, value: str) -> str:
        quote = value[0] if value[:1] in {'"', "'"} else ""
        inner = value[1:-1] if quote else value
        masked = mask_taxpayer_id(inner) if "nsrsbh" in column.lower() or "sbh" in column.lower() else mask_name(inner)
        return f"{quote}{masked}{quote}"

    def text(self, value: Any) -> str | None:
        if value is None:
            return None
        text = mask_text(str(value))
        if self._pairs is not None:
            text = self._pairs.sub(lambda m: f"{m[1]}{m[2]}{self._value(m[1], m[3])}", text)
        return mask_taxpayer_ids_in_text(text)

    def json(self, value: Any) -> Any:
        """Every string inside a JSON-able structure masked (keys of mappings included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value

    def key(self, table: str, key: Key | list[str]) -> str | list[str]:
        """A differing key: taxpayer-id parts masked by column, other parts shown."""
        parts = list(key) if isinstance(key, list | tuple) else [key]
        tdef = self.catalog.tables.get(table)
        if tdef is not None and len(tdef.key) == len(parts):
            masked = [
                self._value(col, str(p)) if col in tdef.masked_columns else str(p)
                for col, p in zip(tdef.key, parts, strict=True)
            ]
        else:
            # Unknown table: an invoice number cannot be told from a taxpayer id, so mask both.
            masked = [mask_taxpayer_ids_in_text(str(p)) for p in parts]
        return masked if isinstance(key, list | tuple) else masked[0]
