"""Where tickets go besides the results store: a webhook and a file drop.

A sink receives one JSON document per ticket event, with an idempotency key that stays the same
across retries (the ``Idempotency-Key`` header and the ``idempotency_key`` field), so that a
receiving system that dedups on it never opens a ticket twice. Sinks are fed from the outbox
(:mod:`syncverify.tickets.outbox`); a sink that fails raises :class:`SinkError` and the delivery
stays pending until it succeeds.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from syncverify.errors import SyncverifyError
from syncverify.masking import mask_text, mask_url


class SinkError(SyncverifyError):
    """A sink did not take a delivery; ``attempts`` says how many tries were made."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class Sink(Protocol):
    name: str

    def send(self, payload: Mapping[str, Any], idempotency_key: str) -> int:
        """Deliver one document; returns the number of attempts it took. Raises SinkError."""
        ...


class WebhookSink:
    """JSON POST to a URL, retried with exponential backoff.

    2xx is delivered; 409 Conflict also counts as delivered, because a receiver that dedups on the
    idempotency key answers it for a document it already has. Anything else (or no answer) is
    retried ``attempts`` times, waiting ``backoff_s``, ``2*backoff_s``, ... in between.
    """

    def __init__(self, url: str, *, name: str = "webhook", attempts: int = 4, backoff_s: float = 0.5,
                 timeout_s: float = 10.0, headers: Mapping[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not url.startswith(("http://", "https://")):
            raise SyncverifyError(f"webhook URL {mask_url(url)!r} must start with http:// or https://")
        if attempts < 1:
            raise SyncverifyError("webhook attempts must be at least 1")
        self.url, self.name, self.attempts, self.backoff_s = url, name, attempts, backoff_s
        self.timeout_s, self.headers, self.sleep = timeout_s, dict(headers or {}), sleep

    def send(self, payload: Mapping[str, Any], idempotency_key: str) -> int:
        body = json.dumps({**payload, "idempotency_key": idempotency_key}, ensure_ascii=False,
                          default=str).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_key,
                   "User-Agent": "syncverify-tickets", **self.headers}
        last = ""
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    response.read()
                    return attempt
            except urllib.error.HTTPError as exc:
                if exc.code == 409:
                    return attempt
                last = f"HTTP {exc.code} {exc.reason}"
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{exc.__class__.__name__}: {reason}"
            if attempt < self.attempts:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise SinkError(f"webhook {mask_url(self.url)} failed after {self.attempts} attempts: "
                        f"{mask_text(last)}", attempts=self.attempts)


class FileDropSink:
    """One JSON file per ticket event in a folder, written atomically (temp file + rename).

    The file is named after the idempotency key, so a repeated delivery rewrites the same file
    instead of adding a second one.
    """

    def __init__(self, folder: str | os.PathLike[str], *, name: str = "file") -> None:
        self.folder, self.name = Path(folder), name

    def send(self, payload: Mapping[str, Any], idempotency_key: str) -> int:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in idempotency_key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({**payload, "idempotency_key": idempotency_key}, fh, ensure_ascii=False,
                          indent=2, default=str)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / f"{safe}.json")
        except OSError as exc:
            raise SinkError(f"file drop {str(self.folder)!r}: {exc.strerror or exc}") from None
        return 1


def configured_sinks(env: Mapping[str, str] | None = None) -> dict[str, Sink]:
    """The sinks named by the environment (the embedded default is the file drop only).

    ``SYNCVERIFY_TICKET_SINKS``   comma list of ``file``, ``webhook`` (default: ``file``, plus
                                  ``webhook`` when a webhook URL is set; ``none`` for no sink)
    ``SYNCVERIFY_TICKET_DROP``    the file-drop folder (default ``$SYNCVERIFY_HOME/ticket-drop``)
    ``SYNCVERIFY_TICKET_WEBHOOK`` the webhook URL
    """
    from syncverify.store import home

    env = os.environ if env is None else env
    url = env.get("SYNCVERIFY_TICKET_WEBHOOK")
    names = env.get("SYNCVERIFY_TICKET_SINKS")
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else (
        ["file", "webhook"] if url else ["file"])
    sinks: dict[str, Sink] = {}
    for name in wanted:
        if name == "none":
            continue
        if name == "file":
            sinks[name] = FileDropSink(env.get("SYNCVERIFY_TICKET_DROP") or home() / "ticket-drop")
        elif name == "webhook":
            if not url:
                raise SyncverifyError("ticket sink 'webhook' needs SYNCVERIFY_TICKET_WEBHOOK (a URL)")
            sinks[name] = WebhookSink(url)
        else:
            raise SyncverifyError(f"unknown ticket sink {name!r} in SYNCVERIFY_TICKET_SINKS; "
                                  "known: file, webhook, none")
    return sinks


def configured_sink_names(env: Mapping[str, str] | None = None) -> list[str]:
    return list(configured_sinks(env))
