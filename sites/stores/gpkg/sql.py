"""A normalised filter (sites.query.check) -> SQLite SQL over the GeoPackage ``sites`` table.

Literals are always bound parameters; identifiers come only from the schema, so
no user text is ever spliced into SQL.  Spatial predicates use the GeoPackage
R-tree to find candidates, then exact shapely tests through SQL functions that
share their definitions with the reference evaluator (sites.evaluate).
"""

from __future__ import annotations

import json
import math
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
        # outer box: everything within reach; inner box: a square well inside the circle, no exact test needed
        dlat = metres / 111_000 * 1.01
        dlon = dlat / max(math.cos(math.radians(min(abs(point.y) + dlat, 89.9))), 1e-6)
        ilat = metres / 111_320 / math.sqrt(2) * 0.98  # half the side of a square inside the circle
        ilon = ilat / max(math.cos(math.radians(max(abs(point.y) - ilat, 0.0))), 1e-6)  # widest degree of lon
        box = self.rtree(point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat)
        fast = self.inside(point.x - ilon, point.y - ilat, point.x + ilon, point.y + ilat)
        return (f"({box} AND ({fast} OR sites_distance(s.geom, {self.p(point.x)}, {self.p(point.y)}) "
                f"<= {self.p(metres)}))")

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


def register_functions(conn) -> None:
    conn.create_function("sites_fold", 2, lambda text, t: None if text is None else fold(text, (t,)),
                         deterministic=True)
    conn.create_function("sites_spatial", 3, _sites_spatial, deterministic=True)
    conn.create_function("sites_distance", 3, _sites_distance, deterministic=True)
