"""What to compare: one copy of a table (:class:`TableRef`) and the comparison (:class:`CompareSpec`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

# Light on purpose: the diff command's parser reads ROW_HASHES from here.
if TYPE_CHECKING:
    import sqlalchemy as sa

    from syncverify.dialects import Canon

ROW_HASHES = ("auto", "sha256")


@dataclass
class TableRef:
    """One copy of a table on one database.

    ``where`` is this side's own predicate (SQL, validated), e.g. the routing predicate of a
    province copy; ``columns_map`` maps the comparison's column names (the source's names) to
    this copy's names where they were renamed. A ``table`` written ``schema.name`` is split
    when ``schema`` is not given.
    """

    engine: sa.Engine
    table: str
    schema: str | None = None
    where: str | None = None
    columns_map: dict[str, str] = field(default_factory=dict)
    label: str | None = None          # how messages name this side (node id, "source")

    def __post_init__(self) -> None:
        if self.schema is None and "." in self.table:
            self.schema, self.table = self.table.split(".", 1)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def column(self, name: str) -> str:
        return self.columns_map.get(name, name)


@dataclass
class CompareSpec:
    """How to compare two copies.

    key              key columns (names as on the source; mapped per side by ``columns_map``)
    columns          compared non-key columns; None: every column common to both sides
    exclude_columns  columns never compared (e.g. a target-side load timestamp)
    window_column    with window_start / window_end: only rows with start <= column < end
                     (window_end is the cut-off: the run's end, or now minus the link's grace)
    where            predicate applied on both sides; source_where / target_where per side
    totals           amount columns summed per day by :func:`business_totals`
    bucket_count     first-level buckets of the exact diff (aggregate rows per side)
    leaf_rows        the diff splits buckets until about this many rows per mismatched bucket
    fetch_limit      mismatched buckets holding at most this many rows are fetched row by row
    check_duplicates look for repeated keys: None = only when no unique index covers the key
    key_cap          most differing keys held per kind (counts stay exact beyond it)
    hash_slices      60-bit hash slices summed per bucket: 1 (default; a differing bucket looks
                     equal with probability about 2**-60) or 2 (2**-120, but MariaDB and
                     PostgreSQL then hash each row twice or materialise it: about 2x slower)
    key_ranges       text and composite keys bucketed by key ranges sampled from one side, each
                     range read through the key's index (default False: hash buckets; measured in
                     docs/compare.md, ranges pay off where the servers have idle cores)
    range_rows       rows per key range of a text or composite key (default 256)
    parallel         round 1 over key ranges runs as this many concurrent range queries per side
                     (the side's connection pool caps it). Default 1: the runner's checks share a
                     node's Airflow pool slots, one query per slot; ``syncverify diff`` passes 4
    row_hash         "auto" (default): a native hash both databases share and agree on (PostgreSQL
                     to PostgreSQL: hashtextextended, ~8x cheaper), else SHA-256; "sha256": SHA-256
    """

    key: list[str]
    columns: list[str] | None = None
    exclude_columns: list[str] = field(default_factory=list)
    float_digits: int = 12
    timestamp_precision: int = 0
    window_column: str | None = None
    window_start: datetime | date | None = None
    window_end: datetime | date | None = None
    where: str | None = None
    source_where: str | None = None
    target_where: str | None = None
    totals: list[str] = field(default_factory=list)
    bucket_count: int = 4096
    leaf_rows: int = 64
    fetch_limit: int = 100_000
    check_duplicates: bool | None = None
    key_cap: int = 100_000
    hash_slices: int = 1
    row_hash: str = "auto"
    parallel: int = 1
    key_ranges: bool = False
    range_rows: int = 256

    def __post_init__(self) -> None:
        if isinstance(self.key, str):
            self.key = [k.strip() for k in self.key.split(",") if k.strip()]
        if not self.key:
            raise ValueError("a comparison needs at least one key column")
        if self.hash_slices not in (1, 2):
            raise ValueError("hash_slices must be 1 or 2")
        if self.row_hash not in ROW_HASHES:
            raise ValueError(f"row_hash must be one of {', '.join(ROW_HASHES)}, not {self.row_hash!r}")
        if self.bucket_count < 1 or self.leaf_rows < 1 or self.fetch_limit < 1 or self.parallel < 1 or self.range_rows < 1:
            raise ValueError("bucket_count, leaf_rows, fetch_limit, parallel and range_rows must be positive")

    @property
    def canon(self) -> Canon:
        from syncverify.dialects import Canon

        return Canon(float_digits=self.float_digits, timestamp_precision=self.timestamp_precision)
