"""Masking of what people read: taxpayer ids, names and credentials.

Reports, tickets, logs and exception texts go through these helpers. Keys (invoice numbers) and
counts are shown as they are; taxpayer ids (unified social credit codes, 15-20 characters) keep
their first 6 and last 2 characters; names keep their first character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.engine import make_url

_TAXPAYER_ID = re.compile(r"(?<![0-9A-Z])([0-9A-HJ-NPQRTUWXY]{15,20})(?![0-9A-Z])")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@")


def mask_taxpayer_id(value: str | None) -> str | None:
    """``91450100MA5K8X2Q3D`` -> ``914501**********3D``. Short values are masked whole."""
    if value is None:
        return None
    text = str(value)
    if len(text) < 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 8) + text[-2:]


def mask_name(value: str | None) -> str | None:
    """``南宁市某某科技有限公司`` -> ``南*********``; keeps only the first character."""
    if value is None:
        return None
    text = str(value)
    if len(text) <= 1:
        return "*"
    return text[0] + "*" * (len(text) - 1)


def mask_url(url: str) -> str:
    """A connection URL with its password replaced by ``***`` (also inside free text)."""
    try:
        parsed = make_url(url)
        if parsed.password is not None:
            return parsed.render_as_string(hide_password=True)
        return str(parsed)
    except Exception:  # not a URL SQLAlchemy understands: fall back to the regex
        return mask_text(url)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove URL passwords and any of ``secrets`` from free text (error messages, logs)."""
    masked = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            masked = masked.replace(secret, "***")
    return masked


def mask_taxpayer_ids_in_text(text: str) -> str:
    """Mask every token that looks like a taxpayer id inside free text."""
    return _TAXPAYER_ID.sub(lambda m: mask_taxpayer_id(m.group(1)) or "", text)
