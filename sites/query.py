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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import shapely
from pygeofilter import ast, values
from shapely.geometry import Point, shape

from . import cql
from .checker import check, queryable_names
from .errors import FilterError
from .schema import BY_NAME, FIELDS, Field
from .terms import TEXT_FIELDS, Term, TextSearch, and_all, fold

__all__ = ["Query", "PARAMS", "Param", "build_query", "parse_bbox", "parse_geometry", "parse_sortby",
           "sortable_names", "queryables_schema", "feature_schema", "check", "queryable_names", "Term",
           "TextSearch", "TEXT_FIELDS", "fold", "and_all", "MAX_LIMIT"]

MAX_LIMIT = 10000


@dataclass(frozen=True)
class Query:
    filter: ast.Node | None = None
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, descending)
    limit: int | None = None
    offset: int = 0

    def page(self, limit: int | None, offset: int = 0) -> "Query":
        return Query(self.filter, self.sortby, limit, offset)


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
                max_limit: int | None = MAX_LIMIT, extra: tuple[ast.Node, ...] = (),
                hidden: frozenset[str] = frozenset()) -> Query:
    """Turn filter parameters (strings from a URL or the command line, or typed values) into a Query.

    ``district_geometry(key)`` resolves ``within_district`` (the store supplies it).
    Unknown parameters are not checked here: the caller knows what else it accepts.
    ``extra`` conditions (already built AST, e.g. the API's ``datetime``) are ANDed in.
    ``hidden`` properties (confidential ones the caller may not see) are unknown to filters and
    sorting, so that no one can learn a hidden value by filtering on it.
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
    statuses = _list(get("status"))
    if not _bool(get("include_retired"), "include_retired") and "retired" not in statuses:
        conds.append(ast.Not(ast.Equal(ast.Attribute("status"), "retired")))
    node = and_all(conds)
    checked = check(node, hidden=hidden) if node is not None else None
    if get("filter"):
        source, lang = get("filter"), get("filter_lang") or "cql2-text"
        checked = and_all([checked, _checked_cql2(source, lang, frozenset(hidden)) if isinstance(source, str)
                           else check(cql.parse_cql2(source, lang), hidden=hidden)])
    return Query(
        filter=checked,
        sortby=parse_sortby(get("sortby"), hidden),
        limit=_limit(get("limit"), max_limit),
        offset=_int(get("offset"), "offset", minimum=0) or 0,
    )


@lru_cache(maxsize=256)
def _checked_cql2(source: str, lang: str, hidden: frozenset[str]) -> ast.Node:
    """A CQL2 filter parsed and checked once (a map or a GIS client sends the same filters again and
    again; parsing and checking was a sixth of such a request).  The tree is never changed after."""
    return check(cql.parse_cql2(source, lang), hidden=hidden)


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


def parse_sortby(value, hidden: frozenset[str] = frozenset()) -> tuple[tuple[str, bool], ...]:
    out = []
    for item in _list(value):
        desc = item.startswith("-")
        name = item.lstrip("+-").strip()
        f = None if name in hidden else BY_NAME.get(name)
        if f is None:
            raise FilterError(f"unknown property {name!r}; sortable: {', '.join(sortable_names(hidden))}",
                              parameter="sortby")
        if not f.sortable:
            raise FilterError(f"{name!r} cannot be sorted", parameter="sortby")
        out.append((name, desc))
    return tuple(out)


def sortable_names(hidden: frozenset[str] = frozenset()):
    return [f.name for f in FIELDS if f.sortable and f.name not in hidden]


def feature_schema(base_url: str | None = None, hidden: frozenset[str] = frozenset()) -> dict:
    """The JSON Schema of one site as a GeoJSON Feature (OGC API – Features Part 5 ``describedby``):
    clients such as GDAL take their field types from it instead of guessing from a sample."""
    props = {k: v for k, v in queryables_schema(hidden=hidden)["properties"].items() if k not in ("id", "geometry")}
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


def queryables_schema(base_url: str | None = None, hidden: frozenset[str] = frozenset()) -> dict:
    """The JSON Schema of the queryable properties (OGC API – Features Part 3)."""
    types = {"string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
             "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
             "list": {"type": "array", "items": {"type": "string"}}}
    props = {}
    for f in FIELDS:
        if f.name in hidden:
            continue
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
