"""A normalised filter (sites.query.check) -> SQLite SQL over the GeoPackage ``sites`` table.

Literals are always bound parameters; identifiers come only from the schema, so
no user text is ever spliced into SQL.  Spatial predicates use the GeoPackage
R-tree to find candidates, then exact shapely tests through SQL functions that
share their definitions with the reference evaluator (sites.evaluate).
"""

from __future__ import annotations

import json
import math
import struct
from functools import lru_cache

import shapely
from pygeofilter import ast, values
from shapely import prepared

from ... import cql
from ...evaluate import _SPATIAL, distance_m, spatial_test
from ...terms import Term, TextSearch, fold
from ...schema import BY_NAME
from . import blob as gpkgblob

# property -> SQL expression over the table alias s
_LEASABLE, _OCCUPIED = "s.occupancy_leasable_m2", "s.occupied_area_m2"
DERIVED_SQL = {
    "survey_date": "s.occupancy_as_of",
    "occupied_area_m2": _OCCUPIED,
    "tenant_count": "s.tenant_count",
    "occupancy_basis": "s.occupancy_basis",
    "occupancy_data_status": "COALESCE(s.occupancy_data_status, CASE WHEN s.occupancy_basis IS NOT NULL "
                             "THEN s.data_status END)",
    "idle_area_m2": f"(CASE WHEN {_LEASABLE} IS NOT NULL THEN MAX({_LEASABLE} - {_OCCUPIED}, 0.0) END)",
    "vacancy_rate": f"(CASE WHEN {_LEASABLE} > 0 THEN MAX({_LEASABLE} - {_OCCUPIED}, 0.0) / {_LEASABLE} END)",
}


def column(name: str) -> str:
    if name in DERIVED_SQL:
        return DERIVED_SQL[name]
    if name not in BY_NAME:
        raise KeyError(name)
    return f's."{name}"'


def sql_value(value):
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class Translator:
    def __init__(self):
        self.params: list = []
        self.expensive = False  # a per-row test (spatial, distance, free text): evaluate the WHERE only once

    def p(self, value) -> str:
        self.params.append(sql_value(value))
        return "?"

    def term(self, t: Term) -> str:
        expr = column(t.name)
        for transform in t.transforms:
            expr = f"sites_fold({expr}, '{transform}')"
        return expr

    def where(self, n) -> str:
        if isinstance(n, ast.And):
            return f"({self.where(n.lhs)} AND {self.where(n.rhs)})"
        if isinstance(n, ast.Or):
            return f"({self.where(n.lhs)} OR {self.where(n.rhs)})"
        if isinstance(n, ast.Not):
            return f"(NOT {self.where(n.sub_node)})"
        if isinstance(n, ast.Include):
            return "0" if n.not_ else "1"
        if isinstance(n, TextSearch):
            self.expensive = True
            return f"(instr(s.search_text, {self.p(n.text)}) > 0)"
        if isinstance(n, ast.Comparison):
            return f"({self.term(n.lhs)} {n.op.value} {self.p(n.rhs)})"
        if isinstance(n, ast.Between):
            neg = "NOT " if n.not_ else ""
            return f"({self.term(n.lhs)} {neg}BETWEEN {self.p(n.low)} AND {self.p(n.high)})"
        if isinstance(n, ast.Like):
            neg = "NOT " if n.not_ else ""
            pattern = like_to_glob(n.pattern, n.wildcard, n.singlechar, n.escapechar)
            return f"({neg}{self.term(n.lhs)} GLOB {self.p(pattern)})"
        if isinstance(n, ast.In):
            neg = "NOT " if n.not_ else ""
            return f"({self.term(n.lhs)} {neg}IN ({', '.join(self.p(v) for v in n.sub_nodes)}))"
        if isinstance(n, ast.IsNull):
            return f"({column(n.lhs.name)} IS {'NOT ' if n.not_ else ''}NULL)"
        if isinstance(n, ast.SpatialComparisonPredicate):
            return self.spatial(_SPATIAL[type(n)], n.rhs)
        if isinstance(n, ast.DistanceWithin):
            return self.distance(n.rhs, n.distance)
        if isinstance(n, ast.TemporalPredicate):
            return self.temporal(n)
        if isinstance(n, ast.ArrayPredicate):
            return self.array(n)
        raise TypeError(f"not a normalised filter node: {type(n).__name__}")

    def rtree(self, minx, miny, maxx, maxy) -> str:
        return (f"s.fid IN (SELECT id FROM rtree_sites_geom WHERE minx <= {self.p(maxx)} AND maxx >= {self.p(minx)}"
                f" AND miny <= {self.p(maxy)} AND maxy >= {self.p(miny)})")

    def inside(self, minx, miny, maxx, maxy) -> str:
        """Sites whose whole bounding box lies inside the box: they intersect it without an exact test
        (the R-tree rounds bounds outward, so this never claims too much)."""
        return (f"s.fid IN (SELECT id FROM rtree_sites_geom WHERE minx >= {self.p(minx)} AND maxx <= {self.p(maxx)}"
                f" AND miny >= {self.p(miny)} AND maxy <= {self.p(maxy)})")

    def spatial(self, op, literal) -> str:
        """Parameters are bound in the order the SQL text names them: build left to right."""
        self.expensive = True
        if op == "disjoint":
            return f"(sites_spatial(s.geom, 'disjoint', {self.p(shapely.to_wkb(literal))}))"
        # the R-tree candidates drive the loop; the exact test runs only where the boxes do not settle it
        box = self.rtree(*literal.bounds)
        fast = f"{self.inside(*literal.bounds)} OR " if op == "intersects" and _is_box(literal) else ""
        return f"({box} AND ({fast}sites_spatial(s.geom, '{op}', {self.p(shapely.to_wkb(literal))})))"

    def distance(self, point, metres) -> str:
        self.expensive = True
        outer, inner = _circle_boxes(point, metres)
        box = self.rtree(*outer)
        fast = self.inside(*inner)
        return (f"({box} AND ({fast} OR sites_distance(s.geom, {self.p(point.x)}, {self.p(point.y)}) "
                f"<= {self.p(metres)}))")

    def hits(self, n) -> str:
        """The condition on the R-tree entry r of a site matching one spatial (not disjoint) or distance
        predicate: the boxes settle most entries; the site's row is read only for the exact test of a
        candidate on the edge."""
        geom = "(SELECT g.geom FROM sites g WHERE g.fid = r.id)"
        if isinstance(n, ast.DistanceWithin):
            outer, inner = _circle_boxes(n.rhs, n.distance)
            box, fast = self.r_overlaps(*outer), self.r_inside(*inner)
            return (f"{box} AND ({fast} OR sites_distance({geom}, {self.p(n.rhs.x)}, {self.p(n.rhs.y)}) "
                    f"<= {self.p(n.distance)})")
        op, literal = _SPATIAL[type(n)], n.rhs
        box = self.r_overlaps(*literal.bounds)
        fast = f"{self.r_inside(*literal.bounds)} OR " if op == "intersects" and _is_box(literal) else ""
        return f"{box} AND ({fast}sites_spatial({geom}, '{op}', {self.p(shapely.to_wkb(literal))}))"

    def r_overlaps(self, minx, miny, maxx, maxy) -> str:
        return (f"r.minx <= {self.p(maxx)} AND r.maxx >= {self.p(minx)} AND r.miny <= {self.p(maxy)} "
                f"AND r.maxy >= {self.p(miny)}")

    def r_inside(self, minx, miny, maxx, maxy) -> str:
        return (f"(r.minx >= {self.p(minx)} AND r.maxx <= {self.p(maxx)} AND r.miny >= {self.p(miny)} "
                f"AND r.maxy <= {self.p(maxy)})")

    def temporal(self, n) -> str:
        x, rhs, cls = column(n.lhs.name), n.rhs, type(n)
        if isinstance(rhs, values.Interval):
            start, end = rhs.start, rhs.end

            def bounds(low_op, high_op):  # placeholders are made where they appear in the text
                parts = ([f"{x} {low_op} {self.p(start)}"] if start else []) + \
                        ([f"{x} {high_op} {self.p(end)}"] if end else [])
                return " AND ".join(parts) or "1"

            if cls is ast.TimeAfter:
                expr = f"{x} > {self.p(end)}" if end else "0"
            elif cls is ast.TimeBefore:
                expr = f"{x} < {self.p(start)}" if start else "0"
            elif cls is ast.TimeEquals:
                expr = f"{x} = {self.p(start)}" if start and start == end else "0"
            elif cls is ast.TimeDuring:
                expr = bounds(">", "<")
            elif cls is cql.TimeIntersects:
                expr = bounds(">=", "<=")
            else:  # TimeDisjoint
                expr = f"NOT ({bounds('>=', '<=')})"
        else:
            op = {ast.TimeAfter: ">", ast.TimeBefore: "<", ast.TimeEquals: "=", cql.TimeIntersects: "=",
                  ast.TimeDisjoint: "<>"}[cls]
            expr = f"{x} {op} {self.p(rhs)}"
        return f"(CASE WHEN {x} IS NULL THEN NULL ELSE ({expr}) END)"

    def array(self, n) -> str:
        x, items = column(n.lhs.name), list(n.rhs)
        if isinstance(n, ast.ArrayEquals):
            return f"(COALESCE({x}, '[]') = {self.p(dump_list(items) or '[]')})"
        options = ", ".join(self.p(v) for v in items)
        if isinstance(n, ast.ArrayContains):
            return f"((SELECT COUNT(DISTINCT value) FROM json_each({x}) WHERE value IN ({options})) = {len(set(items))})"
        if isinstance(n, ast.ArrayContainedBy):
            return f"(NOT EXISTS (SELECT 1 FROM json_each({x}) WHERE value NOT IN ({options})))"
        return f"(EXISTS (SELECT 1 FROM json_each({x}) WHERE value IN ({options})))"


def page(conn, q, kept_counts: bool = False) -> tuple[list[int], int]:
    """The fids of q's page, in order, and the number of sites matching q.filter.

    A map's query, one box (or other spatial or distance predicate) and maybe "not retired", is
    answered from the R-tree (spatial_page).  Any other filter with a per-row test (spatial,
    distance, free text) is evaluated once, the count coming from a window function; the rest run
    as two indexed queries (page, count), which lets an index serve the sort.  The caller holds a
    read transaction around it.  ``kept_counts``: the kept counts may be used (sites.stores.gpkg.kept)."""
    shape = _spatial_shape(q.filter)
    if shape is not None:
        return spatial_page(conn, q, *shape)
    t = Translator()
    where = t.where(q.filter) if q.filter is not None else "1"
    limits = [-1 if q.limit is None else q.limit, q.offset]
    order = order_by(q.sortby)
    if t.expensive:
        hits = conn.execute(f"SELECT s.fid, COUNT(*) OVER () FROM sites s WHERE {where} "
                            f"ORDER BY {order} LIMIT ? OFFSET ?", t.params + limits).fetchall()
        if hits:
            return [h[0] for h in hits], hits[0][1]
    else:
        hits = conn.execute(f"SELECT s.fid FROM sites s WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                            t.params + limits).fetchall()
    return [h[0] for h in hits], count(conn, q.filter, where, t.params, kept_counts)


def spatial_page(conn, q, node, excluded) -> tuple[list[int], int]:
    """The page and count of ``node AND excluded`` (excluded: None or NOT a = v, see _is_exclusion).

    The count reads only the R-tree, less the excluded fids read from an index.  The page, by id,
    walks the id index and looks each site up in the R-tree when the hits are many (the page is then
    near the start); otherwise it reads and sorts the hits' rows."""
    t, x = Translator(), Translator()
    hits = t.hits(node)  # over the R-tree entry r
    out = x.where(excluded.sub_node) if excluded is not None else "0"  # the rows left out (never NULL)
    params = t.params + x.params  # every query below names hits, then out, once each
    left_out = f" AND r.id NOT IN (SELECT s.fid FROM sites s WHERE {out})" if excluded is not None else ""
    matched = conn.execute(f"SELECT COUNT(*) FROM rtree_sites_geom r WHERE {hits}{left_out}", params).fetchone()[0]
    if matched == 0 or q.limit == 0:
        return [], matched
    limits = [-1 if q.limit is None else q.limit, q.offset]
    wanted = q.offset + (matched if q.limit is None else q.limit)
    total = conn.execute("SELECT COUNT(*) FROM sites").fetchone()[0]
    # walking the ids costs about wanted * total / matched lookups of some 2 µs, reading and sorting the
    # hits about matched of some 1 µs (measured at 10k and 100k sites)
    if not q.sortby and 2 * wanted * total < matched * matched:
        sql = (f"SELECT s.fid FROM sites s WHERE EXISTS (SELECT 1 FROM rtree_sites_geom r WHERE r.id = s.fid "
               f"AND {hits}) AND NOT {out} ORDER BY s.id LIMIT ? OFFSET ?")
    else:
        sql = (f"SELECT s.fid FROM sites s WHERE s.fid IN (SELECT r.id FROM rtree_sites_geom r WHERE {hits}) "
               f"AND NOT {out} ORDER BY {order_by(q.sortby)} LIMIT ? OFFSET ?")
    return [r[0] for r in conn.execute(sql, params + limits)], matched


def _conjuncts(node) -> list:
    if isinstance(node, ast.And):
        return _conjuncts(node.lhs) + _conjuncts(node.rhs)
    return [node]


def _spatial_shape(node):
    """(predicate, exclusion or None) when the filter is one R-tree-able spatial or distance predicate,
    maybe ANDed with one exclusion (NOT a = v on a required column); else None."""
    if node is None:
        return None
    parts = _conjuncts(node)
    spatial = [p for p in parts if isinstance(p, ast.DistanceWithin)
               or (isinstance(p, ast.SpatialComparisonPredicate) and _SPATIAL[type(p)] != "disjoint")]
    excluded = [p for p in parts if _is_exclusion(p)]
    if len(spatial) != 1 or len(excluded) > 1 or len(parts) != len(spatial) + len(excluded):
        return None
    return spatial[0], (excluded[0] if excluded else None)


def _is_exclusion(node) -> bool:
    """NOT a = v on a required stored column: never NULL, so its rows are all rows less those with a = v."""
    if not (isinstance(node, ast.Not) and isinstance(node.sub_node, ast.Equal)):
        return False
    lhs = node.sub_node.lhs
    return isinstance(lhs, Term) and not lhs.transforms and lhs.name in BY_NAME and BY_NAME[lhs.name].required \
        and not BY_NAME[lhs.name].derived


#: the number of sites of each (city, status), kept by triggers on every change to the sites table
#: (by this program or any other): a filter on nothing else (the API's "status=idle", the map's
#: "not retired" and "city=青岛市") is counted from these few rows instead of the sites, while they
#: may be trusted (sites.stores.gpkg.kept)
COUNTED = ("city", "status")
COUNTS_DDL = [
    "CREATE TABLE site_counts (city TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, "
    "PRIMARY KEY (city, status)) WITHOUT ROWID",
    "CREATE TRIGGER site_counts_insert AFTER INSERT ON sites BEGIN "
    "INSERT INTO site_counts VALUES (NEW.city, NEW.status, 1) ON CONFLICT (city, status) DO UPDATE SET n = n + 1; "
    "END",
    "CREATE TRIGGER site_counts_delete AFTER DELETE ON sites BEGIN "
    "UPDATE site_counts SET n = n - 1 WHERE city = OLD.city AND status = OLD.status; END",
    "CREATE TRIGGER site_counts_update AFTER UPDATE OF city, status ON sites BEGIN "
    "UPDATE site_counts SET n = n - 1 WHERE city = OLD.city AND status = OLD.status; "
    "INSERT INTO site_counts VALUES (NEW.city, NEW.status, 1) ON CONFLICT (city, status) DO UPDATE SET n = n + 1; "
    "END",
]
_RECOUNT = "SELECT city, status, COUNT(*) FROM sites GROUP BY city, status"


def counts_agree(conn) -> bool:
    """Whether the kept counts are the table's, one by one (see sites.stores.gpkg.kept)."""
    kept = {(c, st): n for c, st, n in conn.execute("SELECT city, status, n FROM site_counts") if n}
    return kept == {(c, st): n for c, st, n in conn.execute(_RECOUNT)}


def recount(conn) -> None:
    conn.execute("DELETE FROM site_counts")
    conn.execute(f"INSERT INTO site_counts {_RECOUNT}")


def _on_counted_only(node) -> bool:
    """Whether the filter tests nothing but COUNTED columns: then every site of one (city, status)
    passes it or none does, and its count is the sum of the kept counts that pass it."""
    if isinstance(node, (ast.And, ast.Or)):
        return _on_counted_only(node.lhs) and _on_counted_only(node.rhs)
    if isinstance(node, ast.Not):
        return _on_counted_only(node.sub_node)
    if isinstance(node, ast.Include):
        return True
    if isinstance(node, (ast.Comparison, ast.Between, ast.Like, ast.In, ast.IsNull)):
        return isinstance(node.lhs, Term) and node.lhs.name in COUNTED
    return False


def count(conn, node, where: str, params: list, kept_counts: bool = False) -> int:
    """COUNT(*) of the filter.  A filter on city and status only is counted from the kept counts
    when they may be used.  Else "every site but the retired ones" (NOT a = v on a required column)
    is counted as all rows less the others: SQLite counts a whole table from its pages without
    reading the rows, and the excluded ones through an index."""
    if kept_counts and node is not None and _on_counted_only(node):
        return conn.execute(f"SELECT COALESCE(SUM(s.n), 0) FROM site_counts s WHERE {where}", params).fetchone()[0]
    if _is_exclusion(node):
        t = Translator()
        excluded = t.where(node.sub_node)  # never NULL: a required column is NOT NULL
        return conn.execute(f"SELECT (SELECT COUNT(*) FROM sites) - (SELECT COUNT(*) FROM sites s WHERE {excluded})",
                            t.params).fetchone()[0]
    return conn.execute(f"SELECT COUNT(*) FROM sites s WHERE {where}", params).fetchone()[0]


def order_by(sortby) -> str:
    """Nulls last either way, ties by id (NULLS LAST lets SQLite use an index for a descending sort)."""
    parts = [f"{column(name)} {'DESC' if desc else 'ASC'} NULLS LAST" for name, desc in sortby]
    return ", ".join([*parts, "s.id"])


def dump_list(items) -> str | None:
    """Lists are stored as JSON text; an empty list is stored as NULL."""
    return json.dumps(list(items), ensure_ascii=False) if items else None


def like_to_glob(pattern: str, wildcard="%", singlechar="_", escape="\\") -> str:
    out, i = [], 0
    special = {"*": "[*]", "?": "[?]", "[": "[[]"}
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(special.get(nxt, nxt))
            i += 2
            continue
        out.append("*" if ch == wildcard else "?" if ch == singlechar else special.get(ch, ch))
        i += 1
    return "".join(out)


def _circle_boxes(point, metres):
    """(outer, inner) boxes of a circle on the ground: everything within reach lies in the outer one;
    the inner one, a square well inside the circle, needs no exact test."""
    dlat = metres / 111_000 * 1.01
    dlon = dlat / max(math.cos(math.radians(min(abs(point.y) + dlat, 89.9))), 1e-6)
    ilat = metres / 111_320 / math.sqrt(2) * 0.98  # half the side of a square inside the circle
    ilon = ilat / max(math.cos(math.radians(max(abs(point.y) - ilat, 0.0))), 1e-6)  # widest degree of lon
    return ((point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat),
            (point.x - ilon, point.y - ilat, point.x + ilon, point.y + ilat))


def _is_box(geom) -> bool:
    return geom.geom_type == "Polygon" and geom.equals(shapely.box(*geom.bounds))


@lru_cache(maxsize=64)
def _literal(wkb: bytes):
    geom = shapely.from_wkb(wkb)
    return geom, prepared.prep(geom), _is_box(geom), geom.bounds


def _sites_spatial(blob, op, literal_wkb):
    geom, prep, is_box, (minx, miny, maxx, maxy) = _literal(literal_wkb)
    if op == "intersects":
        if is_box:  # fast path: a point against a box needs no geometry object
            xy = gpkgblob.point_xy(blob)
            if xy is not None:
                return int(minx <= xy[0] <= maxx and miny <= xy[1] <= maxy)
        return int(prep.intersects(gpkgblob.decode(blob)))
    if op == "disjoint":
        return int(not prep.intersects(gpkgblob.decode(blob)))
    return int(spatial_test(op, gpkgblob.decode(blob), geom))


def _sites_distance(blob, lon, lat):
    return distance_m(gpkgblob.decode(blob), lon, lat)


# --- the functions the GeoJSON rendering calls (sites.stores.gpkg.features): what SQLite cannot do exactly

def _point(blob) -> tuple[float, float] | None:
    """x, y of a little-endian 2-D point blob without an envelope (what this store writes), else None."""
    if blob[3] == 1 and blob[8:13] == b"\x01\x01\x00\x00\x00":
        return _XY(blob, 13)
    return None


_XY = struct.Struct("<2d").unpack_from


def _sites_geojson(blob) -> str:
    """The geometry as GeoJSON text; coordinates are Python's shortest exact repr of each double."""
    xy = _point(blob)
    if xy is not None:
        return f'{{"type":"Point","coordinates":[{xy[0]!r},{xy[1]!r}]}}'
    return json.dumps(gpkgblob.decode(blob).__geo_interface__, separators=(",", ":"))


_TAIL = '"lon":%.7f,"lat":%.7f},"geometry":{"type":"Point","coordinates":[%r,%r]}}'


def _sites_feature_tail(blob) -> str:
    """The end of a feature whose last properties are lon and lat: those two, then the geometry.
    ('%.7f' is the decimal that round(x, 7) is nearest to, so both read back as the same float.)"""
    xy = _point(blob)
    if xy is not None:
        return _TAIL % (xy[0], xy[1], xy[0], xy[1])
    return f'"lon":{_sites_lonlat(blob, 0)!r},"lat":{_sites_lonlat(blob, 1)!r}}},"geometry":{_sites_geojson(blob)}}}'


@lru_cache(maxsize=256)
def _representative(blob) -> tuple[float, float]:
    p = gpkgblob.decode(blob).representative_point()
    return p.x, p.y


def _sites_lonlat(blob, axis):
    """lon (axis 0) or lat (axis 1) as sites.schema.site_properties gives them: the point, or a
    polygon's representative point, rounded to 7 decimals."""
    xy = _point(blob) or _representative(blob)
    return round(xy[axis], 7)


def _sites_json_number(value, ndigits):
    """A float as the JSON text Python writes for it (rounded when ndigits is given)."""
    if value is None:
        return None
    return repr(float(value) if ndigits is None else round(float(value), ndigits))


def register_functions(conn) -> None:
    conn.create_function("sites_fold", 2, lambda text, t: None if text is None else fold(text, (t,)),
                         deterministic=True)
    conn.create_function("sites_spatial", 3, _sites_spatial, deterministic=True)
    conn.create_function("sites_distance", 3, _sites_distance, deterministic=True)
    conn.create_function("sites_geojson", 1, _sites_geojson, deterministic=True)
    conn.create_function("sites_lonlat", 2, _sites_lonlat, deterministic=True)
    conn.create_function("sites_json_number", 2, _sites_json_number, deterministic=True)
    conn.create_function("sites_feature_tail", 1, _sites_feature_tail, deterministic=True)
