"""The results store: runs, check results, tickets, deliveries, repair scripts, analyses."""

from syncverify.store.store import Store, default_url, home

__all__ = ["Store", "default_url", "home"]
