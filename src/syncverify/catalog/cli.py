"""``syncverify catalog``: build catalog files at the bureau's scale (``catalog import``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from syncverify.exitcodes import ExitCode


def _import(args: argparse.Namespace) -> int:
    from syncverify.catalog.importer import import_links, profile_discoverer, read_rows, write_documents
    from syncverify.catalog.loader import load_catalog
    from syncverify.errors import SyncverifyError

    csv_path = Path(args.links_csv)
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SyncverifyError(f"cannot read {str(csv_path)!r}: {exc.__class__.__name__}") from None
    catalog = load_catalog(args.catalog)
    rows = read_rows(text, file=str(csv_path))
    discoverer, close = profile_discoverer(catalog, args.discover_profile) if args.discover_profile else (None, None)
    try:
        imported = import_links(rows, catalog, file=str(csv_path), discoverer=discoverer)
    finally:
        if close is not None:
            close()
    stem = csv_path.stem
    if args.out:
        written = write_documents(imported, Path(args.out), stem, Path(args.catalog))
        print(f"wrote {len(imported.links)} links and {len(imported.tables)} new tables to "
              f"{', '.join(str(p) for p in written)}", file=sys.stderr)
    else:
        print("\n".join(imported.documents(stem).values()), end="")
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return ExitCode.OK


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("catalog", help="build catalog files (import a link list)",
                       description="Build catalog files at scale: `catalog import` expands a CSV link list "
                                   "into link (and table) entries.")
    inner = p.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", required=True)
    q = inner.add_parser(
        "import", help="expand a CSV link list into catalog YAML",
        description="Read LINKS.csv (link id, source node, target node, table names or patterns such as "
                    "nsr_*, optional kind; one link a row) and write catalog YAML: links_<name>.yaml and, "
                    "with --discover-profile, tables_<name>.yaml with the keys and columns read from the "
                    "databases. Nodes must already be in the catalog; every error names the CSV row.")
    q.add_argument("links_csv", metavar="LINKS.csv")
    q.add_argument("--out", metavar="DIR", help="write the files to DIR (e.g. checks); default: print them")
    q.add_argument("--catalog", default="checks", help="the catalog the links join (default: checks)")
    q.add_argument("--discover-profile", metavar="P",
                   help="connection profile: expand patterns into the source database's tables")
    q.set_defaults(func=_import)
