"""The GeoPackage store: the embedded default, one ``.gpkg`` file.

The file is an ordinary GeoPackage 1.3 that QGIS, GDAL (``ogrinfo``) and pyogrio
open directly:

- ``sites``: a feature layer (EPSG:4326) with one column a stored property, an
  R-tree spatial index, and a few columns the store maintains on every write:
  ``occupancy_as_of``, ``occupancy_leasable_m2``, ``occupied_area_m2``,
  ``tenant_count`` and ``occupancy_basis`` (the current occupancy, from the
  site's units or latest survey: see sites.model) and ``search_text`` (what
  free-text search looks in).  Vacancy rate and idle area are computed from the
  occupancy in each query, never stored.  Edit surveys and units through this
  store (CLI, web) rather than in QGIS, or the occupancy columns go stale.
- ``surveys`` and ``units``: attribute tables (listed in gpkg_contents).
- ``districts``: a feature layer of district boundaries.
- ``changes``: the audit trail (sites.audit), an attribute table; before/after as JSON text.
- ``users``: accounts (sites.accounts), deliberately not listed in gpkg_contents, so
  that GIS programs do not show it; passwords only as Argon2 hashes, tokens as SHA-256.
- ``site_features`` and ``site_counts``: each site's GeoJSON rendering and the number of sites by
  city and status, kept for the API's speed (sites.stores.gpkg.features, .sql), not listed either;
  triggers keep them right whenever a row of ``sites`` changes, whoever changes it, and they are
  used only while they can be trusted (sites.stores.gpkg.kept).

A store written by an older version of this program (see MIGRATIONS) is brought up to date in
place when it is opened, in one transaction.

Every write is one SQLite transaction (rollback journal, synchronous=FULL): a
failed import or a killed process leaves the file as it was.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

from pyproj import CRS

from ...accounts import User
from ...audit import Change, ChangeFilter
from ...errors import NotFound, StoreError
from ...evaluate import search_text
from ...model import District, Occupancy, Site, Survey, Unit
from ...query import Query
from ...schema import FIELDS, STORED
from ..base import FeaturePage, Page, SiteStore, Writer
from . import blob, features, kept, sql

SRS_ID = 4326
POOL_SIZE = 8  # idle connections kept for reuse
ANALYZE_AFTER = 500  # a transaction changing this many records refreshes the planner's statistics
_SQL_TYPES = {"string": "TEXT", "enum": "TEXT", "list": "TEXT", "integer": "INTEGER", "number": "DOUBLE",
              "boolean": "BOOLEAN", "date": "DATE"}
_STORED_NAMES = [f.name for f in STORED if f.name != "version"]
_CACHE_COLUMNS = ("occupancy_as_of", "occupancy_leasable_m2", "occupied_area_m2", "tenant_count",
                  "occupancy_basis", "occupancy_data_status", "search_text")
_SITE_COLUMNS = ["geom", *_STORED_NAMES, "version", *_CACHE_COLUMNS]
_SELECT_SITE = ", ".join(f's."{c}"' for c in _SITE_COLUMNS)
_FIELD_TYPES = {f.name: f.type for f in FIELDS}
SCHEMA_VERSION = "6"  # bump on every change to the tables


#: "idle buildings of more than N m²", the incubation question, answered (and counted) from an index
_AREA_INDEXES = [
    'CREATE INDEX sites_status_gross ON sites(status, gross_floor_area_m2)',
    'CREATE INDEX sites_status_leasable ON sites(status, leasable_area_m2)',
]
#: the audit trail and the accounts (schema version 5)
_ACCOUNTS_DDL = [
    """CREATE TABLE changes (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, at DATETIME NOT NULL,
       user TEXT NOT NULL, channel TEXT NOT NULL, action TEXT NOT NULL, site_id TEXT, subject TEXT,
       before TEXT, after TEXT, batch TEXT NOT NULL, version INTEGER)""",
    "CREATE INDEX changes_site_id ON changes(site_id, id)",
    "CREATE INDEX changes_user ON changes(user, id)",
    "CREATE INDEX changes_at ON changes(at)",
    "CREATE INDEX changes_batch ON changes(batch)",
    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
    "('changes', 'attributes', 'changes', 'Audit trail: who changed what, when (变更记录)')",
    """CREATE TABLE users (username TEXT PRIMARY KEY NOT NULL, role TEXT NOT NULL, display_name TEXT,
       scope TEXT NOT NULL DEFAULT '[]', password_hash TEXT, token_hash TEXT UNIQUE,
       active BOOLEAN NOT NULL DEFAULT 1, failed_logins INTEGER NOT NULL DEFAULT 0, locked_until DATETIME,
       session_stamp TEXT)""",
]
#: from a schema version to the next: the statements that bring a store written by an older
#: program up to date in place (one transaction; data kept)
MIGRATIONS = {
    "4": ["ALTER TABLE sites ADD COLUMN operator_contact TEXT", *_AREA_INDEXES, *_ACCOUNTS_DDL],
    "5": kept.DDL,  # renderings and counts are made when the store is opened (_keep_derived)
}


def _rtree_ddl(table: str, column: str = "geom", pk: str = "fid") -> list[str]:
    """The R-tree spatial index of GeoPackage 1.3 Annex F.3 (table and triggers)."""
    t = f"rtree_{table}_{column}"
    values = f"NEW.{pk}, ST_MinX(NEW.{column}), ST_MaxX(NEW.{column}), ST_MinY(NEW.{column}), ST_MaxY(NEW.{column})"
    present = f"(NEW.{column} NOTNULL AND NOT ST_IsEmpty(NEW.{column}))"
    absent = f"(NEW.{column} ISNULL OR ST_IsEmpty(NEW.{column}))"
    return [
        f"CREATE VIRTUAL TABLE {t} USING rtree(id, minx, maxx, miny, maxy)",
        f"CREATE TRIGGER {t}_insert AFTER INSERT ON {table} WHEN {present} "
        f"BEGIN INSERT OR REPLACE INTO {t} VALUES ({values}); END",
        f"CREATE TRIGGER {t}_update1 AFTER UPDATE OF {column} ON {table} WHEN OLD.{pk} = NEW.{pk} AND {present} "
        f"BEGIN INSERT OR REPLACE INTO {t} VALUES ({values}); END",
        f"CREATE TRIGGER {t}_update2 AFTER UPDATE OF {column} ON {table} WHEN OLD.{pk} = NEW.{pk} AND {absent} "
        f"BEGIN DELETE FROM {t} WHERE id = OLD.{pk}; END",
        f"CREATE TRIGGER {t}_update3 AFTER UPDATE ON {table} WHEN OLD.{pk} != NEW.{pk} AND {present} "
        f"BEGIN DELETE FROM {t} WHERE id = OLD.{pk}; INSERT OR REPLACE INTO {t} VALUES ({values}); END",
        f"CREATE TRIGGER {t}_update4 AFTER UPDATE ON {table} WHEN OLD.{pk} != NEW.{pk} AND {absent} "
        f"BEGIN DELETE FROM {t} WHERE id IN (OLD.{pk}, NEW.{pk}); END",
        f"CREATE TRIGGER {t}_delete AFTER DELETE ON {table} WHEN OLD.{column} NOT NULL "
        f"BEGIN DELETE FROM {t} WHERE id = OLD.{pk}; END",
        "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) VALUES "
        f"('{table}', '{column}', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
    ]


def _schema_ddl() -> list[str]:
    wgs84 = CRS.from_epsg(SRS_ID).to_wkt("WKT1_GDAL")
    site_cols = ",\n  ".join(
        f'"{f.name}" {_SQL_TYPES[f.type]}' + (" NOT NULL UNIQUE" if f.name == "id" else
                                              " NOT NULL" if f.required else "")
        for f in STORED if f.name != "version")
    return [
        "PRAGMA application_id = 1196444487",  # 'GPKG'
        "PRAGMA user_version = 10300",
        """CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
           organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
           description TEXT)""",
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', "
        "'undefined cartesian coordinate reference system')",
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', "
        "'undefined geographic coordinate reference system')",
        f"INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{wgs84}', "
        "'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        """CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
           identifier TEXT UNIQUE, description TEXT DEFAULT '',
           last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
           CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
        """CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
           geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
           CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
           CONSTRAINT uk_gc_table_name UNIQUE (table_name),
           CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
           CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
        """CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
           definition TEXT NOT NULL, scope TEXT NOT NULL,
           CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
        f"""CREATE TABLE sites (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom GEOMETRY NOT NULL,
  {site_cols},
  version INTEGER NOT NULL DEFAULT 1,
  occupancy_as_of DATE, occupancy_leasable_m2 DOUBLE, occupied_area_m2 DOUBLE, tenant_count INTEGER,
  occupancy_basis TEXT, occupancy_data_status TEXT, search_text TEXT)""",
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES "
        "('sites', 'features', 'sites', 'Urban-renewal sites (城市更新园区载体)', 4326)",
        "INSERT INTO gpkg_geometry_columns VALUES ('sites', 'geom', 'GEOMETRY', 4326, 0, 0)",
        *_rtree_ddl("sites"),
        *(f'CREATE INDEX sites_{c} ON sites("{c}")' for c in ("district", "kind", "leasable_area_m2",
                                                              "last_updated")),
        # covering indexes for the commonest filters, in the default order (by id)
        'CREATE INDEX sites_status_id ON sites(status, id)',
        'CREATE INDEX sites_city_status_id ON sites(city, status, id)',
        *_AREA_INDEXES,
        # the derived properties, exactly as queries compute them (sites.stores.gpkg.sql.DERIVED_SQL)
        *(f'CREATE INDEX sites_{name} ON sites({sql.DERIVED_SQL[name].replace("s.", "")})'
          for name in ("vacancy_rate", "idle_area_m2")),
        """CREATE TABLE surveys (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
           site_id TEXT NOT NULL REFERENCES sites(id), survey_date DATE NOT NULL,
           leasable_area_m2 DOUBLE, occupied_area_m2 DOUBLE, tenant_count INTEGER,
           source TEXT, data_status TEXT NOT NULL, UNIQUE (site_id, survey_date))""",
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
        "('surveys', 'attributes', 'surveys', 'Occupancy surveys of the sites (入驻调查)')",
        """CREATE TABLE units (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
           site_id TEXT NOT NULL REFERENCES sites(id), floor TEXT NOT NULL, unit_label TEXT NOT NULL,
           area_m2 DOUBLE NOT NULL, status TEXT NOT NULL, tenant TEXT, updated_on DATE,
           UNIQUE (site_id, floor, unit_label))""",
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
        "('units', 'attributes', 'units', 'Rentable units of the sites (楼层单元)')",
        """CREATE TABLE districts (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom GEOMETRY NOT NULL,
           adcode TEXT NOT NULL UNIQUE, name TEXT NOT NULL, city TEXT NOT NULL, level TEXT NOT NULL, source TEXT)""",
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES "
        "('districts', 'features', 'districts', 'District boundaries (行政区划)', 4326)",
        "INSERT INTO gpkg_geometry_columns VALUES ('districts', 'geom', 'MULTIPOLYGON', 4326, 0, 0)",
        *_rtree_ddl("districts"),
        *_ACCOUNTS_DDL,
        *kept.DDL,
        "CREATE TABLE sites_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT)",
        f"INSERT INTO sites_meta VALUES ('schema_version', '{SCHEMA_VERSION}')",
    ]


class _Connection(sqlite3.Connection):
    """A connection that can hold what kept.trust found (kept_stamp, kept_trust)."""


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30,
                           factory=_Connection)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MB of page cache instead of SQLite's 2 MB
    blob.register_functions(conn)
    sql.register_functions(conn)
    return conn


def create(path: str | Path) -> None:
    """Write an empty inventory GeoPackage at path (which must not exist)."""
    conn = connect(path)
    try:
        conn.execute("BEGIN")
        for statement in _schema_ddl():
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()


class GeoPackageStore(SiteStore):
    def __init__(self, path: str | Path, create_if_missing: bool = False):
        self.path = Path(path)
        self.url = str(self.path)
        if not self.path.exists():
            if not create_if_missing:
                raise StoreError(f"no inventory at {self.path} (build it with: python -m sites init)")
            create(self.path)
        # idle connections, the last one given back first (list.append and list.pop are atomic: a
        # Queue's locks cost more than the rest of a single-site read)
        self._idle: list[sqlite3.Connection] = []
        self._check()

    def _check(self):
        try:
            with self._conn() as conn:
                row = conn.execute("SELECT value FROM sites_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not an inventory GeoPackage ({exc})") from None
        if row and row[0] in MIGRATIONS:
            self._migrate(row[0])
        elif not row or row[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {row and row[0]}, this program needs "
                             f"{SCHEMA_VERSION}: export it with the older version and import it into a new store "
                             "(python -m sites init, then python -m sites import)")
        self._keep_derived()

    def _keep_derived(self) -> None:
        """Put right what the store keeps for speed (sites.stores.gpkg.kept): triggers and counts
        (kept.repair), then the renderings of sites that have none (after a migration, or after
        another program changed sites).  Each step is its own transaction, and one that fails (a
        read-only or busy file, a site that cannot be rendered) is left undone: reads then neither
        use what cannot be trusted nor miss what is missing, they are only slower."""
        with self._conn() as conn:
            conn.execute("BEGIN")
            repair, fill = kept.needs_repair(conn), features.missing(conn)
            conn.execute("COMMIT")
            if repair:
                _try_write(conn, kept.repair)
            if repair or fill:  # a repair may have dropped every rendering
                _try_write(conn, features.fill)

    def _migrate(self, version: str) -> None:
        """Bring an older store up to SCHEMA_VERSION in place, in one transaction (nothing half-done)."""
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                while version != SCHEMA_VERSION:
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                    version = str(int(version) + 1)
                conn.execute("UPDATE sites_meta SET value = ? WHERE key = 'schema_version'", (version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _acquire(self) -> sqlite3.Connection:
        try:
            return self._idle.pop()
        except IndexError:
            return connect(self.path)

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if len(self._idle) < POOL_SIZE:
            self._idle.append(conn)
        else:
            conn.close()

    @contextmanager
    def _conn(self):
        """A connection from the pool for one read (threads never share one)."""
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    def close(self):
        while True:
            try:
                self._idle.pop().close()
            except IndexError:
                break

    # --- reads
    def get(self, site_id: str) -> Site:
        with self._conn() as conn:
            site = _get(conn, site_id)
        if site is None:
            raise NotFound(f"no site {site_id!r}")
        return site

    def query(self, q: Query) -> Page:
        """The page's fids and the count (sql.page), then only the page's full rows."""
        with self._conn() as conn:
            conn.execute("BEGIN")
            fids, matched = sql.page(conn, q, kept.trust(conn).counts)
            rows = _rows_by_fid(conn, fids)
            conn.execute("COMMIT")
        return Page(_sites(rows), matched)

    def query_geojson(self, q: Query, properties) -> FeaturePage:
        """The page as GeoJSON text rendered by SQLite (features.render), equal to the base class's."""
        with self._conn() as conn:
            conn.execute("BEGIN")
            trust = kept.trust(conn)
            fids, matched = sql.page(conn, q, trust.counts)
            text = features.render(conn, fids, properties, trust.renderings)
            conn.execute("COMMIT")
        return FeaturePage(text, len(fids), matched)

    def feature_geojson(self, site_id: str, properties) -> tuple[bytes, int]:
        with self._conn() as conn:
            conn.execute("BEGIN")
            row = conn.execute("SELECT fid, version FROM sites WHERE id = ?", (site_id,)).fetchone()
            text = None if row is None else features.render(conn, [row[0]], properties,
                                                            kept.trust(conn).renderings)
            conn.execute("COMMIT")
        if row is None:
            raise NotFound(f"no site {site_id!r}")
        return text[1:-1], row[1]  # the array's only feature

    def extent(self):
        with self._conn() as conn:
            row = conn.execute("SELECT MIN(minx), MIN(miny), MAX(maxx), MAX(maxy) FROM rtree_sites_geom").fetchone()
        return None if row[0] is None else tuple(row)

    def surveys(self, site_id: str) -> list[Survey]:
        with self._conn() as conn:
            return _surveys(conn, site_id)

    def units(self, site_id: str) -> list[Unit]:
        with self._conn() as conn:
            return _units(conn, site_id)

    def districts(self, city: str | None = None) -> list[District]:
        with self._conn() as conn:
            rows = conn.execute("SELECT adcode, name, city, level, geom, source FROM districts "
                                "WHERE ? IS NULL OR city = ? ORDER BY adcode", (city, city)).fetchall()
        return [District(r[0], r[1], r[2], r[3], blob.decode(r[4]), r[5]) for r in rows]

    def changes(self, f: ChangeFilter = ChangeFilter()) -> tuple[list[Change], int]:
        where, params = _change_where(f)
        page = [-1 if f.limit is None else f.limit, f.offset]
        with self._conn() as conn:
            conn.execute("BEGIN")
            rows = conn.execute(f"SELECT {_CHANGE_COLUMNS} FROM changes WHERE {where} ORDER BY id DESC "
                                "LIMIT ? OFFSET ?", params + page).fetchall()
            total = conn.execute(f"SELECT COUNT(*) FROM changes WHERE {where}", params).fetchone()[0]
            conn.execute("COMMIT")
        return [_change(r) for r in rows], total

    def users(self) -> list[User]:
        with self._conn() as conn:
            return [_user(r) for r in conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")]

    def user(self, username: str) -> User | None:
        with self._conn() as conn:
            return _get_user(conn, username)

    def user_by_token(self, token_hash: str) -> User | None:
        with self._conn() as conn:
            row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE token_hash = ?", (token_hash,)).fetchone()
        return _user(row) if row else None

    def _begin(self) -> Writer:
        """The writer holds one pooled connection for the whole transaction and gives it back at the end."""
        conn = self._acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release(conn)
            raise
        return _GeoPackageWriter(conn, release=self._release)


def _try_write(conn, step) -> bool:
    """step(conn) in a write transaction; False, and nothing written, if it failed."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        step(conn)
        conn.execute("COMMIT")
        return True
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return False


def _get(conn, site_id: str) -> Site | None:
    row = conn.execute(f"SELECT {_SELECT_SITE} FROM sites s WHERE s.id = ?", (site_id,)).fetchone()
    return None if row is None else _site(row)


def _rows_by_fid(conn, fids: list[int]) -> list:
    """Full rows for these fids, in the given order (SQLite limits the number of bound variables)."""
    found = {}
    for i in range(0, len(fids), 900):
        chunk = fids[i:i + 900]
        for row in conn.execute(f"SELECT s.fid, {_SELECT_SITE} FROM sites s WHERE s.fid IN "
                                f"({', '.join('?' * len(chunk))})", chunk):
            found[row[0]] = row[1:]
    return [found[f] for f in fids]


_SURVEY_SELECT = ("SELECT site_id, survey_date, leasable_area_m2, occupied_area_m2, tenant_count, source, "
                  "data_status FROM surveys WHERE site_id IN ({}) ORDER BY site_id, survey_date")
_UNIT_SELECT = ("SELECT site_id, floor, unit_label, area_m2, status, tenant, updated_on FROM units "
                "WHERE site_id IN ({}) ORDER BY site_id, floor, unit_label")


def _surveys(conn, site_id: str) -> list[Survey]:
    return [_survey(r) for r in conn.execute(_SURVEY_SELECT.format("?"), (site_id,))]


def _units(conn, site_id: str) -> list[Unit]:
    return [_unit(r) for r in conn.execute(_UNIT_SELECT.format("?"), (site_id,))]


def _grouped(conn, select: str, site_ids: list[str], make) -> dict[str, list]:
    """Rows of many sites, 900 ids a query (SQLite's limit on bound variables), grouped by site."""
    out: dict[str, list] = {}
    for i in range(0, len(site_ids), 900):
        chunk = site_ids[i:i + 900]
        for row in conn.execute(select.format(", ".join("?" * len(chunk))), chunk):
            out.setdefault(row[0], []).append(make(row))
    return out


# --- rows <-> records

def _converter(name):
    kind = _FIELD_TYPES.get(name)
    if kind == "date":
        return lambda v: None if v is None else date.fromisoformat(v)
    if kind == "list":
        return lambda v: () if v is None else tuple(json.loads(v))
    if kind == "boolean":
        return lambda v: None if v is None else bool(v)
    return None


#: (position in the row, name, converter or None) of each stored property: decoding is on every page's path
_DECODE = [(_SITE_COLUMNS.index(n), n, _converter(n)) for n in _STORED_NAMES]
_I = {c: i for i, c in enumerate(_SITE_COLUMNS)}


def _site(row, geometry=None) -> Site:
    kwargs = {name: (row[i] if conv is None else conv(row[i])) for i, name, conv in _DECODE}
    occupancy = None
    if row[_I["occupancy_basis"]] is not None:
        as_of = row[_I["occupancy_as_of"]]
        occupancy = Occupancy(date.fromisoformat(as_of) if as_of else None, row[_I["occupancy_leasable_m2"]],
                              row[_I["occupied_area_m2"]], row[_I["tenant_count"]], row[_I["occupancy_basis"]],
                              row[_I["occupancy_data_status"]])
    geom = geometry if geometry is not None else blob.decode(row[_I["geom"]])
    return Site(geometry=geom, version=row[_I["version"]], occupancy=occupancy, **kwargs)


def _sites(rows) -> list[Site]:
    geoms = blob.decode_many([r[0] for r in rows])
    return [_site(r, g) for r, g in zip(rows, geoms)]


def _survey(r) -> Survey:
    return Survey(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6])


def _unit(r) -> Unit:
    return Unit(r[0], r[1], r[2], r[3], r[4], r[5], date.fromisoformat(r[6]) if r[6] else None)


def _site_params(site: Site) -> list:
    out = [blob.encode(site.geometry)]
    for name in _STORED_NAMES:
        value = getattr(site, name)
        out.append(sql.dump_list(value) if _FIELD_TYPES[name] == "list" else sql.sql_value(value))
    out.append(site.version)
    out.append(search_text({n: getattr(site, n) for n in ("name_zh", "name_en", "aliases", "address_zh")}))
    return out


_SITE_WRITE_COLUMNS = ["geom", *_STORED_NAMES, "version", "search_text"]
_INSERT_SITE = (f"INSERT INTO sites ({', '.join(chr(34) + c + chr(34) for c in _SITE_WRITE_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _SITE_WRITE_COLUMNS)})")
_UPDATE_SITE = (f"UPDATE sites SET {', '.join(chr(34) + c + chr(34) + ' = ?' for c in _SITE_WRITE_COLUMNS)} "
                "WHERE id = ?")


_CHANGE_COLUMNS = "id, at, user, channel, action, site_id, subject, before, after, batch, version"
_USER_COLUMNS = ("username, role, display_name, scope, password_hash, token_hash, active, failed_logins, locked_until, "
                 "session_stamp")


def _change_where(f: ChangeFilter) -> tuple[str, list]:
    conds, params = ["1"], []
    for column in ("site_id", "user", "channel", "action", "batch"):
        value = getattr(f, column)
        if value is not None:
            conds.append(f"{column} = ?")
            params.append(value)
    if f.sites_only:
        conds.append("site_id IS NOT NULL")
    if f.city is not None:
        conds.append("site_id IN (SELECT id FROM sites WHERE city = ?)")
        params.append(f.city)
    if f.since is not None:
        conds.append("at >= ?")
        params.append(_utc_text(f.since))
    if f.until is not None:
        conds.append("at < ?")
        params.append(_utc_text(f.until))
    return " AND ".join(conds), params


def _utc_text(t: datetime) -> str:
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=timezone.utc)


def _change(r) -> Change:
    return Change(id=r[0], at=_utc(r[1]), user=r[2], channel=r[3], action=r[4], site_id=r[5], subject=r[6],
                  before=None if r[7] is None else json.loads(r[7]),
                  after=None if r[8] is None else json.loads(r[8]), batch=r[9], version=r[10])


def _user(r) -> User:
    return User(username=r[0], role=r[1], display_name=r[2], scope=tuple(json.loads(r[3])), password_hash=r[4],
                token_hash=r[5], active=bool(r[6]), failed_logins=r[7], locked_until=_utc(r[8]), session_stamp=r[9])


def _get_user(conn, username: str) -> User | None:
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)).fetchone()
    return _user(row) if row else None


class _GeoPackageWriter(Writer):
    """Reads and writes through the transaction's own connection, so it sees its own changes."""

    def __init__(self, conn: sqlite3.Connection, release):
        super().__init__()
        self.conn, self._give_back = conn, release
        self._done = False
        self._layers: set[str] = set()  # feature tables written: only their extents need refreshing

    def _site(self, site_id):
        return _get(self.conn, site_id)

    def _surveys(self, site_id):
        return _surveys(self.conn, site_id)

    def _units(self, site_id):
        return _units(self.conn, site_id)

    def _write_site(self, site, insert):
        self._layers.add("sites")
        params = _site_params(site)
        if insert:
            self.conn.execute(_INSERT_SITE, params)
        else:
            self.conn.execute(_UPDATE_SITE, params + [site.id])

    def _write_survey(self, s):
        before = self.conn.total_changes
        self.conn.execute(
            "INSERT INTO surveys (site_id, survey_date, leasable_area_m2, occupied_area_m2, tenant_count, source, "
            "data_status) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, survey_date) DO UPDATE SET "
            "leasable_area_m2 = excluded.leasable_area_m2, occupied_area_m2 = excluded.occupied_area_m2, "
            "tenant_count = excluded.tenant_count, source = excluded.source, data_status = excluded.data_status "
            "WHERE (leasable_area_m2, occupied_area_m2, tenant_count, source, data_status) IS NOT "
            "(excluded.leasable_area_m2, excluded.occupied_area_m2, excluded.tenant_count, excluded.source, "
            "excluded.data_status)",
            (s.site_id, s.survey_date.isoformat(), s.leasable_area_m2, s.occupied_area_m2, s.tenant_count,
             s.source, s.data_status))
        return self.conn.total_changes != before  # nothing inserted or updated: it was there unchanged

    def _surveys_of(self, site_ids):
        return _grouped(self.conn, _SURVEY_SELECT, site_ids, _survey)

    def _units_of(self, site_ids):
        return _grouped(self.conn, _UNIT_SELECT, site_ids, _unit)

    def _write_units(self, site_id, units):
        self.conn.execute("DELETE FROM units WHERE site_id = ?", (site_id,))
        self.conn.executemany(
            "INSERT INTO units (site_id, floor, unit_label, area_m2, status, tenant, updated_on) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(site_id, u.floor, u.unit_label, u.area_m2, u.status, u.tenant,
              u.updated_on.isoformat() if u.updated_on else None) for u in units])

    def _write_district(self, d):
        self._layers.add("districts")
        self.conn.execute(
            "INSERT INTO districts (geom, adcode, name, city, level, source) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (adcode) DO UPDATE SET geom = excluded.geom, name = excluded.name, city = excluded.city, "
            "level = excluded.level, source = excluded.source",
            (blob.encode(d.geometry), d.adcode, d.name, d.city, d.level, d.source))

    def _user(self, username):
        return _get_user(self.conn, username)

    def _write_user(self, u):
        self.conn.execute(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE "
            "SET role = excluded.role, display_name = excluded.display_name, scope = excluded.scope, "
            "password_hash = excluded.password_hash, token_hash = excluded.token_hash, active = excluded.active, "
            "failed_logins = excluded.failed_logins, locked_until = excluded.locked_until, "
            "session_stamp = excluded.session_stamp",
            (u.username, u.role, u.display_name, json.dumps(list(u.scope), ensure_ascii=False), u.password_hash,
             u.token_hash, u.active, u.failed_logins, None if u.locked_until is None else _utc_text(u.locked_until),
             u.session_stamp))

    def _write_changes(self, changes):
        dump = lambda v: None if v is None else json.dumps(v, ensure_ascii=False)  # noqa: E731
        self.conn.executemany(
            "INSERT INTO changes (at, user, channel, action, site_id, subject, before, after, batch, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(_utc_text(c.at), c.user, c.channel, c.action, c.site_id, c.subject, dump(c.before), dump(c.after),
              c.batch, c.version) for c in changes])

    def _refresh_occupancy(self, site_id, occ):
        values = (None,) * 6 if occ is None else (
            occ.as_of.isoformat() if occ.as_of else None, occ.leasable_area_m2, occ.occupied_area_m2,
            occ.tenant_count, occ.basis, occ.data_status)
        self.conn.execute(
            "UPDATE sites SET occupancy_as_of = ?, occupancy_leasable_m2 = ?, occupied_area_m2 = ?, "
            "tenant_count = ?, occupancy_basis = ?, occupancy_data_status = ? WHERE id = ?", (*values, site_id))

    def _commit(self):
        trust = kept.trust(self.conn)
        if not (trust.renderings and trust.counts):  # another program went round the triggers
            kept.repair(self.conn)
        if self._touched:  # the triggers dropped these sites' renderings
            features.fill(self.conn, self._touched)
        if self.changed >= ANALYZE_AFTER:  # fresh statistics let SQLite choose R-tree or index well
            self.conn.execute("ANALYZE")
        for table in sorted(self._layers):  # a survey or unit edit leaves the extents as they are
            self.conn.execute(
                f"UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
                f"min_x = (SELECT MIN(minx) FROM rtree_{table}_geom), max_x = (SELECT MAX(maxx) FROM rtree_{table}_geom), "
                f"min_y = (SELECT MIN(miny) FROM rtree_{table}_geom), max_y = (SELECT MAX(maxy) FROM rtree_{table}_geom) "
                "WHERE table_name = ?", (table,))
        self.conn.execute("COMMIT")
        self._done = True
        self._give_back(self.conn)

    def _rollback(self):
        if not self._done:
            self._done = True
            self._give_back(self.conn)  # rolls back what is open


def remove(path: str | Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            os.remove(p)
