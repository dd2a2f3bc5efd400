"""A logging filter that masks credentials in every record of the ``syncverify`` logger tree.

Call sites mask what they format, but a record can still carry a secret through its arguments
(an engine, a URL, a driver exception) or through a logged traceback, whose exception message is
formatted by whichever handler prints it (the terminal, pytest's caplog, an Airflow task log).
The filter masks the record itself, before any handler sees it: the message is formatted and
masked with :func:`syncverify.masking.mask_text`, and an attached exception is replaced by a
stand-in of the same name whose message (and that of every chained cause) is masked, with the
original traceback frames kept.

A filter on a logger only sees records created by that very logger, not those of its children
that propagate through it, so :func:`install` also wraps the log record factory: every record
whose logger is ``syncverify`` or below goes through the same filter when it is created.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from syncverify.masking import mask_text

LOGGER = "syncverify"
_MASKED = "_syncverify_masked"
_lock = threading.Lock()
_installed = False


def _masked_exception(exc: BaseException, seen: dict[int, BaseException]) -> BaseException:
    """A copy of ``exc`` for formatting only: same class name and module, masked message,
    same traceback, masked causes."""
    if id(exc) in seen:
        return seen[id(exc)]
    try:
        message = mask_text(str(exc))
    except Exception:
        message = exc.__class__.__name__
    cls = type(exc.__class__.__name__, (Exception,), {
        "__module__": exc.__class__.__module__, "__qualname__": exc.__class__.__qualname__,
        "__str__": lambda self, _m=message: _m})
    stand_in = cls(message).with_traceback(exc.__traceback__)
    seen[id(exc)] = stand_in
    if exc.__cause__ is not None:
        stand_in.__cause__ = _masked_exception(exc.__cause__, seen)
    if exc.__context__ is not None:
        stand_in.__context__ = _masked_exception(exc.__context__, seen)
    stand_in.__suppress_context__ = exc.__suppress_context__
    notes = getattr(exc, "__notes__", None)
    if notes:
        stand_in.__notes__ = [mask_text(str(n)) for n in notes]
    return stand_in


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask ``record`` in place (message, arguments, exception, stack) and return it."""
    if getattr(record, _MASKED, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: mask the template, drop the arguments
        message = str(record.msg)
    record.msg, record.args = mask_text(message), None
    if record.exc_info and record.exc_info[1] is not None:
        stand_in = _masked_exception(record.exc_info[1], {})
        record.exc_info = (type(stand_in), stand_in, record.exc_info[2])
        record.exc_text = None
    elif record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    setattr(record, _MASKED, True)
    return record


class SecretMaskingFilter(logging.Filter):
    """Masks credentials in every record it sees; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def _in_tree(name: str | None) -> bool:
    # Airflow's task-log formatter (structlog) makes records with no name: such a record is not
    # ours, and raising here lost every line of the task log ("--- Logging error ---").
    return bool(name) and (name == LOGGER or str(name).startswith(LOGGER + "."))


def install() -> None:
    """Mask every record of the ``syncverify`` logger tree (idempotent). Called by the CLI and
    by the job functions the Airflow DAGs run, before they log anything."""
    global _installed
    with _lock:
        if _installed:
            return
        mask_filter = SecretMaskingFilter()
        logging.getLogger(LOGGER).addFilter(mask_filter)
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _in_tree(record.name):
                mask_filter.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
