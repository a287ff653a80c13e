"""Small functions that each parse one OGC API parameter.

They turn a request's query string into the parameters of sites.query.build_query
(the one filter semantics) plus what only the API needs (output format, property
subset, datetime).  Every error names the parameter.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from pygeofilter import ast, values
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from sites.cql import LANGS
from sites.errors import FilterError
from sites.query import PARAMS as FILTER_PARAMS
from sites.schema import BY_NAME

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_ALIASES = {CRS84, "OGC:CRS84", "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326",
                 "http://www.opengis.net/def/crs/EPSG/0/4326"}
DEFAULT_LIMIT, MAX_LIMIT = 100, 10000
FORMATS = ("json", "html", "csv")
#: simple equality filters on common properties (OGC "queryables as query parameters")
EQUALITY = ("city", "district", "status", "kind", "heritage_grade", "data_status")
#: the domain's further filters, offered as extension parameters
EXTENSION = tuple(p.name for p in FILTER_PARAMS if p.name not in EQUALITY + ("filter", "filter_lang", "sortby",
                                                                               "limit", "offset", "bbox"))
STANDARD = ("f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "sortby", "properties", "filter",
            "filter-lang", "filter-crs")
ITEMS_PARAMS = STANDARD + EQUALITY + EXTENSION


def check_known(args, allowed) -> None:
    for name in args:
        if name not in allowed:
            raise FilterError(f"unknown parameter; this resource accepts: {', '.join(allowed)}", parameter=name)


def one(args, name) -> str | None:
    got = args.getlist(name)
    if len(got) > 1:
        raise FilterError("given more than once", parameter=name)
    return got[0] if got else None


def output_format(args, accept: str) -> str:
    """f=json|html|csv, else what the Accept header (its text) prefers."""
    f = one(args, "f")
    if f is not None:
        if f not in FORMATS:
            raise FilterError(f"{f!r} is not one of {', '.join(FORMATS)}", parameter="f")
        return f
    return negotiated(accept)


@lru_cache(maxsize=256)
def negotiated(accept_header: str) -> str:
    """The format an Accept header asks for (a client sends the same header every time, and parsing
    it was a sixth of a request's time)."""
    accept = parse_accept_header(accept_header, MIMEAccept)
    best = accept.best_match(["application/geo+json", "application/json", "text/html", "text/csv"],
                             default="application/json")
    return {"text/html": "html", "text/csv": "csv"}.get(best, "json")


def crs(args, name) -> None:
    value = one(args, name)
    if value is not None and value.strip() not in CRS84_ALIASES:
        raise FilterError(f"{value!r} is not supported; only {CRS84} (lon, lat) is", parameter=name)


def limit(args) -> int:
    value = one(args, "limit")
    if value is None:
        return DEFAULT_LIMIT
    try:
        number = int(value)
    except ValueError:
        raise FilterError(f"{value!r} is not a whole number", parameter="limit") from None
    if not 1 <= number <= MAX_LIMIT:
        raise FilterError(f"must be between 1 and {MAX_LIMIT}, got {number}", parameter="limit")
    return number


def offset(args) -> int:
    value = one(args, "offset")
    if value is None:
        return 0
    try:
        number = int(value)
    except ValueError:
        raise FilterError(f"{value!r} is not a whole number", parameter="offset") from None
    if number < 0:
        raise FilterError(f"must be ≥ 0, got {number}", parameter="offset")
    return number


def bbox(args) -> str | None:
    value = one(args, "bbox")
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) == 6:  # minx, miny, minz, maxx, maxy, maxz
        parts = [parts[0], parts[1], parts[3], parts[4]]
    return ",".join(parts)


def properties(args, hidden: frozenset[str] = frozenset()) -> list[str] | None:
    """The requested property subset; a confidential one the caller may not see is as unknown."""
    value = one(args, "properties")
    names = [p.strip() for p in (value or "").split(",") if p.strip()]
    if not names:
        return None
    for name in names:
        if name not in BY_NAME or name in hidden:
            raise FilterError(f"unknown property {name!r}", parameter="properties")
    return names


def datetime_filter(args, prop: str = "last_updated") -> ast.Node | None:
    """OGC ``datetime``: an instant or an interval (``a/b``, ``../b``, ``a/..``) on the collection's date."""
    value = one(args, "datetime")
    if value is None or not value.strip():
        return None

    def day(text):
        text = text.strip().removesuffix("T")  # GDAL writes dates as '2024-02-03T'
        if text in ("..", ""):
            return None
        try:
            if "T" in text:
                return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
            return date.fromisoformat(text)
        except ValueError:
            raise FilterError(f"{text!r} is not an RFC 3339 date or date-time", parameter="datetime") from None

    from sites.cql import TimeIntersects
    if "/" in value:
        start, _, end = value.partition("/")
        a, b = day(start), day(end)
        if a is None and b is None:
            raise FilterError("an interval needs at least one end", parameter="datetime")
        if a and b and a > b:
            raise FilterError("the interval starts after it ends", parameter="datetime")
        return TimeIntersects(ast.Attribute(prop), values.Interval(a, b))
    d = day(value)
    if d is None:
        raise FilterError("'..' alone is not a date", parameter="datetime")
    return TimeIntersects(ast.Attribute(prop), d)


def query_params(args) -> dict:
    """The build_query parameters of an items request."""
    crs(args, "bbox-crs")
    crs(args, "filter-crs")
    crs(args, "crs")
    out = {name: one(args, name) for name in EQUALITY + EXTENSION}
    out["bbox"] = bbox(args)
    out["filter"] = one(args, "filter")
    out["filter_lang"] = one(args, "filter-lang")
    if out["filter_lang"] is not None and out["filter_lang"] not in LANGS:
        raise FilterError(f"{out['filter_lang']!r} is not one of {', '.join(LANGS)}", parameter="filter-lang")
    out["sortby"] = one(args, "sortby")
    return {k: v for k, v in out.items() if v is not None}
