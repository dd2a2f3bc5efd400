"""Alembic's environment for the results store: ``env.py`` and the revisions in ``versions/``.

Run by :func:`syncverify.store.migrations.migrate`, which passes the connection (no alembic.ini
at run time). Revisions ``v1``-``v5`` are the store versions of the hand-written migrations that
came before Alembic, so a store they built is stamped with its version and upgraded from there.
"""
