"""The ``regex`` log sources: one RE2 pattern with named groups, run by ``pyarrow.compute.extract_regex``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncverify.synclog.formats import NUMERIC_FIELDS, LogSource
from syncverify.synclog.parsers.chunk import Chunk
from syncverify.synclog.parsers.fields import assemble, utf8_lines


def parse_regex(ch: Chunk, source: LogSource, link_default: str | None, time_range: tuple[int, int] | None) -> pa.Table:
    """Lines matched by the source's RE2 pattern; a line that does not match is ``no_match``."""
    lines = utf8_lines(ch)
    blank = ch.ends <= ch.starts
    ch.stats.blank += int(np.count_nonzero(blank))
    assert source.pattern is not None
    matched = pc.extract_regex(lines, source.pattern)
    keep = ~np.asarray(matched.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    ch.malformed("no_match", ~keep & ~blank)
    names = [matched.type.field(i).name for i in range(matched.type.num_fields)]
    fields: dict[str, pa.Array | None] = {name: pc.struct_field(matched, name) for name in names}
    for name in ("time", "link", "level", "event", "table", "code", "msg", "reason", *NUMERIC_FIELDS):
        fields.setdefault(name, None)
    return assemble(ch, source, fields, keep, link_default, time_range)
