"""Sites as GeoJSON features, rendered by SQLite: the API's hot path.

One SELECT turns the page's rows into the text of their GeoJSON features
(``json_object``), so no Site record, no dict and no ``json.dumps`` is made per
site.  The result equals what the Python rendering (``sites.stores.base.site_feature``,
over ``sites.schema.site_properties``) gives for the same site, value for value and
type for type (tests/web/test_geojson_sql.py pins it):

- the properties are exactly the names the caller lists, in that order (a name twice
  counts once, ``id`` and unknown names are left out): the list is the only source of
  what is emitted, so a caller that may not show a property simply leaves it out;
- stored floats, idle area and vacancy rate are rounded to 6 decimals as Python's
  ``round`` does; occupied area is not rounded; derived properties are computed by the
  same SQL as filters use (``sql.DERIVED_SQL``);
- lists, booleans, dates and NULLs become JSON arrays, true/false, ISO text and null;
- geometry, lon and lat come from small SQL functions (``sql._sites_geojson``,
  ``sql._sites_lonlat``, or ``sql._sites_feature_tail`` for all three at once when lon and
  lat are the last properties, as in OPEN below) that write coordinates as Python does.

SQLite's ``json_object`` writes a float with 15 significant digits and its ``round``
rounds the decimal text half away from zero, where Python's rounds the exact binary
value; so a float goes through SQLite's arithmetic only where the result is provably
the same (magnitude below 1e7, not within 0.01 units of the 6th decimal of a tie),
and otherwise through ``sites_json_number`` (Python's repr).

Each site's rendering is also kept (``site_features``, one row per site: the JSON objects of the
properties but those confidential by default (``OPEN``), of those (``CLOSED``, which come last) and
of the geometry), so that a page of features is mostly a concatenation:

- it is written by the very SQL that renders a feature live (``fill``), by the store's writer for the
  sites a transaction touched, and when a store is opened for any site without one;
- triggers on ``sites`` delete a site's rendering whenever its row is inserted, updated or deleted,
  by this program or by any other (QGIS, GDAL), so a kept rendering is never out of date: a site
  without one is rendered live, in the same statement (and everything is, while the triggers are
  missing: sites.stores.gpkg.kept);
- a page of the OPEN properties (what most callers get) or of every property is the kept text as it
  is; any other subset in PROPERTIES' order is cut from it with ``json_remove``; any other order is
  rendered live.

Names and SQL come only from the schema: nothing from the request is spliced in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from ...schema import CONFIDENTIAL_DEFAULT, FIELDS
from ..base import PROPERTIES
from .sql import DERIVED_SQL

_PAIRS = 60  # name/value pairs a json_object call

#: below this magnitude a value with 6 decimals has at most 13 significant digits, which
#: json_object's 15 write exactly, and x * 1e6 is exact to about 0.001
_SAFE = "1e7"


def _round6(x: str) -> str:
    """Python's round(x, 6) as a JSON value: exact arithmetic unless x is near a tie."""
    a = f"abs({x})"
    return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN {a} < {_SAFE} AND "
            f"abs({a} * 1e6 - CAST({a} * 1e6 AS INTEGER) - 0.5) > 0.01 THEN round({x} * 1e6) / 1e6 "
            f"ELSE json(sites_json_number({x}, 6)) END)")


def _exact(x: str) -> str:
    """A float unrounded: json_object's 15 digits are exact when x is the double nearest to a
    number with at most 6 decimals (k / 1e6 is then exactly x), else Python's repr."""
    return (f"(CASE WHEN {x} IS NULL THEN NULL WHEN abs({x}) < {_SAFE} AND {x} = round({x} * 1e6) / 1e6 "
            f"THEN {x} ELSE json(sites_json_number({x}, NULL)) END)")


def _stored(name: str, kind: str) -> str:
    x = f's."{name}"'
    if kind == "number":
        return _round6(x)
    if kind == "boolean":
        return f"(CASE WHEN {x} IS NULL THEN NULL WHEN {x} THEN json('true') ELSE json('false') END)"
    if kind == "list":  # stored as JSON text, an empty list as NULL
        return f"(CASE WHEN {x} IS NULL THEN json('[]') ELSE json({x}) END)"
    return x  # string, enum, integer, date (ISO text)


def _property_sql() -> dict[str, str]:
    """Property name -> SQL of its JSON value, for every name in PROPERTIES."""
    out = {f.name: _stored(f.name, f.type) for f in FIELDS if not f.derived and f.name != "id"}
    out["version"] = "s.version"
    derived = {"survey_date": DERIVED_SQL["survey_date"],
               "occupied_area_m2": _exact(DERIVED_SQL["occupied_area_m2"]),
               "tenant_count": DERIVED_SQL["tenant_count"],
               "idle_area_m2": _round6(DERIVED_SQL["idle_area_m2"]),
               "vacancy_rate": _round6(DERIVED_SQL["vacancy_rate"]),
               "occupancy_basis": DERIVED_SQL["occupancy_basis"],
               "occupancy_data_status": DERIVED_SQL["occupancy_data_status"]}
    out.update(derived)
    out["lon"], out["lat"] = "sites_lonlat(s.geom, 0)", "sites_lonlat(s.geom, 1)"
    missing = set(PROPERTIES) - set(out)
    if missing:  # a new derived field in the schema needs its SQL here
        raise RuntimeError(f"no SQL rendering for properties {sorted(missing)}")
    return {name: out[name] for name in PROPERTIES}


PROPERTY_SQL = _property_sql()


def chosen(properties: Iterable[str]) -> tuple[str, ...]:
    """The names to emit, in the caller's order: known ones, each once, never id."""
    return _chosen(tuple(properties))


@lru_cache(maxsize=256)
def _chosen(properties: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in properties:
        if name in PROPERTY_SQL:
            seen.setdefault(name, None)
    return tuple(seen)


def _object(names: tuple[str, ...]) -> str:
    """SQL of the JSON object of these properties.  json_object takes at most 127 arguments here
    (SQLITE_MAX_FUNCTION_ARG): a longer list is written as objects of 60 pairs joined as text (no
    property renders as an object, so the only braces trimmed are the objects' own)."""
    chunks = [", ".join(f"'{name}', {PROPERTY_SQL[name]}" for name in names[i:i + _PAIRS])
              for i in range(0, len(names), _PAIRS)]
    if len(chunks) <= 1:
        return f"json_object({chunks[0] if chunks else ''})"
    inner = " || ',' || ".join(f"rtrim(ltrim(json_object({c}), '{{'), '}}')" for c in chunks)
    return f"json('{{' || {inner} || '}}')"


#: what most callers are shown: every property but the ones confidential by default, which come
#: last (sites.schema.property_names), so that the whole is this part, then the CLOSED one
OPEN = tuple(name for name in PROPERTIES if name not in CONFIDENTIAL_DEFAULT)
CLOSED = PROPERTIES[len(OPEN):]
assert OPEN == PROPERTIES[:len(OPEN)] and OPEN, "the properties confidential by default must come last"

#: the kept renderings: the JSON objects of the OPEN and the CLOSED properties and the geometry; not
#: listed in gpkg_contents (derived data GIS programs need not show); the triggers drop a site's
#: renderings on any change to its row, whoever makes it
CACHE_DDL = [
    "CREATE TABLE site_features (fid INTEGER PRIMARY KEY NOT NULL, open_properties TEXT NOT NULL, "
    "closed_properties TEXT NOT NULL, geometry TEXT NOT NULL)",
    *(f"CREATE TRIGGER site_features_{event.lower()} AFTER {event} ON sites "
      f"BEGIN DELETE FROM site_features WHERE fid IN ({rows}); END"
      for event, rows in (("INSERT", "NEW.fid"), ("UPDATE", "OLD.fid, NEW.fid"), ("DELETE", "OLD.fid"))),
]

_FILL = (f"INSERT OR REPLACE INTO site_features (fid, open_properties, closed_properties, geometry) "
         f"SELECT s.fid, {_object(OPEN)}, {_object(CLOSED)}, sites_geojson(s.geom) FROM sites s ")
#: every property: the open object, its closing brace replaced by the closed one's members (no
#: property renders as an object, so the only braces trimmed are the objects' own)
_WHOLE = ("f.open_properties" if not CLOSED else
          "rtrim(f.open_properties, '}') || ',' || ltrim(f.closed_properties, '{')")


def fill(conn, site_ids: Iterable[str] | None = None) -> None:
    """Keep the renderings of these sites (by id), or of every site that has none (and forget those
    of rows that are gone: a row replaced by INSERT OR REPLACE fires no delete trigger)."""
    if site_ids is None:
        conn.execute("DELETE FROM site_features WHERE fid NOT IN (SELECT fid FROM sites)")
        conn.execute(_FILL + "WHERE NOT EXISTS (SELECT 1 FROM site_features f WHERE f.fid = s.fid)")
        return
    ids = list(site_ids)
    for i in range(0, len(ids), 900):  # SQLite's limit on bound variables
        chunk = ids[i:i + 900]
        conn.execute(_FILL + f"WHERE s.id IN ({', '.join('?' * len(chunk))})", chunk)


def missing(conn) -> bool:
    """Whether some site has no kept rendering, as far as the numbers of rows tell (50 ms at 100,000
    sites, where looking for each site's took 250 ms): a site without one is only slower to serve."""
    return conn.execute("SELECT (SELECT COUNT(*) FROM sites) != (SELECT COUNT(*) FROM site_features)"
                        ).fetchone()[0] == 1


def _kept(names: tuple[str, ...]) -> str | None:
    """SQL of the kept properties cut down to these names, when they are in PROPERTIES' order."""
    if names == OPEN:
        return "f.open_properties"
    if names == PROPERTIES:
        return _WHOLE
    position = {name: i for i, name in enumerate(PROPERTIES)}
    if any(position[a] > position[b] for a, b in zip(names, names[1:])):
        return None
    if not names:
        return "'{}'"
    kept, among = ("f.open_properties", OPEN) if set(names) <= set(OPEN) else (_WHOLE, PROPERTIES)
    left_out = [name for name in among if name not in names]
    return f"json_remove({kept}, {', '.join(repr(f'$.{n}') for n in left_out)})"


def _live(names: tuple[str, ...]) -> str:
    """SQL of the whole feature rendered from the row.  When lon and lat come last (as in OPEN, what
    most callers see), one call of sites_feature_tail per site writes them and the geometry after the
    other properties, which are left open for it."""
    if names[-2:] == ("lon", "lat"):
        head = f"rtrim({_object(names[:-2])}, '}}') || ','" if len(names) > 2 else "'{'"
        return (f"""'{{"type":"Feature","id":' || json_quote(s.id) || ',"properties":' || {head} || """
                "sites_feature_tail(s.geom)")
    return (f"json_object('type', 'Feature', 'id', s.id, 'geometry', json(sites_geojson(s.geom)), "
            f"'properties', {_object(names)})")


@lru_cache(maxsize=64)
def _select(names: tuple[str, ...], use_kept: bool = True) -> str:
    """One page's features, in the order of the fids given as a JSON array (the single parameter):
    cut from the kept rendering where there is one (and use_kept), else rendered live."""
    kept = _kept(names) if use_kept else None
    if kept is None:
        feature, join = _live(names), ""
    else:
        feature = (f"""COALESCE('{{"type":"Feature","id":' || json_quote(s.id) || ',"properties":' || {kept} || """
                   f"""',"geometry":' || f.geometry || '}}', {_live(names)})""")
        join = " LEFT JOIN site_features f ON f.fid = s.fid"
    # as a BLOB: the UTF-8 bytes go into the response as they are, never decoded and encoded again
    return (f"SELECT CAST({feature} AS BLOB) "
            f"FROM json_each(?) AS page JOIN sites s ON s.fid = page.value{join} ORDER BY page.key")


def render(conn, fids: list[int], properties: Iterable[str], use_kept: bool = True) -> bytes:
    """The JSON array (UTF-8) of the features of these sites (by fid, in this order); ``use_kept``:
    the kept renderings may be used (sites.stores.gpkg.kept)."""
    if not fids:
        return b"[]"
    rows = conn.execute(_select(chosen(properties), use_kept), (f"[{','.join(map(str, fids))}]",)).fetchall()
    return b"[" + b",".join(r[0] for r in rows) + b"]"
