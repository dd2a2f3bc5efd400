"""Formats file loading and validation (checks/synclog.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncverify.errors import SyncverifyError
from syncverify.synclog.formats import DEFAULT_FORMATS_PATH, LogFormatError, load_formats


def _write(tmp_path: Path, sources: dict) -> Path:
    path = tmp_path / "synclog.yaml"
    path.write_text(yaml.safe_dump({"log_sources": sources}), encoding="utf-8")
    return path


def test_default_file_loads_and_only_holds_log_sources() -> None:
    formats = load_formats()
    assert [s.name for s in formats.sources] == ["dsg", "dsg_pipe", "consumer"]
    # the catalog loader skips this file by its only top-level key
    assert set(yaml.safe_load(DEFAULT_FORMATS_PATH.read_text(encoding="utf-8"))) == {"log_sources"}
    assert formats.source_for(Path("dsg-zz11.log.2.gz")).name == "dsg"
    assert formats.source_for(Path("consumer-GXJF-QUERY.log.1")).name == "consumer"
    assert formats.source_for(Path("notes.txt")) is None


def test_bad_regex_names_the_source_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "old_dsg": {
                "kind": "regex",
                "files": ["*.log"],
                "events": {"apply": ["APPLY"]},
                "pattern": "(?P<time>[0-9",
            }
        },
    )
    with pytest.raises(LogFormatError) as err:
        load_formats(path)
    assert "old_dsg" in str(err.value) and "pattern" in str(err.value)
    assert isinstance(err.value, SyncverifyError)


def test_regex_needs_time_and_link(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "x": {
                "kind": "regex",
                "files": ["*.log"],
                "events": {"apply": ["A"]},
                "pattern": r"^(?P<time>\S+) (?P<event>\S+)$",
            }
        },
    )
    with pytest.raises(LogFormatError, match="link"):
        load_formats(path)


def test_re2_only_syntax_is_rejected_clearly(tmp_path: Path) -> None:
    # look-behind is valid Python regex but RE2 (which the parser runs) has none
    path = _write(
        tmp_path,
        {
            "lb": {
                "kind": "regex",
                "files": ["*.log"],
                "events": {"apply": ["A"]},
                "pattern": r"(?<=x)(?P<time>\S+) (?P<link>\S+) (?P<event>\S+)",
            }
        },
    )
    with pytest.raises(LogFormatError, match="RE2"):
        load_formats(path)


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"kind": "csv", "files": ["*"]}, "kind"),
        (
            {"kind": "keyvalue", "files": ["*"], "events": {"apply": ["A"]}, "head": ["level", "event"]},
            "head",
        ),
        (
            {
                "kind": "keyvalue",
                "files": ["*"],
                "events": {"apply": ["A"]},
                "head": ["link"],
                "keys": {"colour": "c"},
            },
            "keys",
        ),
        ({"kind": "jsonl", "files": ["*"], "events": {"apply": ["A"]}, "fields": {"link": "app"}}, "fields"),
        (
            {
                "kind": "jsonl",
                "files": ["*"],
                "events": {"error": ["E"]},
                "fields": {"time": "t", "event": "e", "link": "l"},
            },
            "events",
        ),
    ],
)
def test_broken_sources_name_the_field(tmp_path: Path, spec: dict, field: str) -> None:
    with pytest.raises(LogFormatError) as err:
        load_formats(_write(tmp_path, {"src": spec}))
    assert "src" in str(err.value) and field in str(err.value)


def test_missing_file_and_missing_key(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="cannot read"):
        load_formats(tmp_path / "nope.yaml")
    path = tmp_path / "other.yaml"
    path.write_text("links: []\n", encoding="utf-8")
    with pytest.raises(LogFormatError, match="log_sources"):
        load_formats(path)
