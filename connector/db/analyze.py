"""Planner statistics that keep up with a backfill. PostgreSQL re-analyses a table only
when autovacuum gets round to it, so a table filled by a first sync (nothing to millions
of rows in minutes) is planned as if nearly empty, and the per-contact lookups of the
write path then scan it whole: quadratic time. The write path reports the rows it wrote;
once they pass a fifth of what the planner believes a table holds (and ANALYZE_AFTER at
least), the table is analysed there and then. SQLite plans by its indexes and needs none.
"""

from __future__ import annotations

import weakref

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

ANALYZE_AFTER = 5_000
# per database engine: rows written to each table since it was last analysed here
_written: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def note_written(conn: Connection, counts: dict[str, int]) -> list[str]:
    """Record rows written per table; analyse those that grew past what the planner knows.
    Returns the tables analysed."""
    if conn.dialect.name != "postgresql":
        return []
    seen = _written.setdefault(conn.engine, {})
    analysed = []
    for table, rows in counts.items():
        seen[table] = seen.get(table, 0) + rows
        if seen[table] < ANALYZE_AFTER:
            continue
        believed = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
        ).scalar()
        if seen[table] >= 0.2 * max(float(believed or 0), 0.0):
            conn.execute(text(f'ANALYZE "{table}"'))
            analysed.append(table)
        seen[table] = 0
    return analysed
