"""One filter semantics for the CLI, the map and the API.

Every way of asking for sites ends up as a ``Query``: a pygeofilter AST (checked
and normalised against the site schema), a sort order and a page.  The simple
filter parameters (``city``, ``status``, ``vacancy_min``, ``bbox``, ``q``, ...) are
declared once in ``PARAMS`` and are sugar for CQL2 conditions; a CQL2 ``filter``
is ANDed with them.  Every store evaluates the same normalised AST, and the
filter table in tests/sites/test_query_table.py pins the results on each store.

Semantics worth knowing:
- a condition on a missing (null) value is unknown and does not match, as in SQL;
  ``NOT`` of unknown is still unknown; use ``IS NULL`` to ask for missing values;
- text comparison is case-sensitive unless wrapped in CASEI(); free text ``q`` is
  a case-insensitive substring match over name_zh, name_en, aliases and
  address_zh (Chinese has no spaces, so substrings, not words);
- date properties are compared by day; a TIMESTAMP literal is taken as its UTC day;
- retired sites are left out unless ``include_retired`` is set or the status
  filter names ``retired``.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Mapping

import shapely
from pygeofilter import ast, values
from shapely.geometry import Point, box, shape

from . import cql
from .errors import FilterError
from .schema import BY_NAME, FIELDS, Field

MAX_LIMIT = 10000


@dataclass(frozen=True)
class Term:
    """The left side of a normalised predicate: a property, maybe under CASEI/ACCENTI."""

    name: str
    transforms: tuple[str, ...] = ()


@dataclass
class TextSearch(ast.Predicate):
    """Free text: case-insensitive substring of name_zh, name_en, any alias or address_zh."""

    text: str

    def get_sub_nodes(self):
        return []


TEXT_FIELDS = ("name_zh", "name_en", "aliases", "address_zh")


@dataclass(frozen=True)
class Query:
    filter: ast.Node | None = None
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, descending)
    limit: int | None = None
    offset: int = 0

    def page(self, limit: int | None, offset: int = 0) -> "Query":
        return Query(self.filter, self.sortby, limit, offset)


def fold(text: str, transforms) -> str:
    """Apply CASEI / ACCENTI to a text value: the one definition every store uses."""
    for t in transforms:
        if t == "casei":
            text = text.casefold()
        elif t == "accenti":
            text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def and_all(nodes) -> ast.Node | None:
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return None
    node = nodes[0]
    for nxt in nodes[1:]:
        node = ast.And(node, nxt)
    return node


# --------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class Param:
    name: str
    help_en: str
    help_zh: str
    kind: str = "str"  # str | list | float | int | bool
    metavar: str | None = None


PARAMS: tuple[Param, ...] = (
    Param("city", "city name(s), comma-separated, e.g. 青岛市", "城市,逗号分隔", "list"),
    Param("district", "district name(s), e.g. 市南区", "区县", "list"),
    Param("status", "status(es): idle, partly_idle, renovating, operating, planned, retired", "状态", "list"),
    Param("kind", "kind(s): building, complex, area", "类型", "list"),
    Param("heritage_grade", "heritage grade(s): national, provincial, municipal, historic_building, "
          "industrial_heritage, none", "保护等级", "list"),
    Param("data_status", "data status(es): verified, reported, sample", "数据状态", "list"),
    Param("vacancy_min", "minimum vacancy rate, 0..1", "最低空置率(0-1)", "float"),
    Param("vacancy_max", "maximum vacancy rate, 0..1", "最高空置率(0-1)", "float"),
    Param("min_idle_area", "minimum idle area, m²", "最小闲置面积(㎡)", "float"),
    Param("min_leasable_area", "minimum leasable area, m²", "最小可租面积(㎡)", "float"),
    Param("within_district", "inside a district: adcode or name (e.g. 370202 or 市南区)", "位于区县内"),
    Param("near", "centre of a radius search: lon,lat (WGS-84)", "圆心 经度,纬度", metavar="LON,LAT"),
    Param("radius", "radius around near, metres", "半径(米)", "float"),
    Param("bbox", "minlon,minlat,maxlon,maxlat (WGS-84)", "范围框", metavar="MINX,MINY,MAXX,MAXY"),
    Param("within", "inside a polygon: WKT or GeoJSON geometry (WGS-84)", "位于多边形内(WKT或GeoJSON)"),
    Param("q", "free text over Chinese and English names, aliases and addresses", "名称/别名/地址关键词"),
    Param("filter", "CQL2 filter over the site properties", "CQL2 过滤表达式"),
    Param("filter_lang", "cql2-text (default) or cql2-json", "过滤语言"),
    Param("include_retired", "include retired sites", "包含已退出载体", "bool"),
    Param("sortby", "sort order, e.g. -vacancy_rate,name_zh (- for descending; on the command line write --sortby=-vacancy_rate)", "排序"),
    Param("limit", "at most this many sites", "返回条数", "int"),
    Param("offset", "skip this many sites", "跳过条数", "int"),
)
PARAM_NAMES = {p.name for p in PARAMS}
_LIST_ENUMS = {"status", "kind", "heritage_grade", "data_status"}


def build_query(params: Mapping[str, Any], *, district_geometry: Callable[[str], Any] | None = None,
                max_limit: int | None = MAX_LIMIT, extra: tuple[ast.Node, ...] = ()) -> Query:
    """Turn filter parameters (strings from a URL or the command line, or typed values) into a Query.

    ``district_geometry(key)`` resolves ``within_district`` (the store supplies it).
    Unknown parameters are not checked here: the caller knows what else it accepts.
    ``extra`` conditions (already built AST, e.g. the API's ``datetime``) are ANDed in.
    """
    conds = list(extra)
    get = lambda name: None if _blank(params.get(name)) else params.get(name)  # noqa: E731

    for name in ("city", "district", "status", "kind", "heritage_grade", "data_status"):
        items = _list(get(name))
        if items:
            if name in _LIST_ENUMS:
                items = [_enum_value(BY_NAME[name], v, name) for v in items]
            conds.append(ast.In(ast.Attribute(name), items, not_=False) if len(items) > 1
                         else ast.Equal(ast.Attribute(name), items[0]))
    vmin, vmax = _float(get("vacancy_min"), "vacancy_min"), _float(get("vacancy_max"), "vacancy_max")
    for value, pname in ((vmin, "vacancy_min"), (vmax, "vacancy_max")):
        if value is not None and not 0 <= value <= 1:
            raise FilterError(f"must be between 0 and 1 (a rate, not a percentage), got {value:g}", parameter=pname)
    if vmin is not None and vmax is not None and vmin > vmax:
        raise FilterError(f"vacancy_min {vmin:g} is greater than vacancy_max {vmax:g}", parameter="vacancy_min")
    if vmin is not None:
        conds.append(ast.GreaterEqual(ast.Attribute("vacancy_rate"), vmin))
    if vmax is not None:
        conds.append(ast.LessEqual(ast.Attribute("vacancy_rate"), vmax))
    for pname, prop in (("min_idle_area", "idle_area_m2"), ("min_leasable_area", "leasable_area_m2")):
        value = _float(get(pname), pname)
        if value is not None:
            if value < 0:
                raise FilterError(f"must be ≥ 0, got {value:g}", parameter=pname)
            conds.append(ast.GreaterEqual(ast.Attribute(prop), value))
    if get("within_district"):
        if district_geometry is None:
            raise FilterError("cannot be resolved without a store", parameter="within_district")
        geom = district_geometry(str(get("within_district")).strip())
        conds.append(ast.GeometryIntersects(ast.Attribute("geometry"), values.Geometry(geom.__geo_interface__)))
    conds.append(_near(get("near"), get("radius")))
    if get("bbox"):
        conds.append(ast.GeometryIntersects(ast.Attribute("geometry"), parse_bbox(get("bbox"))))
    if get("within"):
        conds.append(ast.GeometryIntersects(ast.Attribute("geometry"), values.Geometry(
            parse_geometry(get("within"), "within").__geo_interface__)))
    if get("q"):
        conds.append(TextSearch(str(get("q")).strip()))
    if get("filter"):
        conds.append(cql.parse_cql2(get("filter"), get("filter_lang") or "cql2-text"))
    statuses = _list(get("status"))
    if not _bool(get("include_retired"), "include_retired") and "retired" not in statuses:
        conds.append(ast.Not(ast.Equal(ast.Attribute("status"), "retired")))
    node = and_all(conds)
    return Query(
        filter=check(node) if node is not None else None,
        sortby=parse_sortby(get("sortby")),
        limit=_limit(get("limit"), max_limit),
        offset=_int(get("offset"), "offset", minimum=0) or 0,
    )


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == ()


def _list(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        out.extend(s.strip() for s in str(item).replace("，", ",").split(",") if s.strip())
    return out


def _enum_value(f: Field, raw: str, parameter: str) -> str:
    from .schema import coerce
    from .errors import ValidationError
    try:
        return coerce(f, raw)
    except ValidationError as exc:
        raise FilterError(exc.reason, parameter=parameter) from None


def _float(value, parameter):
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FilterError(f"{value!r} is not a number", parameter=parameter) from None
    if not math.isfinite(number):
        raise FilterError(f"{value!r} is not a finite number", parameter=parameter)
    return number


def _int(value, parameter, minimum=None):
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise FilterError(f"{value!r} is not a whole number", parameter=parameter) from None
    if minimum is not None and number < minimum:
        raise FilterError(f"must be ≥ {minimum}, got {number}", parameter=parameter)
    return number


def _limit(value, max_limit):
    limit = _int(value, "limit", minimum=1)
    if limit is not None and max_limit is not None and limit > max_limit:
        raise FilterError(f"must be ≤ {max_limit}, got {limit}", parameter="limit")
    return limit


def _bool(value, parameter):
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise FilterError(f"{value!r} is not true or false", parameter=parameter)


def _numbers(value, count, parameter):
    parts = value if isinstance(value, (list, tuple)) else str(value).replace("，", ",").split(",")
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise FilterError(f"{value!r} must be {count} comma-separated numbers", parameter=parameter) from None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise FilterError(f"{value!r} must be {count} comma-separated numbers", parameter=parameter)
    return numbers


def parse_bbox(value, parameter="bbox") -> values.Envelope:
    minx, miny, maxx, maxy = _numbers(value, 4, parameter)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FilterError(f"{value!r} is not lon/lat in WGS-84 (lon -180..180, lat -90..90)", parameter=parameter)
    if minx > maxx:
        raise FilterError(f"minimum longitude {minx:g} is greater than maximum {maxx:g} "
                          "(a box across the antimeridian is not supported)", parameter=parameter)
    return values.Envelope(minx, maxx, miny, maxy)


def parse_geometry(value, parameter):
    """A WKT string, a GeoJSON string or a GeoJSON dict -> valid shapely geometry (WGS-84)."""
    try:
        if isinstance(value, dict):
            geom = shape(value.get("geometry", value))
        elif str(value).lstrip().startswith("{"):
            data = json.loads(value)
            geom = shape(data.get("geometry", data))
        else:
            geom = shapely.from_wkt(str(value))
    except Exception as exc:  # shapely and json raise several types for bad text
        raise FilterError(f"is not a WKT or GeoJSON geometry ({str(exc).splitlines()[0][:120]})",
                          parameter=parameter) from None
    if geom.is_empty:
        raise FilterError("is an empty geometry", parameter=parameter)
    if not geom.is_valid:
        raise FilterError("is not a valid geometry (self-intersecting or unclosed?)", parameter=parameter)
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FilterError("coordinates are not lon/lat in WGS-84", parameter=parameter)
    return geom


def _near(near, radius):
    if near is None and radius is None:
        return None
    if near is None or radius is None:
        raise FilterError("near and radius go together", parameter="near" if near is None else "radius")
    lon, lat = _numbers(near, 2, "near")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise FilterError(f"{near!r} is not lon,lat in WGS-84", parameter="near")
    r = _float(radius, "radius")
    if r <= 0 or r > 500_000:
        raise FilterError(f"must be more than 0 and at most 500000 metres, got {r:g}", parameter="radius")
    return ast.DistanceWithin(ast.Attribute("geometry"), Point(lon, lat), r, "m")


def parse_sortby(value) -> tuple[tuple[str, bool], ...]:
    out = []
    for item in _list(value):
        desc = item.startswith("-")
        name = item.lstrip("+-").strip()
        f = BY_NAME.get(name)
        if f is None:
            raise FilterError(f"unknown property {name!r}; sortable: {', '.join(sortable_names())}",
                              parameter="sortby")
        if not f.sortable:
            raise FilterError(f"{name!r} cannot be sorted", parameter="sortby")
        out.append((name, desc))
    return tuple(out)


def sortable_names():
    return [f.name for f in FIELDS if f.sortable]


# --------------------------------------------------------------------------- checking

def check(node: ast.Node, parameter: str = "filter") -> ast.Node:
    """Validate an AST against the schema and return it normalised for the evaluators.

    Normalised: the property is on the left as a ``Term``; literals have the
    property's type (dates as ``date``, CASEI/ACCENTI already applied); geometry
    literals are shapely geometries.  Raises FilterError naming what is wrong.
    """
    c = _Checker(parameter)
    return c.node(node)


_FLIP = {ast.LessThan: ast.GreaterThan, ast.GreaterThan: ast.LessThan, ast.LessEqual: ast.GreaterEqual,
         ast.GreaterEqual: ast.LessEqual, ast.Equal: ast.Equal, ast.NotEqual: ast.NotEqual}
_INSTANT_TEMPORAL = (ast.TimeAfter, ast.TimeBefore, ast.TimeEquals, ast.TimeDisjoint, cql.TimeIntersects,
                     ast.TimeDuring)


class _Checker:
    def __init__(self, parameter):
        self.parameter = parameter

    def fail(self, message):
        raise FilterError(message, parameter=self.parameter)

    def node(self, n):
        if isinstance(n, (ast.And, ast.Or)):
            return type(n)(self.node(n.lhs), self.node(n.rhs))
        if isinstance(n, ast.Not):
            return ast.Not(self.node(n.sub_node))
        if isinstance(n, ast.Include):
            return n
        if isinstance(n, TextSearch):
            if not n.text:
                self.fail("free text is empty")
            return TextSearch(fold(n.text, ("casei",)))
        if isinstance(n, ast.Comparison):
            lhs, rhs, cls = n.lhs, n.rhs, type(n)
            if not self._is_term(lhs) and self._is_term(rhs):
                lhs, rhs, cls = rhs, lhs, _FLIP[cls]
            term, f = self.term(lhs)
            if f.type == "list":
                self.fail(f"{f.name!r} is a list; compare it with A_CONTAINS, A_OVERLAPS or A_EQUALS")
            if f.type == "boolean" and cls not in (ast.Equal, ast.NotEqual):
                self.fail(f"{f.name!r} is true/false; compare it with = or <>")
            return cls(term, self.literal(rhs, f, term, equality=cls in (ast.Equal, ast.NotEqual)))
        if isinstance(n, ast.Between):
            term, f = self.term(n.lhs)
            self._ordered(f)
            low, high = self.literal(n.low, f, term), self.literal(n.high, f, term)
            return ast.Between(term, low, high, n.not_)
        if isinstance(n, ast.Like):
            term, f = self.term(n.lhs)
            if f.type not in ("string", "enum"):
                self.fail(f"LIKE needs a text property; {f.name!r} is a {f.type}")
            pattern = self._fold_literal(n.pattern, term)
            if not isinstance(pattern, str):
                self.fail(f"the LIKE pattern for {f.name!r} must be text")
            return ast.Like(term, pattern, n.nocase, n.wildcard, n.singlechar, n.escapechar, n.not_)
        if isinstance(n, ast.In):
            term, f = self.term(n.lhs)
            if f.type == "list":
                self.fail(f"{f.name!r} is a list; use A_OVERLAPS to match any of several values")
            return ast.In(term, [self.literal(v, f, term, equality=True) for v in n.sub_nodes], n.not_)
        if isinstance(n, ast.IsNull):
            term, f = self.term(n.lhs)
            return ast.IsNull(Term(term.name), n.not_)
        if isinstance(n, ast.SpatialComparisonPredicate):
            lhs, rhs = n.lhs, n.rhs
            if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
                lhs, rhs = rhs, lhs
                n = {ast.GeometryWithin: ast.GeometryContains, ast.GeometryContains: ast.GeometryWithin}.get(
                    type(n), type(n))(lhs, rhs)
            self._geometry_attr(lhs)
            return type(n)(Term("geometry"), self.geometry(rhs))
        if isinstance(n, ast.DistanceWithin):
            self._geometry_attr(n.lhs)
            return ast.DistanceWithin(Term("geometry"), n.rhs, n.distance, n.units)
        if isinstance(n, ast.TemporalPredicate):
            return self.temporal(n)
        if isinstance(n, ast.ArrayPredicate):
            term, f = self.term(n.lhs)
            if f.type != "list":
                self.fail(f"{type(n).__name__} needs a list property (aliases, industries); {f.name!r} is not")
            items = n.rhs if isinstance(n.rhs, list) else [n.rhs]
            if not all(isinstance(i, str) for i in items):
                self.fail(f"{f.name!r} holds text; compare it with a list of text values")
            return type(n)(term, list(items))
        if isinstance(n, ast.Attribute):
            term, f = self.term(n)
            if f.type != "boolean":
                self.fail(f"{f.name!r} is not a condition")
            return ast.Equal(term, True)
        if isinstance(n, bool):
            return ast.Include(not n)
        self.fail(f"unsupported expression {type(n).__name__}")

    def _is_term(self, x):
        return isinstance(x, ast.Attribute) or (isinstance(x, ast.Function) and any(
            self._is_term(a) for a in x.arguments))

    def _unwrap(self, x):
        """CASEI(ACCENTI(x)) -> (x, ("accenti", "casei")): the transforms, innermost first."""
        transforms = []
        while isinstance(x, ast.Function):
            if x.name not in ("casei", "accenti") or len(x.arguments) != 1:
                self.fail(f"unknown function {x.name!r}")
            transforms.insert(0, x.name)
            x = x.arguments[0]
        return x, transforms

    def term(self, x) -> tuple[Term, Field]:
        x, transforms = self._unwrap(x)
        if not isinstance(x, ast.Attribute):
            self.fail("a condition needs a property on one side")
        name = x.name
        if name == "geometry":
            self.fail("geometry can only be used in spatial functions (S_INTERSECTS, ...)")
        f = BY_NAME.get(name)
        if f is None:
            self.fail(f"unknown property {name!r}; queryable properties: {', '.join(queryable_names())}")
        if transforms and f.type not in ("string", "enum"):
            self.fail(f"{transforms[-1].upper()} needs a text property; {name!r} is a {f.type}")
        return Term(name, tuple(transforms)), f

    def _fold_literal(self, value, term):
        value, transforms = self._unwrap(value)
        if isinstance(value, str):
            return fold(value, tuple(dict.fromkeys((*term.transforms, *transforms))))
        return value

    def _ordered(self, f):
        if f.type in ("list", "boolean"):
            self.fail(f"{f.name!r} cannot be compared by size")

    def literal(self, value, f: Field, term: Term, equality=False):
        if isinstance(value, (ast.Attribute, ast.Node)) and not isinstance(value, ast.Function):
            self.fail(f"{f.name!r} must be compared with a value, not another property")
        value = self._fold_literal(value, term)
        if f.type in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(f"{f.name!r} is a number; {value!r} is not")
            return float(value)
        if f.type == "boolean":
            if not isinstance(value, bool):
                self.fail(f"{f.name!r} is true/false; {value!r} is not")
            return value
        if f.type == "date":
            return self._day(value, f)
        if not isinstance(value, str):
            self.fail(f"{f.name!r} is text; {value!r} is not")
        if f.type == "enum" and equality and not term.transforms and value not in f.enum:
            self.fail(f"{value!r} is not a value of {f.name!r}; values: {', '.join(f.enum)}")
        return value

    def _day(self, value, f):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                pass
        self.fail(f"{f.name!r} is a date; {value!r} is not (write DATE('2024-01-31'))")

    def temporal(self, n):
        term, f = self.term(n.lhs)
        if f.type != "date":
            self.fail(f"{type(n).__name__} needs a date property; {f.name!r} is a {f.type}")
        if not isinstance(n, _INSTANT_TEMPORAL):
            self.fail(f"{type(n).__name__} compares intervals; {f.name!r} is a single day "
                      "(use T_AFTER, T_BEFORE, T_EQUALS, T_DURING, T_INTERSECTS or T_DISJOINT)")
        rhs = n.rhs
        if isinstance(rhs, values.Interval):
            start = None if rhs.start is None else self._day(rhs.start, f)
            end = None if rhs.end is None else self._day(rhs.end, f)
            if start and end and start > end:
                self.fail(f"interval starts after it ends ({start} > {end})")
            return type(n)(term, values.Interval(start, end))
        if isinstance(n, ast.TimeDuring):
            self.fail("T_DURING needs an INTERVAL(...)")
        return type(n)(term, self._day(rhs, f))

    def _geometry_attr(self, x):
        if not (isinstance(x, ast.Attribute) and x.name == "geometry"):
            name = getattr(x, "name", x)
            self.fail(f"spatial functions apply to the property 'geometry', not {name!r}")

    def geometry(self, value):
        if isinstance(value, values.Envelope):
            return box(value.x1, value.y1, value.x2, value.y2)
        if isinstance(value, values.Geometry):
            try:
                geom = shape(value.geometry)
            except Exception as exc:  # malformed GeoJSON from the parser
                self.fail(f"invalid geometry literal ({exc})")
            if geom.is_empty or not geom.is_valid:
                self.fail(f"invalid geometry literal ({geom.wkt[:60]})")
            return geom
        if hasattr(value, "geom_type"):
            return value
        self.fail("a spatial function needs a geometry literal (POINT, POLYGON, BBOX, ...) on one side")


def queryable_names() -> list[str]:
    return [f.name for f in FIELDS] + ["geometry"]


def feature_schema(base_url: str | None = None) -> dict:
    """The JSON Schema of one site as a GeoJSON Feature (OGC API – Features Part 5 ``describedby``):
    clients such as GDAL take their field types from it instead of guessing from a sample."""
    props = {k: v for k, v in queryables_schema()["properties"].items() if k not in ("id", "geometry")}
    props["lon"] = {"type": "number", "title": "Longitude of a representative point (WGS-84)"}
    props["lat"] = {"type": "number", "title": "Latitude of a representative point (WGS-84)"}
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "site", "type": "object",
           "required": ["type", "id", "geometry", "properties"],
           "properties": {"type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
                          "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
                          "properties": {"type": "object", "properties": props}}}
    if base_url:
        out["$id"] = base_url
    return out


def queryables_schema(base_url: str | None = None) -> dict:
    """The JSON Schema of the queryable properties (OGC API – Features Part 3)."""
    types = {"string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
             "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
             "list": {"type": "array", "items": {"type": "string"}}}
    props = {}
    for f in FIELDS:
        spec = {"type": "string", "enum": list(f.enum)} if f.enum else dict(types[f.type])
        spec["title"] = f.label_en
        spec["description"] = f"{f.label_zh}{(' — ' + f.description) if f.description else ''}"
        if f.unit:
            spec["x-unit"] = f.unit
        props[f.name] = spec
    props["geometry"] = {"$ref": "https://geojson.org/schema/Geometry.json"}
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
           "title": "sites", "properties": props, "additionalProperties": False}
    if base_url:
        out["$id"] = base_url
    return out
