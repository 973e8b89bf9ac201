"""The store: threads, the ledger, rate counts and caches in SQLite or PostgreSQL.

This `__init__` imports nothing, so that start-up imports no SQLAlchemy: `core.store.database` is
loaded on first use."""

__all__: list[str] = []
