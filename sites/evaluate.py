"""The reference evaluator: a normalised filter (see query.check) applied to one Site.

Three-valued like SQL: a predicate returns True, False or None (unknown, when a
value it needs is missing); only True matches.  The memory store uses this
directly; the GeoPackage store translates the same AST to SQL, and the filter
table test pins the two to the same results.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Callable

from pygeofilter import ast, values
from shapely import prepared
from shapely.geometry import Point

from . import cql
from .model import Site
from .query import Query
from .terms import TEXT_FIELDS, Term, TextSearch, fold

Predicate = Callable[[Site], "bool | None"]
EARTH_RADIUS_M = 6_371_008.8
SEARCH_SEPARATOR = "\x1f"


def search_text(site_values: dict[str, Any]) -> str:
    """The folded text that free-text search looks in (one definition for every store)."""
    parts = []
    for name in TEXT_FIELDS:
        value = site_values.get(name)
        if isinstance(value, (list, tuple)):
            parts.extend(value)
        elif value:
            parts.append(value)
    return fold(SEARCH_SEPARATOR.join(str(p).replace(SEARCH_SEPARATOR, " ") for p in parts), ("casei",))


def distance_m(geom, lon: float, lat: float) -> float:
    """Distance in metres from a geometry to a point: haversine for points, a local
    equirectangular projection otherwise (good to well under 1% within 500 km)."""
    if geom.geom_type == "Point":
        return _haversine(geom.x, geom.y, lon, lat)
    if geom.contains(Point(lon, lat)):
        return 0.0
    k = math.cos(math.radians(lat))
    from shapely import affinity
    scaled = affinity.scale(geom, xfact=k, yfact=1.0, origin=(lon, lat))
    return scaled.distance(Point(lon, lat)) * math.pi / 180 * EARTH_RADIUS_M


def _haversine(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def like_regex(pattern: str, wildcard="%", singlechar="_", escape="\\") -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == wildcard else "." if ch == singlechar else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def compile_filter(node: ast.Node | None) -> Predicate:
    if node is None:
        return lambda site: True
    return _compile(node)


def _value(site: Site, term: Term):
    value = getattr(site, term.name)
    if term.transforms and isinstance(value, str):
        value = fold(value, term.transforms)
    return value


def _and(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


_CMP = {ast.Equal: lambda a, b: a == b, ast.NotEqual: lambda a, b: a != b, ast.LessThan: lambda a, b: a < b,
        ast.LessEqual: lambda a, b: a <= b, ast.GreaterThan: lambda a, b: a > b,
        ast.GreaterEqual: lambda a, b: a >= b}
_SPATIAL = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
            ast.GeometryContains: "contains", ast.GeometryWithin: "within", ast.GeometryTouches: "touches",
            ast.GeometryCrosses: "crosses", ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals"}


def spatial_test(op: str, geom, literal) -> bool:
    """Site geometry ``op`` literal, e.g. spatial_test('within', site_geom, polygon)."""
    if op == "equals":
        return geom.equals(literal)
    return getattr(geom, op)(literal)


def temporal_test(cls, day: date, rhs) -> bool:
    if isinstance(rhs, values.Interval):
        start, end = rhs.start, rhs.end
        after_start = start is None or day >= start
        before_end = end is None or day <= end
        if cls is ast.TimeAfter:
            return end is not None and day > end
        if cls is ast.TimeBefore:
            return start is not None and day < start
        if cls is ast.TimeEquals:
            return start == end == day
        if cls is ast.TimeDuring:
            return (start is None or day > start) and (end is None or day < end)
        intersects = after_start and before_end
        return intersects if cls is cql.TimeIntersects else not intersects
    return {ast.TimeAfter: day > rhs, ast.TimeBefore: day < rhs, ast.TimeEquals: day == rhs,
            cql.TimeIntersects: day == rhs, ast.TimeDisjoint: day != rhs}[cls]


def array_test(cls, items: tuple, literal: list) -> bool:
    if cls is ast.ArrayEquals:
        return list(items) == list(literal)
    if cls is ast.ArrayContains:
        return all(x in items for x in literal)
    if cls is ast.ArrayContainedBy:
        return all(x in literal for x in items)
    return any(x in items for x in literal)


def _compile(n) -> Predicate:
    if isinstance(n, ast.And):
        a, b = _compile(n.lhs), _compile(n.rhs)
        return lambda s: _and(a(s), b(s))
    if isinstance(n, ast.Or):
        a, b = _compile(n.lhs), _compile(n.rhs)
        return lambda s: _or(a(s), b(s))
    if isinstance(n, ast.Not):
        a = _compile(n.sub_node)
        return lambda s: None if (v := a(s)) is None else not v
    if isinstance(n, ast.Include):
        return lambda s: not n.not_
    if isinstance(n, TextSearch):
        needle = n.text
        return lambda s: needle in search_text({f: getattr(s, f) for f in TEXT_FIELDS})
    if isinstance(n, ast.Comparison):
        op, term, lit = _CMP[type(n)], n.lhs, n.rhs
        return lambda s: None if (v := _value(s, term)) is None else op(v, lit)
    if isinstance(n, ast.Between):
        term, low, high = n.lhs, n.low, n.high
        return lambda s: None if (v := _value(s, term)) is None else (low <= v <= high) != n.not_
    if isinstance(n, ast.Like):
        term, rx = n.lhs, like_regex(n.pattern, n.wildcard, n.singlechar, n.escapechar)
        return lambda s: None if (v := _value(s, term)) is None else bool(rx.fullmatch(v)) != n.not_
    if isinstance(n, ast.In):
        term, options = n.lhs, set(n.sub_nodes)
        return lambda s: None if (v := _value(s, term)) is None else (v in options) != n.not_
    if isinstance(n, ast.IsNull):
        name = n.lhs.name
        return lambda s: (getattr(s, name) in (None, ())) != n.not_
    if isinstance(n, ast.SpatialComparisonPredicate):
        op, literal = _SPATIAL[type(n)], n.rhs
        if op == "intersects":
            prep = prepared.prep(literal)
            return lambda s: prep.intersects(s.geometry)
        if op == "disjoint":
            prep = prepared.prep(literal)
            return lambda s: not prep.intersects(s.geometry)
        return lambda s: spatial_test(op, s.geometry, literal)
    if isinstance(n, ast.DistanceWithin):
        point, radius = n.rhs, n.distance
        return lambda s: distance_m(s.geometry, point.x, point.y) <= radius
    if isinstance(n, ast.TemporalPredicate):
        cls, name, rhs = type(n), n.lhs.name, n.rhs
        return lambda s: None if (v := getattr(s, name)) is None else temporal_test(cls, v, rhs)
    if isinstance(n, ast.ArrayPredicate):
        cls, name, lit = type(n), n.lhs.name, n.rhs
        return lambda s: array_test(cls, getattr(s, name) or (), lit)
    raise TypeError(f"not a normalised filter node: {type(n).__name__}")


def sort_key_apply(sites: list[Site], sortby) -> list[Site]:
    """Sort by the given properties (nulls last either way), then by id."""
    out = sorted(sites, key=lambda s: s.id)
    for name, desc in reversed(sortby):
        present = [s for s in out if getattr(s, name) is not None]
        missing = [s for s in out if getattr(s, name) is None]
        present.sort(key=lambda s: getattr(s, name), reverse=desc)  # stable: ties keep id order
        out = present + missing
    return out


def run_query(sites, q: Query):
    """Filter, sort and page an iterable of sites: (page, number_matched)."""
    pred = compile_filter(q.filter)
    matched = [s for s in sites if pred(s) is True]
    matched = sort_key_apply(matched, q.sortby)
    end = None if q.limit is None else q.offset + q.limit
    return matched[q.offset:end], len(matched)
