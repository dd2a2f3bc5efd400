"""The embedded demo world: synthetic invoice traffic along every flow, with injected faults.

``build_world(out_dir, backend="sqlite", scale=1.0, seed=20261, month="2026-10")`` generates the
origin rows of every system, propagates them along the catalog's links (faults injected on
chosen hops), stores every node, and writes the manifest, the connection profile and the month's
sync logs; ``land_in_flight(world)`` later writes the rows that were still in flight.
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.sandbox.world import World, build_world, drop_world, land_in_flight, write_logs

__all__ = ["World", "build_world", "drop_world", "land_in_flight", "write_logs"]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
