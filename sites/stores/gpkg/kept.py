"""What the GeoPackage store keeps for speed, and when it may be trusted.

Two things are kept beside the sites, both by triggers on the ``sites`` table (so that edits by
any program keep them right): each site's rendered feature (``site_features``,
sites.stores.gpkg.features) and the number of sites by city and status (``site_counts``,
sites.stores.gpkg.sql).  Two ways around the triggers exist:

- a row replaced by ``INSERT OR REPLACE`` (or ``REPLACE``, ``UPDATE OR REPLACE``) is deleted
  without firing delete triggers, so the counts come out too high (a stale rendering cannot
  follow: the insert trigger drops it);
- a table rebuilt the way SQLite's documentation describes for schema changes (new table, copy,
  drop, rename) loses its triggers, and from then on nothing is kept right.

So a reader trusts them only while the triggers are all there and the counts add up to the
sites (``trust``), checked again whenever another connection has committed or the schema has
changed (``PRAGMA data_version``, ``PRAGMA schema_version``: a few microseconds otherwise).  What
is not trusted is not used: features are rendered live and counts counted from the sites.
``repair`` puts things right in a write transaction: the store calls it when it is opened and
when a write finds them wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import features, sql

DDL = [*features.CACHE_DDL, *sql.COUNTS_DDL]
TRIGGERS = {re.match(r"CREATE TRIGGER (\w+)", s).group(1): s for s in DDL if s.startswith("CREATE TRIGGER")}


@dataclass(frozen=True)
class Trust:
    renderings: bool
    counts: bool


def _triggers_present(conn) -> bool:
    names = list(TRIGGERS)
    found = conn.execute(f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                         f"({', '.join('?' * len(names))})", names).fetchone()[0]
    return found == len(names)


def _counts_add_up(conn) -> bool:
    """A replaced row leaves the sum too high; anything else the triggers keep right."""
    return conn.execute("SELECT (SELECT COALESCE(SUM(n), 0) FROM site_counts) = (SELECT COUNT(*) FROM sites)"
                        ).fetchone()[0] == 1


def trust(conn) -> Trust:
    """Whether this connection may use the kept renderings and counts now (call it inside the read
    transaction that uses them).  The answer is kept on the connection until another connection
    commits or the schema changes."""
    stamp = (conn.execute("PRAGMA data_version").fetchone()[0], conn.execute("PRAGMA schema_version").fetchone()[0])
    if getattr(conn, "kept_stamp", None) != stamp:
        triggers = _triggers_present(conn)
        conn.kept_trust = Trust(renderings=triggers, counts=triggers and _counts_add_up(conn))
        conn.kept_stamp = stamp
    return conn.kept_trust


def needs_repair(conn) -> bool:
    return not _triggers_present(conn) or not sql.counts_agree(conn)


def repair(conn) -> None:
    """Inside a write transaction: recreate missing triggers (every kept rendering is then dropped:
    any could be stale) and count the sites anew if the kept counts are not theirs.  Missing
    renderings are made by features.fill."""
    if not _triggers_present(conn):
        for statement in TRIGGERS.values():
            conn.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))
        conn.execute("DELETE FROM site_features")
        sql.recount(conn)
    elif not sql.counts_agree(conn):
        sql.recount(conn)
    conn.kept_stamp = None  # this connection looks again (its own commits do not change data_version)
