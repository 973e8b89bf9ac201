"""The store's one schema: the migrations that build it, in order, and the tables the code queries.

Each migration is plain SQL that both SQLite and PostgreSQL take, applied once, in order, in one
transaction at open (core/store.py), and recorded in `schema_version`. A change to the schema is a new
migration at the end of `MIGRATIONS` plus the matching change to the tables below; a test checks that the
two agree on both backends. Times are seconds since the epoch (UTC), as DOUBLE PRECISION.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Double, ForeignKey, Integer, MetaData, String, Table, Text

__all__ = [
    "LATEST_VERSION",
    "METADATA",
    "MIGRATIONS",
    "SCHEMA_VERSION_DDL",
    "Migration",
    "models_cache",
    "schema_version",
    "threads",
    "turns",
]


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its version (1, 2, ...), what it does, and its SQL statements."""

    version: int
    description: str
    statements: tuple[str, ...]


# The version table itself exists before any migration, so that a store can say which it has.
SCHEMA_VERSION_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "threads, their turns, and the models cache",
        (
            """CREATE TABLE threads (
                id VARCHAR(64) PRIMARY KEY,
                title TEXT NOT NULL,
                created DOUBLE PRECISION NOT NULL,
                last_activity DOUBLE PRECISION NOT NULL,
                expires DOUBLE PRECISION
            )""",
            "CREATE INDEX threads_by_last_activity ON threads (last_activity)",
            "CREATE INDEX threads_by_expiry ON threads (expires)",
            # (thread_id, seq) is the key: two turns can never share a place in one thread.
            """CREATE TABLE turns (
                thread_id VARCHAR(64) NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                role VARCHAR(16) NOT NULL,
                ai VARCHAR(64),
                model TEXT,
                text TEXT NOT NULL,
                created DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (thread_id, seq)
            )""",
            """CREATE TABLE models_cache (
                ai VARCHAR(64) PRIMARY KEY,
                fetched_at DOUBLE PRECISION NOT NULL,
                json TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "which tool a turn came from, and the files a user's turn carried",
        (
            "ALTER TABLE turns ADD COLUMN tool VARCHAR(64)",
            # JSON {path: sha256}: what was sent, so that an unchanged file is not sent again.
            "ALTER TABLE turns ADD COLUMN files TEXT",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version

# The schema as the code queries it: what the migrations above build.
METADATA = MetaData()

schema_version = Table(
    "schema_version",
    METADATA,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", Double, nullable=False),
)

threads = Table(
    "threads",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("last_activity", Double, nullable=False),
    Column("expires", Double),
)

turns = Table(
    "turns",
    METADATA,
    Column("thread_id", String(64), ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("ai", String(64)),
    Column("model", Text),
    Column("text", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("tool", String(64)),
    Column("files", Text),
)

models_cache = Table(
    "models_cache",
    METADATA,
    Column("ai", String(64), primary_key=True),
    Column("fetched_at", Double, nullable=False),
    Column("json", Text, nullable=False),
)
