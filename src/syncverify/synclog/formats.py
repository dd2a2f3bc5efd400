"""Log source formats: loaded from ``checks/synclog.yaml`` and validated.

Each source says which files it reads (globs on the file name) and how a line becomes an event.
Formats are configuration because real DSG builds and consumer applications differ and their
formats are not public; the shipped file documents plausible defaults.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from syncverify.errors import SyncverifyError

#: Fields an event carries. Numeric ones are integers; the rest are text.
NUMERIC_FIELDS = ("ins", "upd", "del", "batch", "lag_ms", "backlog", "retry")
TEXT_FIELDS = ("link", "level", "event", "table", "code", "msg", "reason")
EVENT_FIELDS = ("time", *TEXT_FIELDS, *NUMERIC_FIELDS)
EVENT_KINDS = ("apply", "error", "restart", "status")
KINDS = ("keyvalue", "regex", "jsonl")
_MAX_TOKEN = 16  # the keyvalue parser compares head words and keys of up to 16 bytes

DEFAULT_FORMATS_PATH = Path(__file__).resolve().parents[3] / "checks" / "synclog.yaml"


class LogFormatError(SyncverifyError):
    """A log source in the formats file is broken. Names the file, the source and the field."""

    def __init__(
        self, message: str, *, file: str | None = None, source: str | None = None, field: str | None = None
    ) -> None:
        self.file, self.source, self.field = file, source, field
        where = ", ".join(f"{k} {v}" for k, v in (("file", file), ("source", source), ("field", field)) if v)
        super().__init__(f"log format error ({where}): {message}" if where else f"log format error: {message}")


class LogInputError(SyncverifyError):
    """A log path that cannot be read (missing, not a file, no source matches it)."""


@dataclass(frozen=True)
class LogSource:
    """One log source: which files, which kind of parser and its settings."""

    name: str
    kind: str
    files: tuple[str, ...]
    events: dict[str, tuple[str, ...]]  # event kind -> words used in the log
    error_levels: tuple[str, ...] = ("ERROR", "FATAL")
    head: tuple[str, ...] = ()  # keyvalue: tokens after the time
    keys: dict[str, str] = field(default_factory=dict)  # keyvalue: event field -> key in the log
    pattern: str | None = None  # regex
    fields: dict[str, str] = field(default_factory=dict)  # jsonl: event field -> JSON key
    time_format: str = "iso"  # jsonl: iso | epoch_ms
    link_from_path: str | None = None

    def matches(self, path: Path) -> bool:
        return any(fnmatch.fnmatch(path.name, glob) for glob in self.files)

    def link_for_path(self, path: Path) -> str | None:
        if not self.link_from_path:
            return None
        m = re.search(self.link_from_path, path.name)
        return m.group(1) if m else None


@dataclass(frozen=True)
class LogFormats:
    """The log sources, in file order (the first match wins)."""

    sources: tuple[LogSource, ...]
    path: str | None = None

    def source_for(self, path: Path) -> LogSource | None:
        for source in self.sources:
            if source.matches(path):
                return source
        return None

    def __getitem__(self, name: str) -> LogSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


def load_formats(path: str | Path | None = None) -> LogFormats:
    """Load and validate the ``log_sources`` of a formats file (default: ``checks/synclog.yaml``).

    Raises :class:`LogFormatError` naming the file, the source and the field that is wrong
    (for example a regular expression RE2 cannot compile).
    """
    file = Path(path) if path is not None else DEFAULT_FORMATS_PATH
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LogFormatError(f"cannot read: {exc.strerror or exc}", file=str(file)) from None
    except yaml.YAMLError as exc:
        raise LogFormatError(f"not valid YAML: {exc}", file=str(file)) from None
    if not isinstance(data, dict) or not isinstance(data.get("log_sources"), dict) or not data["log_sources"]:
        raise LogFormatError("expected a mapping `log_sources:` with at least one source", file=str(file))
    return formats_from_dict(data["log_sources"], file=str(file))


def formats_from_dict(raw_sources: dict[str, Any], *, file: str | None = None) -> LogFormats:
    """Validate a ``{name: settings}`` mapping (what ``log_sources:`` holds)."""
    return LogFormats(tuple(_source(str(name), spec, file) for name, spec in raw_sources.items()), file)


def _str_list(value: Any, *, file: str | None, source: str, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise LogFormatError("expected a non-empty list of strings", file=file, source=source, field=name)
    return tuple(value)


def _str_map(value: Any, *, file: str | None, source: str, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        raise LogFormatError("expected a mapping of field -> name", file=file, source=source, field=name)
    unknown = sorted(set(value) - set(EVENT_FIELDS))
    if unknown:
        raise LogFormatError(
            f"unknown event field(s) {unknown}; known: {list(EVENT_FIELDS)}",
            file=file,
            source=source,
            field=name,
        )
    return {str(k): v for k, v in value.items()}


def _source(name: str, spec: Any, file: str | None) -> LogSource:
    if not isinstance(spec, dict):
        raise LogFormatError("expected a mapping", file=file, source=name)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise LogFormatError(f"kind must be one of {list(KINDS)}, got {kind!r}", file=file, source=name, field="kind")
    known = {
        "kind",
        "files",
        "events",
        "error_levels",
        "head",
        "keys",
        "pattern",
        "fields",
        "time_format",
        "link_from_path",
    }
    extra = sorted(set(spec) - known)
    if extra:
        raise LogFormatError(f"unknown setting(s) {extra}", file=file, source=name)
    files = _str_list(spec.get("files"), file=file, source=name, name="files")
    raw_events = spec.get("events") or {}
    if not isinstance(raw_events, dict) or set(raw_events) - set(EVENT_KINDS):
        raise LogFormatError(
            f"events must map some of {list(EVENT_KINDS)} to lists of words",
            file=file,
            source=name,
            field="events",
        )
    events = {k: _str_list(v, file=file, source=name, name=f"events.{k}") for k, v in raw_events.items()}
    if "apply" not in events:
        raise LogFormatError(
            "events.apply is required (the words of a progress line)", file=file, source=name, field="events"
        )
    error_levels = _str_list(spec.get("error_levels", ["ERROR", "FATAL"]), file=file, source=name, name="error_levels")
    link_from_path = spec.get("link_from_path")
    if link_from_path is not None:
        try:
            if re.compile(link_from_path).groups != 1:
                raise LogFormatError("needs exactly one group (the link id)", file=file, source=name, field="link_from_path")
        except re.error as exc:
            raise LogFormatError(f"bad regular expression: {exc}", file=file, source=name, field="link_from_path") from None
    common: dict[str, Any] = dict(
        name=name,
        kind=kind,
        files=files,
        events=events,
        error_levels=error_levels,
        link_from_path=link_from_path,
    )
    has_link = link_from_path is not None
    if kind == "keyvalue":
        head = _str_list(spec.get("head"), file=file, source=name, name="head")
        bad = [h for h in head if h not in ("link", "level", "event", "table", "code")]
        if bad:
            raise LogFormatError(
                f"head tokens must be among link, level, event, table, code; got {bad}",
                file=file,
                source=name,
                field="head",
            )
        keys = _str_map(spec.get("keys") or {}, file=file, source=name, name="keys")
        for fld, key in keys.items():
            if len(key.encode()) > _MAX_TOKEN or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", key):
                raise LogFormatError(
                    f"key {key!r} for {fld} must be a word of at most {_MAX_TOKEN} bytes",
                    file=file,
                    source=name,
                    field=f"keys.{fld}",
                )
        for words in events.values():
            for word in words:
                if len(word.encode()) > _MAX_TOKEN or " " in word:
                    raise LogFormatError(
                        f"event word {word!r} must be one word of at most {_MAX_TOKEN} bytes",
                        file=file,
                        source=name,
                        field="events",
                    )
        if "link" not in head and not has_link:
            raise LogFormatError(
                "the link comes from nowhere: add `link` to head or set link_from_path",
                file=file,
                source=name,
                field="head",
            )
        return LogSource(head=head, keys=keys, **common)
    if kind == "regex":
        pattern = spec.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise LogFormatError("a regex source needs `pattern`", file=file, source=name, field="pattern")
        try:
            groups = set(re.compile(pattern).groupindex)
        except re.error as exc:
            raise LogFormatError(f"bad regular expression: {exc}", file=file, source=name, field="pattern") from None
        try:  # the parser runs RE2 (through Arrow), whose syntax is narrower than Python's
            pc.extract_regex(pa.array([""], pa.string()), pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise LogFormatError(f"RE2 cannot compile the pattern: {exc}", file=file, source=name, field="pattern") from None
        unknown = sorted(groups - set(EVENT_FIELDS))
        if unknown:
            raise LogFormatError(
                f"unknown named group(s) {unknown}; known: {list(EVENT_FIELDS)}",
                file=file,
                source=name,
                field="pattern",
            )
        for required in ("time", "event"):
            if required not in groups:
                raise LogFormatError(
                    f"the pattern needs a named group `{required}`", file=file, source=name, field="pattern"
                )
        if "link" not in groups and not has_link:
            raise LogFormatError(
                "the pattern needs a named group `link` (or set link_from_path)",
                file=file,
                source=name,
                field="pattern",
            )
        return LogSource(pattern=pattern, **common)
    fields = _str_map(spec.get("fields") or {}, file=file, source=name, name="fields")
    for required in ("time", "event"):
        if required not in fields:
            raise LogFormatError(f"fields.{required} is required", file=file, source=name, field="fields")
    if "link" not in fields and not has_link:
        raise LogFormatError("fields.link is required (or set link_from_path)", file=file, source=name, field="fields")
    time_format = spec.get("time_format", "iso")
    if time_format not in ("iso", "epoch_ms"):
        raise LogFormatError(
            f"time_format must be iso or epoch_ms, got {time_format!r}",
            file=file,
            source=name,
            field="time_format",
        )
    return LogSource(fields=fields, time_format=time_format, **common)
