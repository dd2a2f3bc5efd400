"""Error codes of the databases and consumers behind the links -> a class and a concrete action.

Oracle (old core, DSG sources), MySQL / TDSQL and PostgreSQL / TBase codes and a few consumer
exception names. Unknown codes fall into ``other`` with a generic action naming the code.
"""

from __future__ import annotations

_CLASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "unique_key_conflict": (
        ("ORA-00001", "1062", "ER_DUP_ENTRY", "23505", "DUPLICATE_KEY"),
        "Fix the unique-key conflict on {table}: find the duplicate keys (often rows re-sent after a "
        "restart or written on both sides), make the apply idempotent (MERGE / INSERT ... ON DUPLICATE "
        "KEY UPDATE) or correct the target rows, then re-sync the failed batches.",
    ),
    "value_too_large": (
        ("ORA-12899", "ORA-01438", "1406", "1264", "22001", "22003", "DATA_TOO_LONG"),
        "Align the target column definitions of {table} with the source (length / precision), then "
        "re-apply the rejected batches.",
    ),
    "not_null_violation": (
        ("ORA-01400", "1048", "23502", "NOT_NULL"),
        "A required column of {table} arrives empty: fix the mapping or the source data, then re-apply.",
    ),
    "deadlock_or_lock_wait": (
        ("ORA-00060", "1213", "1205", "40P01", "55P03", "LOCK_TIMEOUT"),
        "Lock conflicts on {table}: move batch jobs that update it off the replication peak, apply "
        "in smaller transactions, or index the foreign keys.",
    ),
    "snapshot_too_old": (
        ("ORA-01555",),
        "Raise UNDO_RETENTION on the source or shorten the extraction transactions of {table}.",
    ),
    "space_exhausted": (
        ("ORA-01653", "ORA-01654", "ORA-01688", "1114", "53100"),
        "Extend the target tablespace / disk before the next batch; failed batches of {table} must be re-applied.",
    ),
    "connectivity": (
        (
            "ORA-03113",
            "ORA-03114",
            "ORA-03135",
            "ORA-12170",
            "ORA-12541",
            "ORA-12514",
            "2003",
            "2006",
            "2013",
            "08006",
            "08001",
            "COMMIT_FAILED",
            "TIMEOUT",
            "NETWORK_EXCEPTION",
        ),
        "Check the network path and database listener between the link's endpoints (timeouts, "
        "firewall idle cut-offs); make sure retries re-apply the interrupted batches.",
    ),
    "deserialization": (
        ("DESERIALIZATION", "SERIALIZATION", "SCHEMA_MISMATCH", "RECORD_TOO_LARGE"),
        "Messages of {table} do not match the consumer's schema: align producer and consumer "
        "versions and replay the skipped offsets.",
    ),
}

_BY_CODE = {code.upper(): name for name, (codes, _) in _CLASSES.items() for code in codes}


def classify(code: str) -> tuple[str, str]:
    """(category, action template with ``{table}``) for an error code."""
    name = _BY_CODE.get(code.strip().upper())
    if name is None:
        return (
            "other",
            f"Investigate error {code} on {{table}} with the DBA / application owner and "
            "re-apply the failed batches once the cause is fixed.",
        )
    return name, _CLASSES[name][1]
