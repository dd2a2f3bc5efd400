"""Table shapes: what one copy of a table looks like — columns as normalised types, nullability,
unique keys — read by reflection or from a ``CREATE TABLE``, and how two shapes compare.

Below the catalog: ``syncverify discover`` grades the columns it proposes with them, and the
schema check (:mod:`syncverify.schema`) builds its results, snapshots and release gate on them.
"""
