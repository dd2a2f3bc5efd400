"""Reading stored check results row by row, so that one corrupt row costs only itself.

A row written by an older or newer version, edited by hand or damaged on disk may hold a payload
that is not JSON, an outcome or kind this version does not know, or lack fields. Decoding every
payload through the ORM made the first such row stop the whole monthly report without saying
which row it was. Here the payload is fetched as it is stored (no JSON decoding by the driver
layer), decoded per row, and a row that does not decode is skipped and named — table, row id,
check id — in the caller's warnings and the log.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncverify.masking import mask_taxpayer_ids_in_text, mask_text
from syncverify.results import CheckResult
from syncverify.store.models import CheckResultRow

log = logging.getLogger(__name__)

_TABLE = CheckResultRow.__tablename__


def decode_result(payload: Any) -> CheckResult:
    """A stored payload (JSON text, bytes, or already a mapping) as a :class:`CheckResult`;
    ``ValueError`` saying what is wrong when it is not one."""
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise ValueError(f"payload is not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"payload is a {type(payload).__name__}, not a JSON object")
    try:
        return CheckResult.from_dict(payload)
    except KeyError as exc:
        raise ValueError(f"payload lacks the field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"payload does not decode: {first}") from None


def read_results(session: Session, run_id: str, warnings: list[str] | None = None) -> list[CheckResult]:
    """The decodable results of ``run_id`` in insertion order; the others are named in
    ``warnings`` (when given) and logged."""
    raw_payload = sa.type_coerce(CheckResultRow.payload, sa.Text)   # no JSON decoding on fetch
    rows = session.execute(sa.select(CheckResultRow.id, CheckResultRow.check_id, raw_payload)
                           .where(CheckResultRow.run_id == run_id).order_by(CheckResultRow.id))
    out: list[CheckResult] = []
    for row_id, check_id, payload in rows:
        try:
            out.append(decode_result(payload))
        except ValueError as exc:
            message = mask_text(mask_taxpayer_ids_in_text(f"skipped corrupt result row: table {_TABLE}, id {row_id}, "
                                f"check {check_id!r} of run {run_id!r}: {exc}"))
            log.warning("%s", message)
            if warnings is not None:
                warnings.append(message)
    return out


__all__ = ["decode_result", "read_results"]
