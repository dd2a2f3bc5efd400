"""What the parsers read: :class:`ParseStats` (lines, events, malformed lines by reason with masked
samples, encodings, per-file figures) and how log bytes become text for people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncverify.masking import mask_taxpayer_ids_in_text, mask_text

SAMPLES_PER_REASON = 5
SAMPLE_CHARS = 200


def decode_text(raw: bytes | None) -> str:
    """Log bytes as text: UTF-8, else GBK, else UTF-8 with replacement characters."""
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def sample_text(raw: bytes) -> str:
    """A log line as it may be shown to people: cut, taxpayer ids and URL passwords masked."""
    text = decode_text(raw[: 4 * SAMPLE_CHARS])
    cut = len(text) > SAMPLE_CHARS or len(raw) > 4 * SAMPLE_CHARS
    text = mask_text(mask_taxpayer_ids_in_text(text[:SAMPLE_CHARS]))
    return text + "…" if cut else text


def encoding_of(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gbk")
        return "gbk"
    except UnicodeDecodeError:
        return "undecodable"


@dataclass
class FileStats:
    path: str
    source: str | None
    compressed: bool
    bytes: int = 0
    lines: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ParseStats:
    """What the parsers read: lines, events, malformed lines by reason (with masked samples),
    line encodings, lines outside the analysed month, and per-file figures."""

    lines: int = 0
    bytes: int = 0
    events: int = 0
    blank: int = 0
    other_events: int = 0  # parsed lines whose event word is none of the known kinds
    out_of_range: int = 0  # parsed lines outside the analysed month
    malformed: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    encodings: dict[str, int] = field(default_factory=dict)  # ascii / utf-8 / gbk / undecodable
    files: list[FileStats] = field(default_factory=list)
    # files skipped or cut short ("path: reason"): the CLI prints them on stderr
    warnings: list[str] = field(default_factory=list)

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    def add_malformed(self, reason: str, count: int, samples: Iterable[str]) -> None:
        if count <= 0:
            return
        self.malformed[reason] = self.malformed.get(reason, 0) + count
        bucket = self.samples.setdefault(reason, [])
        for sample in samples:
            if len(bucket) >= SAMPLES_PER_REASON:
                break
            bucket.append(sample)

    def add_encoding(self, name: str, count: int) -> None:
        if count:
            self.encodings[name] = self.encodings.get(name, 0) + count

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "bytes": self.bytes,
            "events": self.events,
            "blank": self.blank,
            "other_events": self.other_events,
            "out_of_range": self.out_of_range,
            "malformed_total": self.malformed_total,
            "malformed": dict(self.malformed),
            "samples": {k: list(v) for k, v in self.samples.items()},
            "encodings": dict(self.encodings),
            "files": [f.to_dict() for f in self.files],
            "warnings": list(self.warnings),
        }

    def skip_file(self, path: Path, reason: str, source: str | None = None) -> None:
        """Record a file that was not (fully) read, by name, with why."""
        self.files.append(FileStats(str(path), source, False, error=reason))
        self.warnings.append(f"{path}: {reason}")
