"""Masking of what people read: taxpayer ids, names and credentials.

Reports, tickets, logs, stored results and exception texts go through these helpers — there is
one implementation of credential masking (:func:`mask_text` / :func:`mask_url`) and every sink
uses it. Keys (invoice numbers) and counts are shown as they are; taxpayer ids (unified social
credit codes, 15-20 characters) keep their first 6 and last 2 characters; names keep their
first character.

Connection URLs inside free text are found with a deliberately loose ``scheme://...`` pattern
and each one is parsed by SQLAlchemy's own URL parser (``make_url``): the password and every
secret-looking query parameter (``password``, ``pwd``, ``sasl.password``, ``token`` ...) are
masked from the parsed URL, so every spelling SQLAlchemy accepts — percent-encoded, containing
``:``, ``/`` or ``?`` — is covered by the same grammar the engine uses to connect. When the parse
fails or is ambiguous (a raw ``@`` in the password leaves an ``@`` in the host), the whole
userinfo is masked instead: over-masking is the safe side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote_plus

from sqlalchemy.engine import URL, make_url

MASK = "***"
_TAXPAYER_ID = re.compile(r"(?<![0-9A-Z])([0-9A-HJ-NPQRTUWXY]{15,20})(?![0-9A-Z])")
# Locates URL candidates only; what is secret inside one is decided by SQLAlchemy's parser.
_URL_CANDIDATE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_TRAILING = ".,;:!?"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Query parameter / config key names whose values are secrets (compared lower-cased).
SECRET_KEYS = frozenset({"password", "passwd", "pwd", "pass", "secret", "token", "sasl.password"})
_SECRET_SUFFIXES = ("password", "passwd", "pwd", "secret", "token", "sasl.jaas.config",
                    "sasl.oauthbearer.config", "api_key", "apikey")
# ``password=...`` / ``"sasl.password": "..."`` pairs in free text (DSNs, dict reprs, messages).
_SECRET_PAIR = re.compile(
    r"(?i)(?<![\w.])([\w.\-]*(?:password|passwd|pwd|secret|token))([\"']?\s*[=:：]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s,;&)}\]]+)")
_PLACEHOLDER = "svmaskedvalue"


def is_secret_key(key: str) -> bool:
    """Whether a query parameter or client setting named ``key`` holds a secret."""
    k = key.strip().lower()
    return k in SECRET_KEYS or k.endswith(_SECRET_SUFFIXES)


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


def _mask_query_text(query: str) -> str:
    """``a=1&password=x`` -> ``a=1&password=***`` without parsing (the fallback path)."""
    parts = []
    for piece in query.split("&"):
        key, sep, _ = piece.partition("=")
        parts.append(f"{key}={MASK}" if sep and is_secret_key(unquote_plus(key)) else piece)
    return "&".join(parts)


def _fallback(url: str) -> str:
    """Mask everything between ``://`` and the last ``@`` of the part before the query, and
    secret query parameters: for URLs SQLAlchemy cannot parse, or parses ambiguously."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    head, qmark, query = rest.partition("?")
    if "@" in head:
        head = MASK + "@" + head.rpartition("@")[2]
    return f"{scheme}://{head}{qmark}{_mask_query_text(query) if qmark else ''}"


def _mask_parsed(url: URL) -> str | None:
    """The rendered URL with its secrets masked, or None when nothing in it is secret."""
    secret_keys = [k for k in url.query if is_secret_key(k)]
    if url.password is None and not secret_keys:
        return None
    if secret_keys:
        url = url.update_query_dict({k: _PLACEHOLDER for k in secret_keys})
    return url.render_as_string(hide_password=True).replace(_PLACEHOLDER, MASK)


def _ambiguous(url: URL) -> bool:
    """A raw ``@`` in the password makes SQLAlchemy end the password at the first ``@``, leaving
    the rest of it in the host (or, with a ``/`` too, in the database)."""
    return "@" in (url.host or "") or (url.password is not None and "@" in (url.database or ""))


def mask_url(url: str) -> str:
    """A connection URL with its password and secret query parameters replaced by ``***``."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy understands (several hosts, odd scheme ...)
        return _fallback(url)
    if _ambiguous(parsed):
        return _fallback(url)
    masked = _mask_parsed(parsed)
    return url if masked is None else masked


def _split_trailing(token: str) -> tuple[str, str]:
    """Prose punctuation after a URL (``...db: refused``, ``(url)``) is not part of it."""
    end = len(token)
    while end > 0:
        ch = token[end - 1]
        if ch in _TRAILING or (ch in _CLOSERS and token[:end].count(_CLOSERS[ch]) < token[:end].count(ch)):
            end -= 1
            continue
        break
    return token[:end], token[end:]


def _mask_pairs(text: str) -> str:
    return _SECRET_PAIR.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)


def secret_forms(secret: str) -> set[str]:
    """A secret as it may appear in text: raw, percent-encoded and form-encoded."""
    return {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe=" +")} - {""}


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove URL passwords, secret query parameters, ``password=...`` pairs and any of
    ``secrets`` (in their raw and URL-encoded forms) from free text (error messages, logs)."""
    out: list[str] = []
    pos = 0
    for m in _URL_CANDIDATE.finditer(text):
        url, tail = _split_trailing(m.group(0))
        out.append(_mask_pairs(text[pos:m.start()]))
        out.append(mask_url(url) + tail)
        pos = m.end()
    out.append(_mask_pairs(text[pos:]))
    masked = "".join(out)
    for secret in secrets:
        if secret and len(secret) >= 3:
            for form in sorted(secret_forms(secret), key=len, reverse=True):
                masked = masked.replace(form, MASK)
    return masked


def mask_taxpayer_ids_in_text(text: str) -> str:
    """Mask every token that looks like a taxpayer id inside free text."""
    return _TAXPAYER_ID.sub(lambda m: mask_taxpayer_id(m.group(1)) or "", text)
